"""Dead letters: work that exhausted its retries, kept for an operator to replay or discard."""
