"""Dead letters: anything that exhausted its retries (sends, journey steps, dispatcher rows ...), listed, read,
replayed and discarded. The same service backs `mauntic dlq` (mauntic/dead_letters/service.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from api.context import AppContext
from api.deps import DeadLettersDelete, DeadLettersRead, DeadLettersWrite, Principal, Session, app_context
from api.errors import Conflict, NotFound, Unavailable
from api.pagination import Cursor, Page, page_of, row_number
from api.schemas.dead_letters import BulkResult, DeadLetterPublic, DeadLetterSelection, ErrorText, OutcomePublic
from api.validation import SerialId
from domain.dead_letters.model import DeadLetterKind, DeadLetterStatus
from mauntic.dead_letters.service import DeadLetterNotFound, DeadLetterService, NotReplayable, ReplayUnavailable
from store.dead_letters import DeadLetterFilter
from store.models import DeadLetter

router = APIRouter(prefix="/v1/dead-letters", tags=["dead letters"])
NOT_REPLAYABLE = "dead_letter_not_replayable"


def dead_letter_service(context: Annotated[AppContext, Depends(app_context)]) -> DeadLetterService:
    return context.dead_letters


Service = Annotated[DeadLetterService, Depends(dead_letter_service)]


@router.get("")
async def list_dead_letters(
    principal: DeadLettersRead,
    session: Session,
    service: Service,
    kind: DeadLetterKind | None = None,
    status: DeadLetterStatus | None = None,
    error: Annotated[ErrorText | None, Query(description="A substring of the error type or message")] = None,
    since: Annotated[AwareDatetime | None, Query(description="Last failed at or after")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Last failed before")] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[DeadLetterPublic]:
    """Newest first."""
    flt = DeadLetterFilter(principal.workspace_id, kind, status, error, since, until)
    rows = await service.page(session, flt, before=row_number(cursor), limit=limit + 1)
    page, next_cursor = page_of(rows, limit)
    return Page[DeadLetterPublic](data=[DeadLetterPublic.of(r) for r in page], next_cursor=next_cursor)


@router.get("/{dead_letter_id}")
async def read_dead_letter(
    dead_letter_id: SerialId,
    principal: DeadLettersRead,
    session: Session,
    service: Service,
) -> DeadLetterPublic:
    try:
        return DeadLetterPublic.of(await service.get(session, dead_letter_id, principal.workspace_id))
    except DeadLetterNotFound as exc:
        raise NotFound(str(exc), code="dead_letter_not_found") from exc


async def _selected(
    session: Session, service: DeadLetterService, principal: Principal, body: DeadLetterSelection
) -> tuple[list[DeadLetter], list[int]]:
    flt = DeadLetterFilter(principal.workspace_id, body.kind, None, body.error, body.since, body.until, ids=body.ids)
    rows = await service.select(session, flt)
    found = {row.id for row in rows}
    return rows, [i for i in (body.ids or []) if i not in found]


@router.post("/replay", responses={409: {"description": f"`{NOT_REPLAYABLE}`: a selected kind has no replayer yet"}})
async def replay_dead_letters(
    body: DeadLetterSelection, principal: DeadLettersWrite, session: Session, service: Service
) -> BulkResult:
    """Replay open dead letters (each kind through its replayer); `dry_run` says what would be done."""
    rows, unmatched = await _selected(session, service, principal, body)
    try:
        outcomes = await service.replay(session, rows, actor=f"api_key:{principal.key_id}", dry_run=body.dry_run)
    except NotReplayable as exc:
        raise Conflict(str(exc), code=NOT_REPLAYABLE, details={"kinds": exc.kinds, "ids": exc.ids}) from exc
    except ReplayUnavailable as exc:
        raise Unavailable(str(exc), code="temporal_unavailable") from exc
    return BulkResult(dry_run=body.dry_run, outcomes=[OutcomePublic.of(o) for o in outcomes], unmatched=unmatched)


@router.post("/discard")
async def discard_dead_letters(
    body: DeadLetterSelection, principal: DeadLettersDelete, session: Session, service: Service
) -> BulkResult:
    """Give up on open dead letters (a discarded outbox row is deleted); `dry_run` says what would be done."""
    rows, unmatched = await _selected(session, service, principal, body)
    outcomes = await service.discard(session, rows, actor=f"api_key:{principal.key_id}", dry_run=body.dry_run)
    return BulkResult(dry_run=body.dry_run, outcomes=[OutcomePublic.of(o) for o in outcomes], unmatched=unmatched)
