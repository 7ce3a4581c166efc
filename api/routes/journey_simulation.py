"""POST /v1/journeys/{id}/simulate: a synthetic contact and a script of timed events in, the exact timeline of
steps and sends out. Run by the real journey workflow on a time-skipping test server; no message leaves."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import JourneysRead, Session, Temporal
from api.errors import ErrorBody, NotFound, Unprocessable
from api.journeys.service import owned, validated
from api.journeys.simulation import simulate as run_simulation
from api.schemas.journey_simulation import JourneySimulate, offset_of
from api.validation import ResourceId
from domain.clock import utcnow
from domain.journeys.definition import JourneyDefinition
from domain.journeys.simulation import SimulatedContact, SimulatedEvent, SimulationRequest, SimulationResult
from store.calendars import workspace_time
from store.journeys import get_version
from store.send_policy import workspace_send_policy

router = APIRouter(prefix="/v1/journeys", tags=["journeys"])


@router.post(
    "/{journey_id}/simulate",
    responses={
        503: {"model": ErrorBody, "description": "simulation_unavailable: no test server binary; temporal_unavailable"},
        504: {"model": ErrorBody, "description": "simulation_timeout: the engine took longer than its budget"},
    },
)
async def simulate(
    journey_id: ResourceId, body: JourneySimulate, principal: JourneysRead, session: Session, temporal: Temporal
) -> SimulationResult:
    """Runs the journey for a synthetic contact (attributes, time zone) with a script of events (`at`: "+PT2H"
    after it entered, or an ISO-8601 instant), for `until` of journey time (default P30D, at most P400D): the
    timeline of each node entered (when, the outcome and why) and each send (when, channel, node). The engine is
    the journey workflow's own code on a time-skipping Temporal test server (see docs/journeys/control.md);
    sends are recorded, never sent. 503 `simulation_unavailable` without the test server binary, 504
    `simulation_timeout` when it takes longer than a minute."""
    journey = await owned(session, principal.workspace_id, journey_id)
    version = body.version or journey.published_version
    if version is None:  # never published: the draft
        definition = validated(journey.definition)
    else:
        row = await get_version(session, principal.workspace_id, journey_id, version)
        if row is None:
            raise NotFound(f"the journey has no version {version}", code="journey_version_not_found")
        definition = JourneyDefinition.model_validate(row.definition)
    now = utcnow()
    events = []
    for index, event in enumerate(body.events):
        try:
            offset = offset_of(event.at, now)
        except ValueError as exc:
            raise Unprocessable(
                f"events[{index}]: {exc}", code="simulation_event_invalid", details={"event": index}
            ) from exc
        if offset.total_seconds() < 0:
            raise Unprocessable(
                f"events[{index}] is before the contact enters (now)",
                code="simulation_event_in_past",
                details={"event": index},
            )
        events.append(SimulatedEvent(offset=offset, name=event.name, properties=event.properties))
    workspace = await workspace_time(session, principal.workspace_id)
    request = SimulationRequest(
        workspace_id=principal.workspace_id,
        journey_id=journey_id,
        version=version or 0,
        definition=definition,
        contact=SimulatedContact(attributes=body.contact.attributes, timezone=body.contact.timezone),
        events=events,
        until=body.until,
        trigger_properties=body.trigger_properties,
        workspace_policy=await workspace_send_policy(session, principal.workspace_id),
        workspace_timezone=workspace.timezone if workspace else None,
    )
    result = await run_simulation(temporal, request)
    return result.model_copy(update={"version": version})
