"""Outbound webhooks: what a workspace can subscribe to, how a delivery is signed, retried and where it may go."""
