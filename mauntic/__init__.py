"""Runtime glue of mauntic: settings, the embedded stack, the Temporal client and the `mauntic` CLI."""
