"""The hardware study (docs/study/, what ``squeezenext study --out docs/study`` writes, plots aside) and the
README's tables quoted from it. The cost model is deterministic, so the study is recomputed (in about a
second) rather than read back."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from docgen.committed import ROOT
from squeezenext.accel.cost import costs_csv
from squeezenext.accel.study import Study, compute_study, paper_ratio_table, render_report, variant_table
from squeezenext.fileio import json_text

STUDY = ROOT / "docs" / "study"


@cache
def study() -> Study:
    return compute_study()


def study_files() -> dict[Path, str]:
    """Every text file of docs/study: the report, its results and the per-layer CSVs."""
    found = study()
    files = {STUDY / f"layers_{name}.csv": costs_csv(network.costs) for name, network in found.per_layer.items()}
    files[STUDY / "results.json"] = json_text(found.results())
    files[STUDY / "REPORT.md"] = render_report(found)
    return files


def readme_regions() -> dict[str, str]:
    found = study()
    size = found.default.rows
    return {
        "study-variants": variant_table(found, size),
        "study-ratios": paper_ratio_table(found, (size,)),
    }
