"""docs/deploy.md's profile tables: one per committed docs/results/profile-KIND.json
(``python benchmarks/profile_report.py``)."""

from __future__ import annotations

from docgen.committed import machine_cpu, per_kind, read, relative
from squeezenext.deploy.profile import profiles_markdown


def profile_tables() -> str:
    lines: list[str] = []
    for path in per_kind("profile-*.json"):
        found = read(path)
        threads = sorted({p["threads"] for p in found["profiles"]})
        lines += [
            f"### {machine_cpu(found['machine'])}, {'/'.join(map(str, threads))} threads (`{relative(path)}`)",
            "",
            profiles_markdown(found["profiles"]).rstrip("\n"),
            "",
        ]
    return "\n".join(lines)
