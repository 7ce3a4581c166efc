"""Public URLs the API hands out for providers to call back."""

from __future__ import annotations


def webhook_url(base_url: str, provider_id: str) -> str:
    return f"{base_url.rstrip('/')}/v1/webhooks/{provider_id}"
