"""docs/search.md's results and the README's search paragraph, from docs/results/search.json (cost model),
search_accuracy.json (short trainings) and latency_search-KIND-BACKEND.json (measured CPU latency)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docgen.committed import machine_cpu, machine_kind, per_kind, read, relative, result
from docgen.regions import DocsError
from squeezenext.registry import get_spec
from squeezenext.search.report import point_name
from squeezenext.tables import markdown_table

V5_NAME = "sqnxt23v5_w1"
ACCURACY_TOLERANCE = 0.5
"""Points of top-1 a design may lose against v5 and still count as keeping its accuracy."""


def _spec_words(space: dict[str, Any]) -> str:
    kernels = ", ".join(str(k) for k in space["stem_kernels"])
    widths = ", ".join(f"{w:g}" for w in space["widths"])
    wiring = {(False, True): "on or off", (True,): "on", (False,): "off"}[tuple(space["v5_wirings"])]
    return (
        f"{space['total_blocks']} blocks in 4 stages, each stage {space['min_blocks']} to {space['max_blocks']} "
        f"blocks, width {widths}, stem kernel {kernels}, v5 wiring {wiring}"
    )


def _moves(blocks: list[int], reference: list[int]) -> str:
    """How a block distribution differs from the reference's, stage by stage (``stage 1 -1, stage 2 +2``)."""
    changes = [f"stage {i + 1} {b - r:+d}" for i, (b, r) in enumerate(zip(blocks, reference, strict=True)) if b != r]
    return ", ".join(changes) or "the same blocks"


def front_claims(question: dict[str, Any]) -> str:
    """What the front does better than v5, and how it differs from it, computed from the front."""
    v5 = get_spec(V5_NAME)
    front = question["front"]
    time_gain = max(1 - p["time_vs_v5"] for p in front)
    energy_gain = max(1 - p["energy_vs_v5"] for p in front)
    designs = "; ".join(
        f"{point_name(i)}: {_moves(p['blocks_per_stage'], list(v5.blocks))}, stem {p['stem_kernel']}"
        for i, p in enumerate(front)
    )
    return (
        f"Energy in units of 1e9 MAC energies. The front improves on v5 by up to {100 * time_gain:.1f}% in time "
        f"and up to {100 * energy_gain:.1f}% in energy. Against v5's {list(v5.blocks)} with a "
        f"{v5.stem_kernel}x{v5.stem_kernel} stem: {designs}."
    )


def question_section(found: dict[str, Any]) -> str:
    """Section 1: the space, the counts, the front and where v1..v5 sit."""
    question = found["papers_question"]
    references = question["references"]
    v5 = references["v5"]
    front = question["front"]
    better = [p for p in front if p["time_vs_v5"] < 1 and p["energy_vs_v5"] < 1]
    rows = [
        [
            point_name(i),
            str(p["blocks_per_stage"]),
            p["stem_kernel"],
            p["v5_wiring"],
            f"{int(p['params']):,}",
            f"{p['macs'] / 1e6:.1f}",
            f"{p['time_ms']:.3f}",
            f"{p['energy'] / 1e9:.3f}",
            f"{p['time_vs_v5']:.3f}",
            f"{p['energy_vs_v5']:.3f}",
        ]
        for i, p in enumerate(front)
    ]
    refs = [
        [
            label,
            f"{int(m['params']):,}",
            f"{m['macs'] / 1e6:.1f}",
            f"{m['time_ms']:.3f}",
            f"{m['energy'] / 1e9:.3f}",
            f"{m['time_ms'] / v5['time_ms']:.3f}",
            f"{m['energy'] / v5['energy']:.3f}",
        ]
        for label, m in references.items()
    ]
    constraints = ", ".join(f"`{c}`" for c in question["constraints"])
    headers = ["design", "blocks", "stem", "v5 wiring", "params", "MMACs", "time (ms)", "energy"]
    return "\n".join(
        [
            f"From {question['base']} on `{question['hardware']}`: {_spec_words(question['network_space'])}, with "
            f"the constraints {constraints}. Exhaustive: {question['evaluated']:,} designs evaluated, "
            f"{question['feasible']:,} meet the constraints, {len(front)} on the time/energy front, "
            f"**{len(better)} of them faster and lower in energy than the hand-made v5**:",
            "",
            markdown_table([*headers, "time / v5", "energy / v5"], rows),
            "",
            "Where the paper's designs sit (same accelerator; v2-v4 are UNVERIFIED reconstructions):",
            "",
            markdown_table(["design", "params", "MMACs", "time (ms)", "energy", "time / v5", "energy / v5"], refs),
            "",
            front_claims(question),
        ]
    )


