"""Rows the webhook tests need: configured providers (secrets encrypted as the store keeps them) and message logs."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from domain.delivery.providers import ProviderType, parse_config
from domain.ids import new_id
from mauntic.secrets import SecretBox
from store.models import DeliveryEvent, DeliveryProvider, MessageLog, Suppression
from tests.conftest import TEST_SECRET_KEY

Sessions = async_sessionmaker[AsyncSession]
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2


def provider_config(provider_type: ProviderType, **webhook: Any) -> dict[str, Any]:
    base: dict[ProviderType, dict[str, Any]] = {
        ProviderType.SENDGRID: {"api_key": "SG.test"},
        ProviderType.SES: {"region": "eu-west-1", "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "x"},
        ProviderType.MAILGUN: {"domain": "mg.example.com", "api_key": "key-test"},
        ProviderType.POSTMARK: {"server_token": "pm-token"},
        ProviderType.TWILIO: {"account_sid": ACCOUNT_SID, "auth_token": "twilio-token", "from_number": "+15550001111"},
        ProviderType.SMTP: {"host": "127.0.0.1"},
    }
    return {**base[provider_type], **webhook}


async def create_provider(db: Sessions, workspace_id: str, provider_type: ProviderType, **webhook: Any) -> str:
    config = parse_config(provider_type, provider_config(provider_type, **webhook))
    row = DeliveryProvider(
        id=new_id("prv"),
        workspace_id=workspace_id,
        name=f"{provider_type.value}-{uuid.uuid4().hex[:6]}",
        type=provider_type.value,
        channel=config.CHANNEL.value,
        config=config.public(),
        secrets=SecretBox(TEST_SECRET_KEY).encrypt_json(config.secrets()),
    )
    async with db() as session:
        session.add(row)
        await session.commit()
    return row.id


async def create_message_log(db: Sessions, workspace_id: str, contact_id: str | None, **values: Any) -> MessageLog:
    row = MessageLog(
        id=new_id("msg"),
        workspace_id=workspace_id,
        idempotency_key=uuid.uuid4().hex,
        contact_id=contact_id,
        channel=values.pop("channel", "email"),
        to_address=values.pop("to_address", "ada@example.com"),
        status="sent",
        **values,
    )
    async with db() as session:
        session.add(row)
        await session.commit()
    return row


async def delivery_events(db: Sessions, provider_id: str) -> list[DeliveryEvent]:
    async with db() as session:
        result = await session.execute(
            select(DeliveryEvent)
            .where(col(DeliveryEvent.provider_id) == provider_id)
            .order_by(col(DeliveryEvent.provider_event_id))
        )
        return list(result.scalars())


async def suppressions(db: Sessions, workspace_id: str) -> set[tuple[str, str, str]]:
    async with db() as session:
        result = await session.execute(select(Suppression).where(Suppression.workspace_id == workspace_id))  # type: ignore[arg-type]
        return {(s.channel, s.address, s.reason) for s in result.scalars()}


async def count_events(db: Sessions, provider_id: str) -> int:
    async with db() as session:
        query = select(func.count()).select_from(DeliveryEvent).where(col(DeliveryEvent.provider_id) == provider_id)
        return int((await session.execute(query)).scalar_one())
