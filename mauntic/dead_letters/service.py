"""The dead-letter service: find, inspect, replay and discard, for the API and the CLI alike.

Replay runs where the kind needs it: a send as a Temporal workflow (durable: it must survive the caller, and
gets the journey's retries), a journey step as the journey's own workflow restarted, an outbox row in the
database (the dispatchers, which are durable, do the work). Each item is replayed and marked in one
transaction, committed item by item, so an interrupted bulk replay leaves the rest open and replaying again goes
on where it stopped; a repeated replay of one item runs the same workflow id (nothing twice).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from domain.clock import utcnow
from domain.dead_letters.model import DeadLetterKind, DeadLetterStatus, discarded, replayed
from mauntic.dead_letters.replayers import REPLAYERS, ReplayContext, Replayer, Skip
from mauntic.temporal import TemporalGateway
from store import outbox
from store.dead_letters import DeadLetterFilter, get_dead_letter, list_dead_letters, resolve
from store.models import DeadLetter

MAX_PER_REQUEST = 1000


class DeadLetterNotFound(LookupError):
    pass


class NotReplayable(Exception):
    """Some selected items are of a kind without a replayer yet; nothing was replayed."""

    def __init__(self, kinds: Sequence[str], ids: Sequence[int]) -> None:
        super().__init__(
            f"dead letters of kind {', '.join(sorted(kinds))} cannot be replayed yet (ids {list(ids)[:20]}); "
            "narrow the selection with kind, or discard them"
        )
        self.kinds = sorted(kinds)
        self.ids = list(ids)


Action = Literal["replayed", "would_replay", "discarded", "would_discard", "skipped"]


@dataclass(frozen=True, slots=True)
class Outcome:
    id: int
    kind: str
    action: Action
    detail: str


Progress = Callable[[Outcome], None]


class DeadLetterService:
    def __init__(
        self, temporal: TemporalGateway, replayers: dict[DeadLetterKind, Replayer | None] | None = None
    ) -> None:
        self._temporal = temporal
        self._replayers = REPLAYERS if replayers is None else replayers

    async def page(
        self, session: AsyncSession, flt: DeadLetterFilter, *, before: int | None, limit: int
    ) -> list[DeadLetter]:
        return await list_dead_letters(session, flt, before=before, limit=limit)

    async def get(self, session: AsyncSession, dead_letter_id: int, workspace_id: str | None) -> DeadLetter:
        row = await get_dead_letter(session, dead_letter_id, workspace_id)
        if row is None:
            raise DeadLetterNotFound(f"dead letter {dead_letter_id} not found")
        return row

    async def select(
        self, session: AsyncSession, flt: DeadLetterFilter, limit: int = MAX_PER_REQUEST
    ) -> list[DeadLetter]:
        """The open items a replay or discard acts on, oldest first (the order they failed in)."""
        open_items = dataclasses.replace(flt, status=DeadLetterStatus.OPEN)
        return list(reversed(await list_dead_letters(session, open_items, limit=limit)))

    def check_replayable(self, rows: Sequence[DeadLetter]) -> None:
        blocked = [row for row in rows if self._replayers.get(DeadLetterKind(row.kind)) is None]
        if blocked:
            raise NotReplayable(sorted({row.kind for row in blocked}), [row.id or 0 for row in blocked])

    async def replay(
        self,
        session: AsyncSession,
        rows: Sequence[DeadLetter],
        *,
        actor: str,
        dry_run: bool,
        progress: Progress | None = None,
    ) -> list[Outcome]:
        self.check_replayable(rows)
        outcomes: list[Outcome] = []
        context = ReplayContext(session, self._temporal, actor, dry_run)
        for row in rows:
            outcome = await self._replay_one(context, row)
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome)
        return outcomes

    async def _replay_one(self, context: ReplayContext, row: DeadLetter) -> Outcome:
        replayer = self._replayers[DeadLetterKind(row.kind)]
        assert replayer is not None  # checked before any item was replayed
        dead_letter_id = row.id or 0
        try:
            replayed(DeadLetterStatus(row.status))
            detail = await replayer(context, row)
        except Skip as exc:
            await context.session.rollback()
            return Outcome(dead_letter_id, row.kind, "skipped", str(exc))
        if context.dry_run:
            return Outcome(dead_letter_id, row.kind, "would_replay", detail)
        marked = await resolve(
            context.session,
            dead_letter_id,
            status=DeadLetterStatus.REPLAYED,
            actor=context.actor,
            at=utcnow(),
            resolution=detail,
        )
        await context.session.commit()
        if not marked:
            return Outcome(dead_letter_id, row.kind, "skipped", "resolved meanwhile by someone else")
        return Outcome(dead_letter_id, row.kind, "replayed", detail)

    async def discard(
        self,
        session: AsyncSession,
        rows: Sequence[DeadLetter],
        *,
        actor: str,
        dry_run: bool,
        progress: Progress | None = None,
    ) -> list[Outcome]:
        """Give up on the items; a discarded outbox row is deleted (it would stay parked for ever otherwise)."""
        outcomes: list[Outcome] = []
        for row in rows:
            dead_letter_id = row.id or 0
            discarded(DeadLetterStatus(row.status))
            if dry_run:
                outcome = Outcome(dead_letter_id, row.kind, "would_discard", "would be discarded")
            else:
                if row.kind == DeadLetterKind.DISPATCH:
                    await outbox.drop_parked(session, int(row.subject_id))
                marked = await resolve(
                    session, dead_letter_id, status=DeadLetterStatus.DISCARDED, actor=actor, at=utcnow()
                )
                await session.commit()
                action: Action = "discarded" if marked else "skipped"
                outcome = Outcome(dead_letter_id, row.kind, action, "discarded" if marked else "resolved meanwhile")
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome)
        return outcomes
