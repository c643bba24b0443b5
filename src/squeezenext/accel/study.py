"""The paper's hardware study, reproduced with this library's cost model.

Gholami et al. (arXiv 1803.10615, Sec. 5) simulate SqueezeNext variants on a PE-array accelerator
(Squeezelerator, Kwon et al., arXiv 1804.10642) that picks the faster of WS and OS per layer (the study's
presets declare ``dataflows: [ws, os]``; input-stationary results are an extra column), find low
utilization in the early layers, move blocks towards stage 3 (v2..v4) and shrink the stem to 5x5 (v5),
and report v5 as 2.59x / 8.26x faster and 2.25x / 7.5x more energy efficient than SqueezeNet / AlexNet.
Their simulator and its parameters are unpublished; :func:`run_study` redoes the study on a documented
default accelerator. The numbers are this model's results, not the paper's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from squeezenext.accel.cost import DEFAULT_POLICY, Cost, costs_csv, simulate, total
from squeezenext.accel.hardware import DATAFLOWS, DEFAULT_HARDWARE, HardwareConfig, resolve_hardware
from squeezenext.accel.plots import plot_layers, plot_variants
from squeezenext.fileio import atomic_write_text, write_json
from squeezenext.paper import PAPER_INPUT_SIZE, PAPER_RATIOS
from squeezenext.peers import PEERS
from squeezenext.registry import get_spec
from squeezenext.sources import parse_network
from squeezenext.specs import Provenance
from squeezenext.tables import markdown_table
from squeezenext.workload import Workload

ARRAY_SIZES = (8, 16, 32)
VARIANTS = (
    ("v1", "sqnxt23_w1"),
    ("v2", "sqnxt23v2_w1"),
    ("v3", "sqnxt23v3_w1"),
    ("v4", "sqnxt23v4_w1"),
    ("v5", "sqnxt23v5_w1"),
)
SQUEEZENEXTS = ("sqnxt23_w1", "sqnxt23v5_w1", "sqnxt23g_w1", "sqnxt23_w2", "sqnxt23v5_w2", "sqnxt44_w2")


@dataclass(frozen=True)
class StudyNetwork:
    """One network of the study: its label, workload and per-layer costs on one accelerator."""

    label: str
    workload: Workload
    costs: list[Cost]

    @property
    def total(self) -> Cost:
        return total(self.costs)


def _label(name: str) -> str:
    spec = get_spec(name)
    suffix = " (UNVERIFIED)" if spec.provenance is Provenance.UNVERIFIED else ""
    return spec.paper_name + suffix


def evaluate_network(label: str, name: str, hardware: HardwareConfig, policy: str) -> StudyNetwork:
    """Workload and costs of one network at the study's input size."""
    workload = parse_network(name).workload(PAPER_INPUT_SIZE)
    return StudyNetwork(label, workload, simulate(workload.layers, hardware, policy))


def _ms(cost: Cost) -> str:
    return f"{cost.time_s * 1e3:.3f}"


def _energy(cost: Cost) -> str:
    return f"{cost.energy / 1e9:.3f}"


def stage_rows(network: StudyNetwork) -> list[list[object]]:
    """Per-stage totals (stem, stage 1..4, head + FC) of a SqueezeNext network."""
    groups: dict[str, list[Cost]] = {}
    for cost in network.costs:
        if cost.name.startswith("stages."):
            key = f"stage {int(cost.name.split('.')[1]) + 1}"
        elif cost.name.startswith("stem"):
            key = "stem"
        else:
            key = "head + FC"
        groups.setdefault(key, []).append(cost)
    whole = network.total
    rows: list[list[object]] = []
    for key, costs in groups.items():
        part = total(costs)
        dataflows = "/".join(sorted({c.dataflow for c in costs}))
        rows.append(
            [
                key,
                len(costs),
                f"{part.macs / 1e6:.1f}",
                dataflows,
                _ms(part),
                f"{100 * part.cycles / whole.cycles:.1f}",
                _energy(part),
                f"{100 * part.energy / whole.energy:.1f}",
                f"{part.utilization:.3f}",
            ]
        )
    return rows


