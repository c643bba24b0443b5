"""Which generator fills which document: every region of every generated Markdown file, and the whole files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from docgen import bench, cpu_latency, peers, profile, search, simulator, study, training
from docgen.committed import ROOT
from docgen.regions import fill

Regions = Callable[[], dict[str, str]]

REGIONS: dict[Path, Regions] = {
    ROOT / "README.md": lambda: {
        **study.readme_regions(),
        "search-summary": search.readme_paragraph(),
        "search-cpu": search.readme_cpu_table(),
        "main-job": training.readme_main_job(),
        "bench-machines": bench.readme_machines(),
        "int8-accuracy": training.readme_int8(),
    },
    ROOT / "docs" / "accelerator.md": lambda: {"simulator-speed": simulator.simulator_speed()},
    ROOT / "docs" / "backbone.md": lambda: {"finetune": training.backbone_finetune()},
    ROOT / "docs" / "search.md": search.search_doc_regions,
    ROOT / "docs" / "training.md": lambda: {
        "main-job-seeds": training.training_seeds(),
        "fashion-table": training.fashion_table(),
        "finetune-table": training.training_finetune(),
        "gpu-throughput": training.gpu_throughput(),
        "gpu-main-job": training.gpu_main_job(),
        "train-speed": training.train_speed(),
        "main-job-trials": training.main_job_trials(),
        "make-run-time": training.make_run_times(),
    },
    ROOT / "docs" / "cpu_latency.md": lambda: {"cpu-latency-results": cpu_latency.cpu_latency_results()},
    ROOT / "docs" / "deploy.md": lambda: {
        "bench-runs": bench.deploy_runs(),
        "int8-gains": bench.deploy_int8_gains(),
        "profile-tables": profile.profile_tables(),
    },
}
"""Hand-written Markdown with generated regions."""


def rendered() -> dict[Path, str]:
    """Every generated file's text as its committed data renders it."""
    files = {path: fill(path.read_text(), regions(), path.relative_to(ROOT)) for path, regions in REGIONS.items()}
    files.update(study.study_files())
    files.update(peers.recorded_files())
    return files
