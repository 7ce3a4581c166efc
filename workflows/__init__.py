"""Durable processes, one module per workflow. Deterministic code only: I/O lives in activities."""