@dataclass(frozen=True)
class Study:
    """Everything the study computes, before any of it is rendered."""

    default: HardwareConfig
    policy: str
    per_layer: dict[str, StudyNetwork]
    """1.0-SqNxt-23 and v5 on the default accelerator, by registry name."""
    per_array: dict[int, dict[str, StudyNetwork]]
    """Per array side: v1..v5 by tag and the paper's peers by label."""
    networks: dict[str, StudyNetwork]
    """SqueezeNexts and peers on the default accelerator, by label."""
    with_is: dict[int, dict[str, StudyNetwork]]
    """Per array side: v5 and the paper's peers when the array may also choose input-stationary per layer."""

    def paper_ratios(self, with_is: bool = False) -> dict[str, dict[str, float]]:
        """v5's speed-up and energy ratio over each of the paper's peers, per array (``with_is``: on arrays that
        may also choose IS)."""
        ratios = {}
        for size, networks in (self.with_is if with_is else self.per_array).items():
            ours = networks["v5"].total
            for peer in PAPER_RATIOS:
                other = networks[peer].total
                ratios[f"{size}x{size}/{peer}"] = {
                    "speedup": other.cycles / ours.cycles,
                    "energy_ratio": other.energy / ours.energy,
                }
        return ratios

    def results(self) -> dict[str, object]:
        """The JSON form (``results.json``)."""
        return {
            "input_size": PAPER_INPUT_SIZE,
            "policy": self.policy,
            "default_hardware": self.default.to_dict(),
            "variants": {
                f"{size}x{size}": [{"variant": tag, "model": name, **_summary(networks[tag])} for tag, name in VARIANTS]
                for size, networks in self.per_array.items()
            },
            "networks": {label: _summary(network) for label, network in self.networks.items()},
            "paper_ratios": self.paper_ratios(),
            "paper_ratios_with_is": self.paper_ratios(with_is=True),
        }


def compute_study(hardware_name: str = DEFAULT_HARDWARE, policy: str = DEFAULT_POLICY) -> Study:
    """Simulate every network of the study. ``hardware_name`` is a preset or a YAML file; its array is varied
    to 8x8, 16x16 and 32x32 for the v1..v5 comparison."""
    default = resolve_hardware(hardware_name)
    per_layer = {name: evaluate_network(_label(name), name, default, policy) for name in ("sqnxt23_w1", "sqnxt23v5_w1")}
    per_array: dict[int, dict[str, StudyNetwork]] = {}
    with_is: dict[int, dict[str, StudyNetwork]] = {}
    for size in ARRAY_SIZES:
        hardware = _array(default, size)
        networks = {tag: evaluate_network(_label(name), name, hardware, policy) for tag, name in VARIANTS}
        networks.update({peer: evaluate_network(peer, PEERS[peer], hardware, policy) for peer in PAPER_RATIOS})
        per_array[size] = networks
        all_dataflows = hardware.replace(dataflows=DATAFLOWS)
        with_is[size] = {
            label: evaluate_network(label, name, all_dataflows, policy)
            for label, name in (("v5", "sqnxt23v5_w1"), *((peer, PEERS[peer]) for peer in PAPER_RATIOS))
        }
    everything = {_label(n): evaluate_network(_label(n), n, default, policy) for n in SQUEEZENEXTS}
    everything.update({label: evaluate_network(label, name, default, policy) for label, name in PEERS.items()})
    return Study(default, policy, per_layer, per_array, everything, with_is)


def _array(default: HardwareConfig, size: int) -> HardwareConfig:
    return default.replace(name=f"{default.name}@{size}x{size}", rows=size, cols=size)


