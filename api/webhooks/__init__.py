"""Provider webhooks: authenticity checks on the raw request (one module per provider) and the ingestion service."""
