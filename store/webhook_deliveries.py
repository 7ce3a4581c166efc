"""Outbound webhook deliveries as rows: queued set-based from outbox rows, claimed in chunks under a lease,
settled with one statement per chunk (attempts appended, deliveries updated).

A delivery is never lost to a crash: it is a row from the moment its event is consumed, and an attempt whose worker
died holds only a lease that expires; the next claim takes the row again (and records the lost attempt as
`interrupted`). The receiver dedupes the repeat on `webhook-id`, the delivery id."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from domain.json_limits import printable
from domain.outbound_webhooks.retry import MAX_ATTEMPTS, DeliveryStatus, retry_delay
from store.models_webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from store.queries import insert_ignoring

DELIVERY: Table = SQLModel.metadata.tables[WebhookDelivery.__tablename__]
ATTEMPT: Table = SQLModel.metadata.tables[WebhookAttempt.__tablename__]
ENDPOINT: Table = SQLModel.metadata.tables[WebhookEndpoint.__tablename__]
INTERRUPTED = "attempt interrupted: its worker stopped before the answer was recorded"
_MAX_ERROR = 1000


def delivery_id(endpoint_id: str, source_id: str) -> str:
    """The same (endpoint, source event) always gives the same id: queuing is idempotent, and the id is the
    `webhook-id` receivers dedupe on."""
    return "msg_" + hashlib.blake2b(f"{endpoint_id}|{source_id}".encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class NewDelivery:
    workspace_id: str
    endpoint_id: str
    event_type: str
    source_id: str
    body: str


@dataclass(frozen=True, slots=True)
class Due:
    id: str
    workspace_id: str
    endpoint_id: str
    url: str
    body: str
    attempt: int  # the number of this attempt (1 = first)
    max_attempts: int
    secrets: tuple[str, ...]  # encrypted; the current one first


@dataclass(frozen=True, slots=True)
class Outcome:
    delivery_id: str
    workspace_id: str
    attempt: int
    max_attempts: int
    status_code: int | None
    latency_ms: float
    error: str | None
    attempted_at: datetime
    delivered: bool
    retry: bool = True  # False: a permanent refusal (410 Gone, a refused address): dead now


async def queue(
    session: AsyncSession, deliveries: Sequence[NewDelivery], now: datetime, max_attempts: int = MAX_ATTEMPTS
) -> int:
    """Insert deliveries not yet queued; the caller commits. How many went in."""
    if not deliveries:
        return 0
    rows = [
        {
            "id": delivery_id(d.endpoint_id, d.source_id), "workspace_id": d.workspace_id,
            "endpoint_id": d.endpoint_id, "event_type": d.event_type, "source_id": d.source_id[:200], "body": d.body,
            "status": DeliveryStatus.PENDING.value, "attempts": 0, "max_attempts": max_attempts,
            "next_attempt_at": now, "created_at": now,
        }
        for d in deliveries
    ]  # fmt: skip
    statement = insert_ignoring(session.get_bind().dialect.name, DELIVERY, "id").returning(DELIVERY.c.id)
    inserted = 0
    for start in range(0, len(rows), 500):
        result = await session.execute(statement, rows[start : start + 500])
        inserted += len(result.fetchall())
    return inserted


def _due(now: datetime) -> Any:
    c = DELIVERY.c
    return and_(
        c.status == DeliveryStatus.PENDING.value,
        c.next_attempt_at <= now,
        or_(c.lease_until.is_(None), c.lease_until < now),
    )


async def claim(session: AsyncSession, now: datetime, limit: int, lease: timedelta) -> list[Due]:
    """Take up to `limit` due deliveries of enabled endpoints until `now + lease`, oldest due first; the caller
    commits. A row still carrying an expired lease had an attempt cut off (its worker died): that attempt is
    recorded as interrupted."""
    c, e = DELIVERY.c, ENDPOINT.c
    query = (
        select(c.id, c.attempts, c.lease_until)
        .join(ENDPOINT, e.id == c.endpoint_id)
        .where(_due(now), e.enabled.is_(True))
        .order_by(c.next_attempt_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=DELIVERY, skip_locked=True)
    picked = (await session.execute(query)).all()
    if not picked:
        return []
    cut_off = [
        {"delivery_id": row.id, "attempt": row.attempts, "status_code": None, "latency_ms": 0.0,
         "error": INTERRUPTED, "attempted_at": row.lease_until}
        for row in picked
        if row.lease_until is not None and row.attempts > 0
    ]  # fmt: skip
    if cut_off:
        await session.execute(
            insert_ignoring(session.get_bind().dialect.name, ATTEMPT, "delivery_id", "attempt"), cut_off
        )
    claimed = (
        await session.execute(
            update(DELIVERY)
            .where(c.id.in_([row.id for row in picked]), _due(now))
            .values(attempts=c.attempts + 1, lease_until=now + lease)
            .returning(c.id, c.workspace_id, c.endpoint_id, c.body, c.attempts, c.max_attempts)
        )
    ).all()
    endpoints = await _endpoints(session, {row.endpoint_id for row in claimed}, now)
    return [
        Due(row.id, row.workspace_id, row.endpoint_id, endpoints[row.endpoint_id][0], row.body, row.attempts,
            row.max_attempts, endpoints[row.endpoint_id][1])
        for row in claimed
        if row.endpoint_id in endpoints
    ]  # fmt: skip


async def renew(session: AsyncSession, claimed: Sequence[tuple[str, int]], until: datetime) -> None:
    """Extend the lease of claimed rows not yet settled (same attempt, still leased); the caller commits."""
    c = DELIVERY.c
    await session.execute(
        update(DELIVERY)
        .where(c.id == bindparam("did"), c.attempts == bindparam("n"), c.lease_until.is_not(None))
        .values(lease_until=until),
        [{"did": did, "n": n} for did, n in claimed],
        execution_options={"synchronize_session": False},
    )


async def _endpoints(session: AsyncSession, ids: set[str], now: datetime) -> dict[str, tuple[str, tuple[str, ...]]]:
    if not ids:
        return {}
    e = ENDPOINT.c
    rows = await session.execute(
        select(e.id, e.url, e.secret_encrypted, e.previous_secret_encrypted, e.previous_secret_expires_at).where(
            e.id.in_(list(ids))
        )
    )
    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    for row in rows:
        keys = [row.secret_encrypted]
        if row.previous_secret_encrypted and row.previous_secret_expires_at and row.previous_secret_expires_at > now:
            keys.append(row.previous_secret_encrypted)
        found[row.id] = (row.url, tuple(keys))
    return found


async def settle(session: AsyncSession, outcomes: Sequence[Outcome], scale: float = 1.0) -> list[Outcome]:
    """Record the attempts and move each delivery on: delivered, due again after its backoff, or dead when its
    attempts are spent (returned, for the dead-letter store). The caller commits."""
    if not outcomes:
        return []
    dialect = session.get_bind().dialect.name
    await session.execute(
        insert_ignoring(dialect, ATTEMPT, "delivery_id", "attempt"),
        [
            {"delivery_id": o.delivery_id, "attempt": o.attempt, "status_code": o.status_code,
             "latency_ms": round(o.latency_ms, 3), "error": printable(o.error)[:_MAX_ERROR] if o.error else None,
             "attempted_at": o.attempted_at}
            for o in outcomes
        ],
    )  # fmt: skip
    dead = [o for o in outcomes if not o.delivered and (not o.retry or o.attempt >= o.max_attempts)]
    dead_ids = {o.delivery_id for o in dead}
    c = DELIVERY.c
    statement = (
        update(DELIVERY)
        .where(c.id == bindparam("did"), c.attempts == bindparam("n"))
        .values(
            status=bindparam("status"),
            next_attempt_at=bindparam("next_at"),
            delivered_at=bindparam("delivered_at"),
            lease_until=None,
            last_status_code=bindparam("code"),
            last_error=bindparam("error"),
        )
    )
    await session.execute(
        statement,
        [
            {
                "did": o.delivery_id,
                "n": o.attempt,
                "status": (DeliveryStatus.DELIVERED if o.delivered else
                           DeliveryStatus.DEAD if o.delivery_id in dead_ids else DeliveryStatus.PENDING).value,
                "next_at": o.attempted_at if o.delivered or o.delivery_id in dead_ids
                else o.attempted_at + retry_delay(o.attempt, scale),
                "delivered_at": o.attempted_at if o.delivered else None,
                "code": o.status_code,
                "error": printable(o.error)[:_MAX_ERROR] if o.error else None,
            }
            for o in outcomes
        ],
        execution_options={"synchronize_session": False},
    )  # fmt: skip
    return dead


async def next_due(session: AsyncSession) -> datetime | None:
    """When the earliest pending delivery of an enabled endpoint is due (or its lease ends)."""
    c, e = DELIVERY.c, ENDPOINT.c
    when = func.coalesce(c.lease_until, c.next_attempt_at)
    result = await session.execute(
        select(func.min(when))
        .join(ENDPOINT, e.id == c.endpoint_id)
        .where(c.status == DeliveryStatus.PENDING.value, e.enabled.is_(True))
    )
    value: datetime | None = result.scalar_one()
    return value


async def delivery_status(session: AsyncSession, delivery_id_: str) -> str | None:
    c = DELIVERY.c
    status: str | None = (await session.execute(select(c.status).where(c.id == delivery_id_))).scalar_one_or_none()
    return status


async def redeliver(session: AsyncSession, delivery_id_: str, now: datetime, *, if_delivered: bool) -> str | None:
    """Make a delivery due now with a fresh set of attempts; the caller commits. A delivered one is sent again
    only `if_delivered` (an explicit resend); replaying a dead letter that meanwhile succeeded sends nothing.
    Returns the status it had (None: no such delivery)."""
    c = DELIVERY.c
    status: str | None = (await session.execute(select(c.status).where(c.id == delivery_id_))).scalar_one_or_none()
    if status is None or (status == DeliveryStatus.DELIVERED.value and not if_delivered):
        return status
    await session.execute(
        update(DELIVERY)
        .where(c.id == delivery_id_, or_(c.lease_until.is_(None), c.lease_until < now))
        .values(
            status=DeliveryStatus.PENDING.value, next_attempt_at=now, lease_until=None,
            max_attempts=c.attempts + MAX_ATTEMPTS, delivered_at=None,
        )
    )  # fmt: skip
    return status


async def list_deliveries(
    session: AsyncSession, endpoint_id: str, *, status: str | None, after: str | None, limit: int
) -> list[WebhookDelivery]:
    """An endpoint's deliveries in id order (ids are hashes: a stable order, for cursors)."""
    query = select(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint_id)
    if status:
        query = query.where(col(WebhookDelivery.status) == status)
    if after:
        query = query.where(col(WebhookDelivery.id) > after)
    result = await session.execute(query.order_by(col(WebhookDelivery.id)).limit(limit))
    return list(result.scalars())


async def get_delivery(session: AsyncSession, workspace_id: str, delivery_id_: str) -> WebhookDelivery | None:
    row = await session.get(WebhookDelivery, delivery_id_)
    return row if row is not None and row.workspace_id == workspace_id else None


async def list_attempts(session: AsyncSession, delivery_id_: str) -> list[WebhookAttempt]:
    result = await session.execute(
        select(WebhookAttempt)
        .where(col(WebhookAttempt.delivery_id) == delivery_id_)
        .order_by(col(WebhookAttempt.attempt))
    )
    return list(result.scalars())