def render_report(study: Study) -> str:
    """``REPORT.md``: the study's tables, with links to the plots :func:`write_study` draws."""
    default, policy = study.default, study.policy
    md: list[str] = [
        "# The SqueezeNext hardware study, reproduced with this library's cost model",
        "",
        "Generated by `squeezenext study` (src/squeezenext/accel/study.py). These are **this model's "
        "results** on a documented accelerator, not the paper's numbers; the paper's simulator and its "
        "parameters were never published. Models marked UNVERIFIED have block distributions reconstructed "
        "from the paper's text. How the model works and where it differs from the paper: "
        "docs/accelerator.md.",
        "",
        f"Setup: input {PAPER_INPUT_SIZE}x{PAPER_INPUT_SIZE}, batch 1, dataflow chosen per layer by `{policy}` "
        f"among {', '.join(d.upper() for d in default.dataflows)} (the Squeezelerator picks the faster of WS and "
        f"OS per layer). Default accelerator `{default.name}`: "
        f"{default.rows}x{default.cols} PEs, {default.timing} timing, {default.mapping} mapping, "
        f"{default.word_bits}-bit words, {default.gb_kib:g} KiB global buffer split {list(default.gb_split)} "
        f"(inputs, weights, outputs), DRAM {default.dram_bandwidth:g} B/cycle, {default.clock_mhz:g} MHz, "
        f"energy per access MAC/RF/PE-to-PE/GB/DRAM = {default.energy.mac:g}/{default.energy.rf:g}/"
        f"{default.energy.array:g}/{default.energy.gb:g}/{default.energy.dram:g} ({default.energy.unit}). "
        "Energy is reported in units of 1e9 x (energy of one MAC).",
        "",
    ]

    # 1. per-layer study of 1.0-SqNxt-23 (and v5) on the default accelerator
    md += ["## 1. Where the time goes: 1.0-SqNxt-23 and 1.0-SqNxt-23v5 per stage", ""]
    stage_headers = [
        "part",
        "layers",
        "MMACs",
        "dataflows",
        "time (ms)",
        "time %",
        "energy",
        "energy %",
        "util",
    ]
    for name, network in study.per_layer.items():
        md += [f"**{network.label}** on `{default.name}`:", ""]
        md += [markdown_table(stage_headers, stage_rows(network)), ""]
        md += [f"![per-layer {name}](layers_{name}.png)", ""]
    md += ["Per-layer numbers: `layers_<model>.csv` beside this report.", ""]

    # 2. v1..v5 on three array sizes (the default accelerator with another PE array)
    md += ["## 2. Variants v1..v5 on 8x8, 16x16 and 32x32 arrays", ""]
    for size in study.per_array:
        md += [f"**{size}x{size} PEs**:", "", variant_table(study, size), ""]
        md += [f"![variants on {size}x{size}](variants_{size}x{size}.png)", ""]

    # 3. against other networks on the default accelerator
    md += [f"## 3. SqueezeNext against other networks on `{default.name}`", ""]
    v5 = study.networks[_label("sqnxt23v5_w1")].total
    rows = []
    for label, network in study.networks.items():
        t = network.total
        rows.append(
            [
                label,
                f"{network.workload.params:,}",
                f"{t.macs / 1e6:.1f}",
                _ms(t),
                _energy(t),
                f"{t.utilization:.3f}",
                f"{t.cycles / v5.cycles:.2f}",
                f"{t.energy / v5.energy:.2f}",
            ]
        )
    md += [
        markdown_table(["network", "params", "MMACs", "time (ms)", "energy", "util", "time / v5", "energy / v5"], rows),
        "",
    ]
    md += ["![networks](networks.png)", ""]

    # 4. the paper's headline ratios
    md += ["## 4. The paper's claim: 1.0-SqNxt-23v5 against SqueezeNet and AlexNet", ""]
    md += [
        paper_ratio_table(study, tuple(study.per_array)),
        "",
        "The paper's ratios are those of arXiv 1803.10615 v2 (abstract and Sec. 5: 2.59x / 8.26x faster and "
        "2.25x / 7.5x more energy efficient than SqueezeNet 1.0 / AlexNet); the CVPR 2018 workshop version of the "
        'paper claims "up to 20% better hardware utilization" instead. The last column lets every layer also '
        "choose input-stationary, which the Squeezelerator does not support.",
        "",
        'Why these differ from the paper: docs/accelerator.md, section "Against the paper".',
        "",
    ]
    return "\n".join(md)