def accuracy_verdicts(results: list[dict[str, Any]]) -> str:
    """One sentence per front design: its mean top-1 against v5's, beside the spread between seeds."""
    reference = results[0]
    spread = reference["max_top1"] - reference["min_top1"]
    sentences = []
    for row in results[1:]:
        delta = row["mean_top1"] - reference["mean_top1"]
        verdict = "no loss" if delta >= -ACCURACY_TOLERANCE else "a loss"
        own = row["max_top1"] - row["min_top1"]
        sentences.append(
            f"{row['label']}: {delta:+.2f} points against v5, {verdict} beyond {ACCURACY_TOLERANCE} points"
            + (
                f" (v5's own seeds span {spread:.2f} points, this design's {own:.2f}, so the gain is not established "
                "at this budget)."
                if delta > 0 and delta < max(spread, own)
                else "."
            )
        )
    return " ".join(sentences)


def accuracy_section() -> str:
    """The front designs' short-recipe accuracy beside v5's (docs/results/search_accuracy.json)."""
    accuracy = result("search_accuracy.json")
    results = accuracy["results"]
    reference = results[0]["mean_top1"]
    rows = [
        [
            r["label"],
            f"{r['params']:,}",
            " / ".join(f"{run['top1']:.2f}" for run in r["runs"]),
            f"{r['mean_top1']:.2f}",
            f"{r['mean_top1'] - reference:+.2f}",
        ]
        for r in results
    ]
    headers = ["design", "params", "top-1 per seed (%)", "mean (%)", "vs v5 (points)"]
    return "\n".join(
        [
            "Accuracy is not part of the cost model, so it was measured: "
            f"`{accuracy['command']}` trains v5 and each front design (docs/search/specs/) with one short "
            f"Fashion-MNIST recipe ({accuracy['epochs']} epoch(s) at 64x64, standard stems, "
            f"`squeezenext.train.recipes`), the same seeds for all, on {machine_cpu(accuracy['machine'])}:",
            "",
            markdown_table(headers, rows),
            "",
            accuracy_verdicts(results),
        ]
    )


def codesign_section(found: dict[str, Any]) -> str:
    """Section 2: the fastest 256-PE array and buffer split per network, against the default preset."""
    codesign = found["codesign"]
    default, space = codesign["default"], codesign["hardware_space"]
    rows = [
        [
            c["network"],
            f"{c['candidates']:,}",
            f"{c['default_ms']:.3f}",
            c["best_array"],
            "/".join(f"{v:g}" for v in c["best_split"]),
            f"{c['best_ms']:.3f}",
            f"{c['speedup']:.2f}x",
            f"{c['energy_ratio']:.2f}x",
        ]
        for c in codesign["networks"]
    ]
    side = space["min_side"]
    budget = space["pe_budget"]
    dataflows = ", ".join("/".join(d.upper() for d in flows) for flows in space["dataflow_sets"])
    headers = ["network", "candidates", f"{default['rows']}x{default['cols']} default (ms)", "best array"]
    return "\n".join(
        [
            f"For each network, every array shape of {budget} PEs ({side}x{budget // side} ... {budget // side}x{side})"
            f" and every global-buffer split in 10% steps ({', '.join(f'{g:g}' for g in space['gb_kib'])} KiB, "
            f"{', '.join(f'{b:g}' for b in space['dram_bandwidths'])} B/cycle, {dataflows}), against the default "
            f"`{default['name']}` ({default['rows']}x{default['cols']}, split "
            f"{'/'.join(f'{v:g}' for v in default['gb_split'])}), minimizing time:",
            "",
            markdown_table([*headers, "best split", "best (ms)", "speed-up", "energy ratio"], rows),
            "",
            "The journal version of the paper's hardware work (Kwon et al., IBM J. Res. & Dev. 63(6), 2019) "
            f"reports {codesign['journal_speedup']} from tuning the accelerator to the network; here the best is "
            f"{max(c['speedup'] for c in codesign['networks']):.2f}x. Their accelerator parameters and search space "
            "are not published, so the two are not directly comparable.",
        ]
    )


