"""Group commit for ingestion: requests that arrive while a transaction runs are stored together in the next.

A request's own work is small (a few statements for a single track); what it costs is mostly per transaction:
a pooled connection, a commit (an fsync on PostgreSQL), the thread hop to SQLite's writer. So requests queue
here and up to `consumers` transactions drain the queue, each taking everything waiting (up to a message cap),
one `record_messages` call per workspace. An idle server adds no delay: a lone request starts at once. Under
load, groups grow by themselves and the per-request cost falls.

A group shares a transaction, not a fate: when it fails for a reason other than a race (which is retried),
its requests are run again one at a time, so only the request at fault sees the error.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from domain.events.interest import EVERYTHING, Interest
from domain.events.resolution import Refusal
from domain.events.segment import SegmentMessage
from store.event_contacts import ContactRace
from store.events import Recorded, StoredEvent, record_messages

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_GROUP_MESSAGES = 5000
_ATTEMPTS = 3  # a transaction is retried after losing a race it could not settle by itself


class UnitRunner(Protocol):
    async def run(self, unit: Callable[[Session], T]) -> T:
        """Run `unit` in a new transaction and commit it."""
        ...


@dataclass
class _Request:
    workspace_id: str
    messages: list[SegmentMessage]
    interest: Interest  # what to queue in the dispatch outbox
    future: asyncio.Future[Outcome] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass
class Outcome:
    """A request's messages as stored (one row per distinct message id, in order), and those refused by the identity
    rules (message id -> why: a unique email another contact holds, an invalid phone ...)."""

    events: list[StoredEvent]
    refused: dict[str, Refusal] = field(default_factory=dict)


_Stored = tuple[dict[tuple[str, str], StoredEvent], dict[tuple[str, str], Refusal]]


class GroupCommitter:
    def __init__(self, runner: UnitRunner, *, consumers: int, max_messages: int = MAX_GROUP_MESSAGES) -> None:
        self.runner = runner
        self._consumers = consumers
        self._max_messages = max_messages
        self._pending: deque[_Request] = deque()
        self._active = 0  # draining consumers; counted synchronously so no request is ever left behind
        self._tasks: set[asyncio.Task[None]] = set()

    async def record(
        self, workspace_id: str, messages: list[SegmentMessage], interest: Interest = EVERYTHING
    ) -> list[StoredEvent]:
        """Store the messages, queueing in the dispatch outbox what `interest` asks for; their rows (new or
        already stored), one per distinct message id, in order."""
        return (await self.record_outcome(workspace_id, messages, interest)).events

    async def record_outcome(
        self, workspace_id: str, messages: list[SegmentMessage], interest: Interest = EVERYTHING
    ) -> Outcome:
        """As `record`, with the messages the identity rules refused."""
        request = _Request(workspace_id, messages, interest)
        self._pending.append(request)
        if self._active < self._consumers:
            self._active += 1
            task = asyncio.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await request.future

    async def _drain(self) -> None:
        try:
            while self._pending:
                group = self._take()
                try:
                    await self._commit(group)
                except BaseException:  # cancelled (shutdown): its requests will get no answer
                    for request in group:
                        if not request.future.done():
                            request.future.cancel()
                    raise
        finally:
            self._active -= 1

    def _take(self) -> list[_Request]:
        group = [self._pending.popleft()]
        size = len(group[0].messages)
        while self._pending and size + len(self._pending[0].messages) <= self._max_messages:
            request = self._pending.popleft()
            group.append(request)
            size += len(request.messages)
        return group

    async def _commit(self, group: list[_Request]) -> None:
        try:
            recorded = await self._run(group)
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0], exc)
                return
            log.warning("ingest: a group of %d requests failed (%r); storing them one by one", len(group), exc)
            for request in group:
                try:
                    _settle(request, await self._run([request]))
                except Exception as single:
                    _settle(request, single)
            return
        for request in group:
            _settle(request, recorded)

    async def _run(self, group: list[_Request]) -> _Stored:
        """One transaction for the group: every workspace's messages in arrival order."""
        by_workspace: dict[str, list[SegmentMessage]] = {}
        interests: dict[str, Interest] = {}
        for request in group:
            by_workspace.setdefault(request.workspace_id, []).extend(request.messages)
            known = interests.get(request.workspace_id)
            interests[request.workspace_id] = request.interest if known is None else known | request.interest

        def unit(session: Session) -> _Stored:
            stored: dict[tuple[str, str], StoredEvent] = {}
            refused: dict[tuple[str, str], Refusal] = {}
            for workspace_id, messages in by_workspace.items():
                recorded: Recorded = record_messages(session, workspace_id, messages, interests[workspace_id])
                stored.update(((workspace_id, mid), event) for mid, event in recorded.events.items())
                refused.update(((workspace_id, mid), why) for mid, why in recorded.refused.items())
            return stored, refused

        for attempt in range(1, _ATTEMPTS + 1):
            try:
                return await self.runner.run(unit)
            except (IntegrityError, OperationalError, ContactRace) as exc:
                if attempt == _ATTEMPTS or not _retryable(exc):
                    raise
                log.info("ingest: transaction lost a race (%s), retrying (attempt %d)", type(exc).__name__, attempt)
        raise AssertionError("unreachable")


def _settle(request: _Request, outcome: _Stored | Exception) -> None:
    if request.future.done():  # the client went away; its messages are stored all the same
        return
    if isinstance(outcome, Exception):
        request.future.set_exception(outcome)
        return
    stored, refused = outcome
    rows: dict[str, StoredEvent] = {}
    mine: dict[str, Refusal] = {}
    for message in request.messages:
        key = (request.workspace_id, message.message_id)
        if key in stored:
            rows.setdefault(message.message_id, stored[key])
        elif key in refused:
            mine[message.message_id] = refused[key]
    request.future.set_result(Outcome(list(rows.values()), mine))


def _retryable(exc: Exception) -> bool:
    """Races another request may have caused: a unique key taken meanwhile, a deadlock or serialization failure."""
    if isinstance(exc, OperationalError):
        return getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")
    return True
