"""Identity resolution: the identifiers a contact is known by, the workspace's merge policy, matching and
survivorship (pure)."""
