"""Accelerator cost model: per-layer time, energy and utilization of any network on a PE array."""
