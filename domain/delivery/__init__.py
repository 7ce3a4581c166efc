"""Delivery: building messages, idempotency keys, (later) provider matrix and webhook normalization."""
