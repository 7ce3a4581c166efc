"""The messages context of the API: the message log, and resolving uncertain messages."""