def variant_table(study: Study, size: int) -> str:
    """v1..v5 on the ``size`` x ``size`` array: model, blocks, cost, and time and energy relative to v1."""
    networks = study.per_array[size]
    base = networks["v1"].total
    rows = []
    for tag, name in VARIANTS:
        network = networks[tag]
        t = network.total
        rows.append(
            [
                tag,
                network.label,
                str(list(get_spec(name).blocks)),
                f"{network.workload.params:,}",
                f"{t.macs / 1e6:.1f}",
                _ms(t),
                _energy(t),
                f"{t.utilization:.3f}",
                f"{t.cycles / base.cycles:.2f}",
                f"{t.energy / base.energy:.2f}",
            ]
        )
    headers = ["variant", "model", "blocks", "params", "MMACs", "time (ms)", "energy", "util"]
    return markdown_table([*headers, "time vs v1", "energy vs v1"], rows)


def paper_ratio_table(study: Study, sizes: tuple[int, ...]) -> str:
    """1.0-SqNxt-23v5 against the paper's peers on each array of ``sizes``: this model's ratios beside the
    paper's, and with input-stationary allowed too."""
    ratios, ratios_is = study.paper_ratios(), study.paper_ratios(with_is=True)
    rows = []
    for size in sizes:
        for peer, (paper_speed, paper_energy) in PAPER_RATIOS.items():
            ratio, ratio_is = ratios[f"{size}x{size}/{peer}"], ratios_is[f"{size}x{size}/{peer}"]
            rows.append(
                [
                    f"{size}x{size}",
                    peer,
                    f"{ratio['speedup']:.2f}x",
                    f"{paper_speed:.2f}x",
                    f"{ratio['energy_ratio']:.2f}x",
                    f"{paper_energy:.2f}x",
                    f"{ratio_is['speedup']:.2f}x / {ratio_is['energy_ratio']:.2f}x",
                ]
            )
    headers = ["PEs", "vs", "speed-up (this model)", "speed-up (paper)", "energy ratio (model)", "energy ratio (paper)"]
    return markdown_table([*headers, "with IS too: speed-up / energy"], rows)


STUDY_ENTRIES = ("REPORT.md", "results.json", "networks.png")
"""Files that mark a folder as holding a study (``study --overwrite`` replaces them; the rest is rewritten)."""


def write_study(study: Study, out: str | Path) -> None:
    """``REPORT.md``, ``results.json``, per-layer CSVs and the plots, under ``out``."""

    out = Path(out)
    default = study.default
    for name, network in study.per_layer.items():
        atomic_write_text(out / f"layers_{name}.csv", costs_csv(network.costs))
        plot_layers(network.costs, f"{network.label} on {default.name} ({study.policy})", out / f"layers_{name}.png")
    for size, networks in study.per_array.items():
        plot_variants(
            {tag: networks[tag].total for tag, _ in VARIANTS},
            f"SqueezeNext v1..v5 on {_array(default, size).name}",
            out / f"variants_{size}x{size}.png",
        )
    plot_variants({k: v.total for k, v in study.networks.items()}, f"Networks on {default.name}", out / "networks.png")
    write_json(out / "results.json", study.results())
    atomic_write_text(out / "REPORT.md", render_report(study))


def run_study(
    out: str | Path, hardware_name: str = DEFAULT_HARDWARE, policy: str = DEFAULT_POLICY
) -> dict[str, object]:
    """Compute the study, write it under ``out`` (:func:`write_study`) and return its results."""
    study = compute_study(hardware_name, policy)
    write_study(study, out)
    return study.results()


def _summary(network: StudyNetwork) -> dict[str, object]:
    t = network.total
    return {
        "params": network.workload.params,
        "macs": t.macs,
        "cycles": t.cycles,
        "stall_cycles": t.stall_cycles,
        "time_s": t.time_s,
        "energy": t.energy,
        "utilization": t.utilization,
        "energy_by_level": t.energy_by_level(),
    }
