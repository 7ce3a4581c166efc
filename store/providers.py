"""Delivery providers of a workspace: rows, their decrypted configuration, and the fallback chain per channel."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.delivery.providers import ProviderConfig, ProviderType, parse_config
from mauntic.secrets import SecretBox, SecretDecryptionError
from store.models import DeliveryProvider
from store.queries import workspace_page


async def get_provider(session: AsyncSession, workspace_id: str, provider_id: str) -> DeliveryProvider | None:
    provider = await session.get(DeliveryProvider, provider_id)
    return provider if provider is not None and provider.workspace_id == workspace_id else None


async def list_providers(
    session: AsyncSession, workspace_id: str, *, after: str | None, limit: int
) -> list[DeliveryProvider]:
    return await workspace_page(session, DeliveryProvider, workspace_id, after=after, limit=limit)


async def provider_named(session: AsyncSession, workspace_id: str, name: str) -> DeliveryProvider | None:
    result = await session.execute(
        select(DeliveryProvider).where(
            col(DeliveryProvider.workspace_id) == workspace_id, col(DeliveryProvider.name) == name
        )
    )
    return result.scalar_one_or_none()


async def provider_chain(session: AsyncSession, workspace_id: str, channel: str) -> list[DeliveryProvider]:
    """The enabled providers of a channel in fallback order: priority, then name."""
    result = await session.execute(
        select(DeliveryProvider)
        .where(
            col(DeliveryProvider.workspace_id) == workspace_id,
            col(DeliveryProvider.channel) == channel,
            col(DeliveryProvider.enabled).is_(True),
        )
        .order_by(col(DeliveryProvider.priority), col(DeliveryProvider.name))
    )
    return list(result.scalars())


def store_config(provider: DeliveryProvider, config: ProviderConfig, box: SecretBox) -> None:
    """Split a validated configuration into its public part and its encrypted secrets."""
    provider.config = config.public()
    provider.secrets = box.encrypt_json({k: v for k, v in config.secrets().items() if v is not None})


def stored_config(provider: DeliveryProvider, box: SecretBox) -> ProviderConfig:
    """The full configuration of a stored provider, secrets decrypted."""
    return parse_config(ProviderType(provider.type), {**provider.config, **box.decrypt_json(provider.secrets)})


def secrets_set(provider: DeliveryProvider, box: SecretBox) -> list[str] | None:
    """Which secret fields hold a value; None when they do not decrypt with this deployment's key."""
    try:
        return sorted(box.decrypt_json(provider.secrets))
    except SecretDecryptionError:
        return None
