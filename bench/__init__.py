"""Benchmarks of the embedded stack, each with its target: `python -m bench.journeys`, `python -m bench.ingest`."""
