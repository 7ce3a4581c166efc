"""Pure business logic. Nothing here may import I/O libraries (see tests/domain/test_purity.py)."""
