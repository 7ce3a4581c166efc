"""Control of a journey's running contacts as a set: pause, resume, stop, migrate to another version (each one
Temporal batch operation, api/journeys/control.py), and the progress of those operations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from api.context import AppContext
from api.deps import JourneysPublish, JourneysRead, Session, app_context
from api.errors import NotFound, Unprocessable
from api.journeys.control import JourneyControlService
from api.journeys.service import JourneyService, owned
from api.schemas.journey_control import (
    JourneyControlRequest,
    JourneyMigrate,
    JourneyOperationPublic,
    MigrationInvalid,
    MigrationNode,
    MigrationReport,
)
from api.validation import ResourceId
from domain.clock import utcnow
from domain.journeys.definition import JourneyDefinition
from domain.journeys.migration import MigrationPlan, plan_migration
from domain.journeys.runtime import JourneyControl
from store.audit import record_audit
from store.journeys import get_version
from store.models import Journey

router = APIRouter(prefix="/v1/journeys", tags=["journeys"])


def control_service(context: Annotated[AppContext, Depends(app_context)]) -> JourneyControlService:
    return JourneyControlService(context.temporal, context.settings)


def journey_service(context: Annotated[AppContext, Depends(app_context)]) -> JourneyService:
    return context.journeys


Control = Annotated[JourneyControlService, Depends(control_service)]
Journeys = Annotated[JourneyService, Depends(journey_service)]


async def _set_paused(session: Session, journeys: JourneyService, journey: Journey, paused: bool) -> None:
    """Stored before the batch starts, so contacts entering from now on start paused (or not); dispatchers are
    told at once (they would otherwise notice within their cache's two seconds)."""
    journey.paused_at = utcnow() if paused else None
    journey.updated_at = utcnow()
    session.add(journey)
    await session.commit()
    await journeys.changed(session, journey.workspace_id)


@router.post("/{journey_id}/pause", status_code=202)
async def pause(
    journey_id: ResourceId,
    principal: JourneysPublish,
    session: Session,
    journeys: Journeys,
    control: Control,
    body: JourneyControlRequest | None = None,
) -> JourneyOperationPublic:
    """Holds every running contact's sends (a send due while paused waits for the resume); waits keep running,
    and contacts entering while paused start with their sends held. 202: one batch operation signals them all;
    its progress is at GET /v1/journeys/{id}/operations/{operation id}."""
    journey = await owned(session, principal.workspace_id, journey_id)
    await _set_paused(session, journeys, journey, True)
    reason = body.reason if body else None
    return JourneyOperationPublic.of(
        await control.signal_all(journey_id, JourneyControl(action="pause", reason=reason))
    )


@router.post("/{journey_id}/resume", status_code=202)
async def resume(
    journey_id: ResourceId,
    principal: JourneysPublish,
    session: Session,
    journeys: Journeys,
    control: Control,
    body: JourneyControlRequest | None = None,
) -> JourneyOperationPublic:
    """Releases the held sends of every running contact; contacts entering from now on are not held."""
    journey = await owned(session, principal.workspace_id, journey_id)
    await _set_paused(session, journeys, journey, False)
    reason = body.reason if body else None
    operation = await control.signal_all(journey_id, JourneyControl(action="resume", reason=reason))
    return JourneyOperationPublic.of(operation)


@router.post("/{journey_id}/stop", status_code=202)
async def stop(
    journey_id: ResourceId,
    principal: JourneysPublish,
    session: Session,
    journeys: Journeys,
    control: Control,
    body: JourneyControlRequest | None = None,
) -> JourneyOperationPublic:
    """Ends the journey: it is archived (no contact enters any more) and every running contact exits where it
    stands (a pending wait is abandoned, not waited out; the exit is recorded with the reason)."""
    journey = await owned(session, principal.workspace_id, journey_id)
    journey.paused_at = None
    await journeys.archive(session, journey)
    reason = (body.reason if body else None) or "the journey was stopped"
    return JourneyOperationPublic.of(await control.signal_all(journey_id, JourneyControl(action="stop", reason=reason)))


@router.get("/{journey_id}/operations/{operation_id}")
async def operation(
    journey_id: ResourceId, operation_id: ResourceId, principal: JourneysRead, session: Session, control: Control
) -> JourneyOperationPublic:
    """An operation's progress, as Temporal's batcher reports it (total selected, done, failed)."""
    await owned(session, principal.workspace_id, journey_id)
    return JourneyOperationPublic.of(await control.operation(journey_id, operation_id))


async def _definition(session: Session, journey: Journey, version: int) -> JourneyDefinition:
    row = await get_version(session, journey.workspace_id, journey.id, version)
    if row is None:
        raise NotFound(f"the journey has no version {version}", code="journey_version_not_found")
    return JourneyDefinition.model_validate(row.definition)


async def _plan(session: Session, journey: Journey, body: JourneyMigrate) -> tuple[JourneyDefinition, MigrationPlan]:
    old = await _definition(session, journey, body.from_version)
    if body.exit:
        return old, plan_migration(old, old, {}, "exit")
    if body.to_version is None:
        raise Unprocessable("to_version is required (or exit: true)", code="migration_target_missing")
    if body.to_version == body.from_version:
        raise Unprocessable("to_version must differ from from_version", code="migration_same_version")
    new = await _definition(session, journey, body.to_version)
    plan = plan_migration(old, new, body.node_map, body.unmapped)
    if plan.invalid:
        first = plan.invalid[0]
        invalid = [{"node": i.node, "code": i.code, "message": i.message} for i in plan.invalid]
        raise Unprocessable(
            f"{first.node}: {first.message}", code=first.code, details={"node": first.node, "invalid": invalid}
        )
    return old, plan


@router.post("/{journey_id}/migrate", responses={202: {"model": MigrationReport}})
async def migrate(
    journey_id: ResourceId,
    body: JourneyMigrate,
    principal: JourneysPublish,
    session: Session,
    control: Control,
    response: Response,
) -> MigrationReport:
    """Moves the running contacts of one version onto another (node_map: old node -> new node; contacts at an
    unmapped node exit, or stay on their version), or exits them all (exit: true). The dry run (the default)
    counts the contacts at each node of the old version and changes nothing; dry_run false confirms, and answers
    202 with the batch operation. A map naming a node either version does not have is 422, naming the node."""
    journey = await owned(session, principal.workspace_id, journey_id)
    old, plan = await _plan(session, journey, body)
    total, counts = await control.counts(journey_id, body.from_version, list(plan.old_nodes))
    nodes = [
        MigrationNode(
            node=step.id,
            type=step.type,
            contacts=counts[step.id],
            fate=plan.fate(step.id),
            target=plan.node_map.get(step.id),
        )
        for step in old.steps
    ]
    report = MigrationReport(
        dry_run=body.dry_run,
        from_version=body.from_version,
        to_version=None if body.exit else body.to_version,
        exit=body.exit,
        total=total,
        elsewhere=max(0, total - sum(counts.values())),
        nodes=nodes,
        mapped=plan.mapped,
        unmapped=plan.unmapped_nodes,
        invalid=[MigrationInvalid(node=i.node, code=i.code, message=i.message) for i in plan.invalid],
    )
    if body.dry_run:
        return report
    if body.exit:
        reason = body.reason or f"exited: version {body.from_version} was retired"
        signal = JourneyControl(action="stop", reason=reason)
    else:
        signal = JourneyControl(
            action="migrate",
            reason=body.reason,
            version=body.to_version,
            node_map=plan.node_map,
            unmapped=plan.unmapped,
        )
    operation = await control.signal_all(journey_id, signal, version=body.from_version)
    # not a row change (the contacts move in Temporal): recorded as the operation it is, once it has started
    await record_audit(
        session, workspace_id=journey.workspace_id, action="journey.exited" if body.exit else "journey.migrated",
        target_type="journey", target_id=journey.id, before={"version": body.from_version},
        after={"version": report.to_version, "node_map": plan.node_map, "unmapped": plan.unmapped,
               "contacts": total, "operation_id": operation.id, "reason": body.reason},
    )  # fmt: skip
    await session.commit()
    response.status_code = 202
    return report.model_copy(update={"operation": JourneyOperationPublic.of(operation)})