def speed_section(found: dict[str, Any]) -> str:
    """Section 3: candidates per second of the exhaustive network x hardware search."""
    speed, question = found["speed"], found["papers_question"]
    accelerators = found["codesign"]["networks"][0]["candidates"]
    if question["evaluated"] * accelerators != speed["candidates"]:
        raise DocsError(
            f"docs/results/search.json: {speed['candidates']:,} candidates is not {question['evaluated']:,} networks "
            f"x {accelerators} accelerators; rerun python benchmarks/search_report.py"
        )
    return (
        f"The exhaustive network x hardware search (`--space both`: {speed['candidates']:,} candidates = "
        f"{question['evaluated']:,} networks x {accelerators} accelerators) runs in {speed['seconds']:.2f} s: "
        f"**{speed['candidates_per_s']:,.0f} candidates per second** on {machine_cpu(found['machine'])}, "
        f"{found['machine']['cpus']} cores, best of {speed['rounds']}."
    )


def latency_subsection(found: dict[str, Any], path: Path) -> list[str]:
    """One CPU-latency search: the fastest design by the profile, measured beside v5 and SqueezeNet 1.0."""
    fastest, backend, machine = found["fastest"], found["backend"], found["machine"]
    measured = {row["design"]: row for row in found["remeasured"]}
    rows = [
        [label, "" if row["predicted_ms"] is None else f"{row['predicted_ms']:.2f}", f"{row['measured_ms']:.2f}",
         "" if row["error"] is None else f"{100 * row['error']:+.1f}%"]
        for label, row in measured.items()
    ]  # fmt: skip
    found_ms, v5_ms, squeezenet_ms = (measured[k]["measured_ms"] for k in ("fastest found", "v5", "SqueezeNet 1.0"))
    predicted = ", ".join(f"{label} {ms:.2f}" for label, ms in found["predicted_variants_ms"].items())
    top1 = " / ".join(f"{run['top1']:.2f}" for run in fastest["runs"])
    delta = fastest["mean_top1"] - found["v5_mean_top1"]
    return [
        f"### {machine_cpu(machine)}, {found['threads']} threads, {backend}",
        "",
        f"`{found['command']}` ({relative(path)}): all {found['evaluated']:,} designs of the section-1 space "
        f"({', '.join(found['constraints'])}; {found['feasible']:,} feasible) ranked by the latency the profile "
        f"predicts at batch 1, 227x227. The fastest, {fastest['blocks_per_stage']} with stem "
        f"{fastest['stem_kernel']} and v5 wiring {'on' if fastest['v5_wiring'] else 'off'} "
        f"({fastest['params']:,.0f} parameters), timed beside v5 and SqueezeNet 1.0 in "
        f"{found['remeasure_rounds']} interleaved rounds (each one's fastest timing in the machine's fast state, "
        "docs/cpu_latency.md):",
        "",
        markdown_table(["network", "predicted (ms)", "measured (ms)", "error"], rows),
        "",
        f"Measured, the fastest design runs at {v5_ms / found_ms:.2f}x v5's speed and {squeezenet_ms / found_ms:.2f}x "
        f"SqueezeNet 1.0's ({squeezenet_ms / v5_ms:.2f}x for v5). Predicted for the paper's variants (ms): "
        f"{predicted}.",
        "",
        f"Its short-recipe Fashion-MNIST top-1 (seeds {', '.join(str(r['seed']) for r in fastest['runs'])}): "
        f"{top1}%, mean {fastest['mean_top1']:.2f}% against v5's {found['v5_mean_top1']:.2f}% under the same recipe "
        f"and seeds ({delta:+.2f} points).",
        "",
    ]


