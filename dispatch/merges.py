"""The automatic merge consumer: `contact_merge` outbox rows (written by ingestion with their ContactMerge row,
store/ingest_merges.py) -> the ContactMerge workflow, started under its deterministic id.

A row dispatched twice starts one workflow (Temporal refuses the second start, mauntic/merge_starts.py), and a
merge no longer running (applied, refused) starts nothing. A failure to start (Temporal unreachable) raises, and
the dispatcher retries the row with backoff."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from domain.events.interest import OutboxKind
from mauntic.merge_starts import ensure_started
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.models_identity import ContactMerge
from store.outbox import OutboxRow


class MergeConsumer:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: Settings, temporal: TemporalGateway
    ) -> None:
        self._sessions = sessions
        self._temporal = temporal
        self.started = 0  # merge workflows started by this consumer (tests, logs)

    def forget(self, workspace_id: str) -> None:
        """Nothing cached."""

    async def consume(self, rows: Sequence[OutboxRow]) -> None:
        wanted = {
            row.event.event_id: row.event.workspace_id for row in rows if row.event.kind == OutboxKind.CONTACT_MERGE
        }
        if not wanted:
            return
        async with self._sessions() as session:
            found = (
                await session.execute(select(ContactMerge).where(col(ContactMerge.id).in_(sorted(wanted))))
            ).scalars()
            merges = [m for m in found if wanted.get(m.id) == m.workspace_id]
        for merge in merges:
            self.started += await ensure_started(self._temporal, merge)
