"""The one home of everything that writes documentation from committed results: ``make docs``.

The benchmark scripts (``benchmarks/``) measure and write JSON under ``docs/results/`` and ``docs/bench/``;
this package renders the README's and the docs' tables and the sentences that quote them from those files,
so a claim in the prose is computed from the data, never typed. Hand-written text stays in the Markdown
files; only the regions between ``<!-- begin generated: NAME (make docs) -->`` and
``<!-- end generated: NAME -->`` belong to a generator. ``python -m docgen --check`` (a test runs it) fails
when a committed document differs from what its data renders.

The bench's speed targets (acceptance logic, not a library feature) live here too: :mod:`docgen.targets`.
"""
