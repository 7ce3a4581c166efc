"""One-time webhook tokens: a second claim with another body is a replay, with the same body a retry; tokens too
old to be accepted again are pruned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlmodel import col

from domain.ids import new_id
from store.models import WebhookNonce
from store.webhook_nonces import claim_nonce
from tests.webhooks.rows import Sessions

KEEP = timedelta(minutes=20)


async def claim(db: Sessions, provider_id: str, token: str, at: datetime, body: str = "body") -> bool:
    async with db() as session:
        claimed = await claim_nonce(session, provider_id, token, at, body_digest=f"sha256-of-{body}", keep=KEEP)
        await session.commit()
        return claimed


async def tokens(db: Sessions, provider_id: str) -> set[str]:
    async with db() as session:
        result = await session.execute(
            select(col(WebhookNonce.nonce)).where(col(WebhookNonce.provider_id) == provider_id)
        )
        return set(result.scalars())


async def test_tokens_are_claimed_once_per_provider_and_old_ones_pruned(db: Sessions) -> None:
    provider, other = new_id("prv"), new_id("prv")
    start = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    assert await claim(db, provider, "t1", start)
    assert not await claim(db, provider, "t1", start + timedelta(seconds=5), body="forged")
    assert await claim(db, provider, "t1", start + timedelta(seconds=5))  # the same body: a retry
    assert not await claim(db, provider, "t1", start + timedelta(seconds=6), body="forged")
    assert await claim(db, other, "t1", start)  # another provider's token space
    assert await claim(db, provider, "t2", start + timedelta(minutes=10))
    assert await tokens(db, provider) == {"t1", "t2"}
    # A request signed well after t1 could no longer carry t1 (it would be stale): t1 goes, t2 stays.
    assert await claim(db, provider, "t3", start + timedelta(minutes=21))
    assert await tokens(db, provider) == {"t2", "t3"}
    assert await tokens(db, other) == {"t1"}
