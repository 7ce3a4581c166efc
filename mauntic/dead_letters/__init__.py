"""Dead-letter tooling shared by the API (/v1/dead-letters) and the CLI (`mauntic dlq`): one service, one
registry of replayers (one entry per kind)."""
