"""Hardware-aware design search and accelerator co-design (docs/search.md)."""
