"""Send policies in the database: the workspace default, and the gate's check-and-reserve.

`check_and_reserve` is exact under concurrency: its first statement writes the contact's `send_counter` row
(INSERT .. ON CONFLICT DO NOTHING), the second locks it (SELECT .. FOR UPDATE on PostgreSQL; on SQLite the first
write already holds the database's single write lock), and only then are the contact's reservations counted and
the new one inserted, in the same transaction. Two gates for one contact therefore run one after the other, the
second counting the first's reservation. Reservations are keyed by the send's idempotency key: a retried gate
finds its own and is allowed again without counting twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.clock import utcnow
from domain.journeys.send_policy import CapHit, FrequencyCap, WorkspaceSendPolicy, cap_hit, longest_window
from store.models_send import SendCounter, SendReservation, WorkspaceSendPolicyRow
from store.queries import insert_ignoring


async def workspace_send_policy(session: AsyncSession, workspace_id: str) -> WorkspaceSendPolicy | None:
    row = await session.get(WorkspaceSendPolicyRow, workspace_id, populate_existing=True)
    return WorkspaceSendPolicy.model_validate(row.policy) if row is not None else None


async def put_workspace_send_policy(session: AsyncSession, workspace_id: str, policy: WorkspaceSendPolicy) -> None:
    """Insert or replace the workspace default; the caller commits."""
    stored = policy.model_dump(mode="json")
    row = await session.get(WorkspaceSendPolicyRow, workspace_id)
    if row is None:
        session.add(WorkspaceSendPolicyRow(workspace_id=workspace_id, policy=stored))
    else:
        row.policy = stored
        row.updated_at = utcnow()


async def check_and_reserve(
    session: AsyncSession,
    *,
    workspace_id: str,
    contact_id: str,
    channel: str,
    idempotency_key: str,
    journey_id: str | None,
    caps: list[FrequencyCap],
    now: datetime,
) -> CapHit | None:
    """Reserve the send unless a cap holds it back (then return the cap, reserving nothing). The caller commits."""
    dialect = session.get_bind().dialect.name
    counter = SendCounter.__table__  # type: ignore[attr-defined]
    await session.execute(
        insert_ignoring(dialect, counter, "workspace_id", "contact_id").values(
            workspace_id=workspace_id, contact_id=contact_id, reservations=0
        )
    )
    await session.execute(
        select(col(SendCounter.reservations))
        .where(col(SendCounter.workspace_id) == workspace_id, col(SendCounter.contact_id) == contact_id)
        .with_for_update()
    )
    mine = await session.execute(
        select(col(SendReservation.idempotency_key)).where(col(SendReservation.idempotency_key) == idempotency_key)
    )
    if mine.first() is not None:
        return None  # a retried gate: its reservation stands
    window = longest_window(caps, channel)
    if window is not None:
        earlier = await session.execute(
            select(col(SendReservation.reserved_at)).where(
                col(SendReservation.workspace_id) == workspace_id,
                col(SendReservation.contact_id) == contact_id,
                col(SendReservation.channel) == channel,
                col(SendReservation.reserved_at) > now - window,
            )
        )
        hit = cap_hit(caps, channel, [moment for (moment,) in earlier.all()], now)
        if hit is not None:
            return hit
    session.add(
        SendReservation(
            idempotency_key=idempotency_key, workspace_id=workspace_id, contact_id=contact_id,
            channel=channel, journey_id=journey_id, reserved_at=now,
        )
    )  # fmt: skip
    await session.execute(
        update(SendCounter)
        .where(col(SendCounter.workspace_id) == workspace_id, col(SendCounter.contact_id) == contact_id)
        .values(reservations=col(SendCounter.reservations) + 1)
    )
    return None
