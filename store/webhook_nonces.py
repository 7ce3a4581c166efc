"""One-time webhook tokens, bound to the body they came with, kept only while a request carrying them could still
be accepted."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import WebhookNonce
from store.queries import insert_if_absent


async def claim_nonce(
    session: AsyncSession, provider_id: str, nonce: str, signed_at: datetime, *, body_digest: str, keep: timedelta
) -> bool:
    """Record the token with the digest of its body. True when the token is new, or was seen with the same body (the
    provider retrying a request we did not answer with a 2xx); False when it was seen with another body (a replay
    of a captured token under a forged body). Tokens signed more than `keep` ago are pruned: a request that old is
    refused as stale before its token is looked at."""
    await session.execute(
        delete(WebhookNonce).where(
            col(WebhookNonce.provider_id) == provider_id, col(WebhookNonce.signed_at) < signed_at - keep
        )
    )
    values = {"provider_id": provider_id, "nonce": nonce, "body_digest": body_digest, "signed_at": signed_at}
    if await insert_if_absent(session, WebhookNonce.__table__, values, key=("provider_id", "nonce")):  # type: ignore[attr-defined]
        return True
    seen = await session.execute(
        select(col(WebhookNonce.body_digest)).where(
            col(WebhookNonce.provider_id) == provider_id, col(WebhookNonce.nonce) == nonce
        )
    )
    return seen.scalar_one_or_none() == body_digest