def latency_section() -> str:
    """Section 4: one subsection per committed CPU-latency search."""
    lines: list[str] = []
    for path in per_kind("latency_search-*.json"):
        lines += latency_subsection(read(path), path)
    return "\n".join(lines) or "No CPU-latency search is committed yet."


def readme_paragraph() -> str:
    """The README's summary of the search results."""
    found = result("search.json")
    question = found["papers_question"]
    front = question["front"]
    accuracy = result("search_accuracy.json")
    reference, *designs = accuracy["results"]
    means = ", ".join(f"{d['mean_top1']:.2f}%" for d in designs)
    codesign = {c["network"]: c["speedup"] for c in found["codesign"]["networks"]}
    tuned = " and ".join(f"{speedup:.2f}x for {network}" for network, speedup in codesign.items())
    speed = found["speed"]
    return (
        f"From `{found['command']}` (docs/results/search.json): with the constraints "
        f"{', '.join(f'`{c}`' for c in question['constraints'])}, {question['evaluated']:,} designs were evaluated "
        f"exhaustively and {sum(p['time_vs_v5'] < 1 and p['energy_vs_v5'] < 1 for p in front)} on the front beat "
        f"the hand-made v5 in both time and energy on `{question['hardware']}` (best "
        f"{min(p['time_vs_v5'] for p in front):.3f}x its time, best {min(p['energy_vs_v5'] for p in front):.3f}x "
        f"its energy; their mean short-recipe Fashion-MNIST top-1 over {len(accuracy['seeds'])} seeds is {means} "
        f"against v5's {reference['mean_top1']:.2f}%, [docs/search.md](docs/search.md)). Tuning a "
        f"{found['codesign']['hardware_space']['pe_budget']}-PE array's shape and buffer split to the network gives "
        f"{tuned} over the {found['codesign']['default']['name']} preset. The exhaustive search evaluates "
        f"{speed['candidates_per_s']:,.0f} (network, accelerator) candidates per second on "
        f"{machine_cpu(found['machine'])} with {found['machine']['cpus']} cores."
    )


def readme_cpu_table() -> str:
    """The README's CPU answer to the paper's question: one row per committed CPU-latency search."""
    rows = []
    for path in per_kind("latency_search-*.json"):
        found = read(path)
        fastest = found["fastest"]
        measured = {row["design"]: row["measured_ms"] for row in found["remeasured"]}
        error = next(row["error"] for row in found["remeasured"] if row["design"] == "fastest found")
        ms = measured["fastest found"]
        rows.append([
            machine_kind(found["machine"]), found["backend"],
            f"{fastest['blocks_per_stage']}, stem {fastest['stem_kernel']}, v5 wiring "
            f"{'on' if fastest['v5_wiring'] else 'off'}",
            f"{ms:.2f}", f"{100 * error:+.0f}%", f"{measured['v5'] / ms:.2f}x",
            f"{measured['SqueezeNet 1.0'] / ms:.2f}x",
            f"{fastest['mean_top1'] - found['v5_mean_top1']:+.2f}",
        ])  # fmt: skip
    if not rows:
        return "No CPU-latency search is committed yet."
    headers = ["CPU kind", "runtime", "fastest design (blocks per stage)", "ms", "predicted", "vs v5",
               "vs SqueezeNet 1.0", "top-1 vs v5 (points)"]  # fmt: skip
    return (
        "The same question on a CPU, answered from its calibrated latency profile (`python "
        "benchmarks/latency_search.py`, measured at batch 1, 227x227, fastest timing in the machine's fast state; "
        "speeds are ratios measured in the same run; top-1 from the short Fashion-MNIST recipe, "
        "[docs/search.md](docs/search.md) section 4; `predicted`: the profile's error on that design, and where it is "
        "large, as for int8, the profile is not yet trustworthy, docs/cpu_latency.md):\n\n"
        + markdown_table(headers, rows)
    )


def search_doc_regions() -> dict[str, str]:
    found = result("search.json")
    return {
        "search-question": question_section(found),
        "search-accuracy": accuracy_section(),
        "search-codesign": codesign_section(found),
        "search-speed": speed_section(found),
        "search-latency": latency_section(),
    }
