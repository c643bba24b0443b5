"""The README's speed line for the accelerator cost model: docs/results/simulator_speed-KIND.json
(``python benchmarks/simulator_speed.py``), one sentence per committed CPU kind."""

from __future__ import annotations

from docgen.committed import machine_cpu, per_kind, read, relative

SCALESIM_SOURCES = {
    "measured now": "timed in the same run",
    "recorded": "as recorded with the reference runs in tests/data/scalesim_reference.json",
}


def simulator_speed() -> str:
    sentences = []
    for path in per_kind("simulator_speed-*.json"):
        found = read(path)
        sentences.append(
            f"Speed on {machine_cpu(found['machine'])}, {found['machine']['cpus']} cores (`{found['command']}`, "
            f"{relative(path)}): one whole 1.0-SqNxt-23 with three dataflows in {found['one_network_ms']:.2f} ms; a "
            f"sweep of {found['sweep_points']:,} (network, hardware) points in {found['sweep_seconds']:.2f} s; the "
            f"{found['reference_runs']} SCALE-Sim reference layers in "
            f"{1e3 * found['model_seconds_for_reference_runs']:.0f} ms against SCALE-Sim's "
            f"{found['scalesim_seconds_for_reference_runs']:.0f} s on the same layers, "
            f"{SCALESIM_SOURCES[found['scalesim_timing_source']]}: {found['speedup_over_scalesim']:,.0f}x faster."
        )
    return "\n\n".join(sentences)
