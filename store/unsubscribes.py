"""Recording a one-click unsubscribe: the suppression and a normalized `unsubscribed` delivery event, once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.clock import utcnow
from domain.delivery.unsubscribe import UnsubscribeClaim
from domain.ids import new_id
from store.models import DeliveryEvent, MessageLog, Workspace
from store.queries import insert_if_absent
from store.suppressions import NewSuppression, normalized_address, suppress

UNSUBSCRIBE_PROVIDER_ID = "unsubscribe-link"


async def record_unsubscribe(session: AsyncSession, claim: UnsubscribeClaim) -> bool | None:
    """Suppress the claim's address and log the event. True when this was news, False for a repeat, None when the
    workspace no longer exists. The caller commits."""
    if await session.get(Workspace, claim.workspace_id) is None:
        return None
    log = None
    if claim.message_log_id:
        result = await session.execute(
            select(MessageLog).where(
                col(MessageLog.id) == claim.message_log_id, col(MessageLog.workspace_id) == claim.workspace_id
            )
        )
        log = result.scalar_one_or_none()
    source = f"{UNSUBSCRIBE_PROVIDER_ID}:{claim.message_log_id}" if claim.message_log_id else UNSUBSCRIBE_PROVIDER_ID
    await suppress(session, claim.workspace_id, [NewSuppression(claim.channel, claim.address, "unsubscribed", source)])
    now = utcnow()
    event = {
        "id": new_id("dev"),
        "workspace_id": claim.workspace_id,
        "provider_id": UNSUBSCRIBE_PROVIDER_ID,
        "provider_event_id": claim.fingerprint(),
        "type": "unsubscribed",
        "channel": claim.channel,
        "recipient": normalized_address(claim.channel, claim.address),
        "message_log_id": claim.message_log_id,
        "contact_id": log.contact_id if log else None,
        "provider_message_id": log.provider_message_id if log else None,
        "raw_type": "one-click",
        "occurred_at": now,
        "received_at": now,
    }
    table = DeliveryEvent.__table__  # type: ignore[attr-defined]
    return await insert_if_absent(session, table, event, key=("provider_id", "provider_event_id"))
