"""Field-level controls in the API: the policies' service, and the per-request policy every serializer reads."""
