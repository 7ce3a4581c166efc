"""The audit log's pure parts: the hash chain, its verifier and the masking of sensitive fields."""
