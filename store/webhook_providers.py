"""The delivery provider a webhook is addressed to, with its configuration (secrets decrypted)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.delivery.providers import Channel, ProviderConfig, ProviderType, parse_config
from mauntic.secrets import SecretBox, SecretDecryptionError
from store.models import DeliveryProvider


class UnreadableProviderConfig(Exception):
    """The stored configuration does not decrypt or no longer validates."""


@dataclass(frozen=True)
class WebhookProvider:
    id: str
    workspace_id: str
    type: ProviderType
    channel: Channel
    config: ProviderConfig


async def load_webhook_provider(session: AsyncSession, secrets: SecretBox, provider_id: str) -> WebhookProvider | None:
    row = await session.get(DeliveryProvider, provider_id)
    if row is None:
        return None
    try:
        provider_type = ProviderType(row.type)
        config = parse_config(provider_type, {**row.config, **secrets.decrypt_json(row.secrets)})
    except (ValueError, ValidationError, SecretDecryptionError) as exc:
        raise UnreadableProviderConfig(f"provider {provider_id}: {type(exc).__name__}") from exc
    return WebhookProvider(row.id, row.workspace_id, provider_type, config.CHANNEL, config)
