"""Segments: the filter model, its validation, and a plain-Python reference evaluator."""
