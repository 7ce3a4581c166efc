"""Journey inspection: a contact's run explained, the contacts in a journey, its stats, its graph, previews and
test sends of its messages (services: api/journeys/inspection.py, api/journeys/preview.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response

from api.deps import AppSettings, JourneysRead, JourneysWrite, Session, Temporal
from api.errors import ApiError, ErrorBody, NotFound
from api.journeys.inspection import JourneyInspection
from api.journeys.preview import definition_of, preview, send_test
from api.journeys.service import owned
from api.pagination import Page, TokenCursor, encode_cursor
from api.schemas.journey_inspection import (
    JourneyContactRow,
    JourneyExplanation,
    JourneyStats,
    PreviewRequest,
    RunStatus,
    SendTestRequest,
    SendTestResult,
    StepPreview,
)
from api.validation import MAX_SERIAL_ID, ResourceId
from domain.journeys import graph
from store.journeys import get_enrollment

router = APIRouter(prefix="/v1/journeys", tags=["journeys"])
Version = Annotated[int | None, Query(ge=1, le=MAX_SERIAL_ID, description="A published version; absent: the draft")]
SVG_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}


def inspection(settings: AppSettings, temporal: Temporal) -> JourneyInspection:
    return JourneyInspection(settings, temporal)


Inspection = Annotated[JourneyInspection, Depends(inspection)]


def _wants_text(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/plain" in accept and "application/json" not in accept


@router.get(
    "/{journey_id}/contacts/{contact_id}/explain",
    response_model=JourneyExplanation,
    responses={200: {"content": {"text/plain": {}}, "description": "JSON, or text/plain when Accept asks"}},
)
async def explain(
    journey_id: ResourceId,
    contact_id: ResourceId,
    request: Request,
    principal: JourneysRead,
    session: Session,
    inspect: Inspection,
) -> JourneyExplanation | Response:
    """The contact's run as a timeline: each step with its outcome and the reason recorded there, what it waits
    for, and a link to its execution in the Temporal UI. `Accept: text/plain` gets the text alone."""
    await owned(session, principal.workspace_id, journey_id)
    enrollment = await get_enrollment(session, principal.workspace_id, journey_id, contact_id)
    if enrollment is None:
        raise NotFound("the contact has not entered this journey", code="journey_enrollment_not_found")
    explained = await inspect.explain(enrollment)
    if _wants_text(request):
        return PlainTextResponse(f"{explained.text}Temporal UI: {explained.temporal_ui}\n")
    return explained


@router.get("/{journey_id}/contacts")
async def contacts(
    journey_id: ResourceId,
    principal: JourneysRead,
    session: Session,
    inspect: Inspection,
    node: Annotated[str | None, Query(max_length=64, description="The step contacts wait at (or ended at)")] = None,
    status: RunStatus | None = None,
    cursor: TokenCursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[JourneyContactRow]:
    """The journey's contacts (every version), from Temporal visibility: by step and status, newest first."""
    await owned(session, principal.workspace_id, journey_id)
    rows, position = await inspect.contacts(
        principal.workspace_id, journey_id, status=status, node=node, position=cursor, limit=limit
    )
    return Page[JourneyContactRow](data=rows, next_cursor=encode_cursor(position) if position else None)


@router.get("/{journey_id}/stats")
async def stats(
    journey_id: ResourceId, principal: JourneysRead, session: Session, inspect: Inspection, version: Version = None
) -> JourneyStats:
    """Entered, running per waiting step, completed, converted, exited, failed, and the holdout's conversion
    against the treatment's. Per-step counts are for the steps of `version` (default: the published one)."""
    journey = await owned(session, principal.workspace_id, journey_id)
    definition = await definition_of(session, journey, version or journey.published_version)
    return await inspect.stats(session, principal.workspace_id, journey_id, definition)


@router.get(
    "/{journey_id}/graph",
    responses={200: {"content": {"text/plain": {}, "image/svg+xml": {}}, "description": "Mermaid or SVG"}},
    response_class=Response,
)
async def draw(
    journey_id: ResourceId,
    principal: JourneysRead,
    session: Session,
    inspect: Inspection,
    format: Literal["mermaid", "svg"] = "mermaid",
    version: Version = None,
    counts: bool = True,
) -> Response:
    """The definition as a Mermaid flowchart or an SVG picture, each step labelled with its type and (`counts`)
    the contacts waiting at it now; edges labelled with the field naming the next step."""
    journey = await owned(session, principal.workspace_id, journey_id)
    definition = await definition_of(session, journey, version or journey.published_version)
    live: dict[str, int] | None = None
    headers = dict(SVG_HEADERS) if format == "svg" else {}
    if counts:
        try:
            waiting = [step.id for step in definition.steps if step.waits]
            live = await inspect.active_per_node(principal.workspace_id, journey_id, waiting)
        except ApiError:  # Temporal unavailable: the picture without counts, said in a header
            headers["X-Mauntic-Counts"] = "unavailable"
    if format == "svg":
        return Response(graph.svg(definition, live, title=journey.name), media_type="image/svg+xml", headers=headers)
    return PlainTextResponse(graph.mermaid(definition, live), headers=headers)


@router.post("/{journey_id}/steps/{step_id}/preview")
async def preview_step(
    journey_id: ResourceId,
    step_id: ResourceId,
    body: PreviewRequest,
    principal: JourneysRead,
    session: Session,
    version: Version = None,
) -> StepPreview:
    """The step's message rendered for a contact (`contact_id`) or a sample (`contact`), as its send would."""
    journey = await owned(session, principal.workspace_id, journey_id)
    return await preview(session, journey, step_id, version, body.contact_id, body.contact)


@router.post(
    "/{journey_id}/steps/{step_id}/test-send",
    responses={
        502: {"model": ErrorBody, "description": "test_send_failed: no provider took the email (why: the reason)"}
    },
)
async def send_test_step(
    journey_id: ResourceId,
    step_id: ResourceId,
    body: SendTestRequest,
    principal: JourneysWrite,
    session: Session,
    temporal: Temporal,
    version: Version = None,
) -> SendTestResult:
    """Sends the step's email once to `to` through the workspace's providers, subject marked `[Test]`: not a
    journey send (no message-log row, not counted by caps). Rendered for `contact_id` or `contact` if given."""
    journey = await owned(session, principal.workspace_id, journey_id)
    return await send_test(session, temporal, journey, step_id, version, body)
