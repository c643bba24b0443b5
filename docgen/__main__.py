"""``python -m docgen [--check]`` (``make docs``): render every generated document from committed results."""

from __future__ import annotations

import argparse
import sys

from docgen.bench import missing_bench_plots
from docgen.committed import ROOT, read
from docgen.documents import rendered
from docgen.regions import DocsError
from squeezenext.deploy.report import plot_latency
from squeezenext.fileio import atomic_write_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m docgen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; fail if a document is stale")
    args = parser.parse_args(argv)
    try:
        files = rendered()
    except (DocsError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyError as error:
        print(f"error: a committed result has no field {error}: rerun the benchmark that writes it", file=sys.stderr)
        return 1
    stale = [path for path, text in files.items() if not path.exists() or path.read_bytes() != text.encode()]
    plots = missing_bench_plots()
    names = ", ".join(path.relative_to(ROOT).as_posix() for path in [*stale, *plots])
    if args.check:
        if stale or plots:
            print(f"error: stale generated documents: {names}; run `make docs` and commit them", file=sys.stderr)
            return 1
        print(f"{len(files)} generated documents are current")
        return 0
    for path in stale:
        atomic_write_text(path, files[path])
    for path in plots:  # a committed run without its plot (bench --json without --plot): drawn from its JSON
        plot_latency(read(path.with_suffix(".json")), path)
    print(f"rewrote {names}" if stale or plots else f"{len(files)} generated documents were already current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
