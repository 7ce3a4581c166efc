"""Publishing checks every workspace object a journey names, in one place: each step says what it references
(StepBase.references), and each kind of reference has one existence check here (REFERENCE_CHECKS). An unknown one is
a 422 naming the node, the field and the code `unknown_<kind>`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Unprocessable
from domain.journeys.definition import JourneyDefinition
from domain.journeys.steps import Reference
from store.consent import topic_exists
from store.providers import provider_chain
from store.scoring_reads import score_group_exists
from store.segments import get_segment
from store.webhook_endpoints import endpoint_exists

ReferenceCheck = Callable[[AsyncSession, str, str], Awaitable[bool]]


async def _segment_exists(session: AsyncSession, workspace_id: str, segment_id: str) -> bool:
    return await get_segment(session, workspace_id, segment_id) is not None


async def _webhook_endpoint_exists(session: AsyncSession, workspace_id: str, value: str) -> bool:
    """An endpoint id, or (a webhook step's `url`) the URL of one of the workspace's endpoints."""
    return await endpoint_exists(session, workspace_id, value, by_url="://" in value)


async def _channel_configured(session: AsyncSession, workspace_id: str, channel: str) -> bool:
    """An SMS or push step needs at least one enabled provider on its channel (email has the deployment's relay)."""
    return channel == "email" or bool(await provider_chain(session, workspace_id, channel))


REFERENCE_CHECKS: dict[str, ReferenceCheck] = {
    "segment": _segment_exists,
    "score_group": score_group_exists,
    "webhook_endpoint": _webhook_endpoint_exists,
    "channel": _channel_configured,
    "consent_topic": topic_exists,
}


def trigger_references(definition: JourneyDefinition) -> list[Reference]:
    segment_id = definition.trigger.segment_entered
    return [Reference("segment", segment_id, "trigger.segment_entered")] if segment_id is not None else []


async def check_references(session: AsyncSession, workspace_id: str, definition: JourneyDefinition) -> None:
    """Raise Unprocessable for the first reference the workspace does not have."""
    nodes: list[tuple[str, list[Reference]]] = [("trigger", trigger_references(definition))]
    nodes += [(step.id, step.references()) for step in definition.steps]
    nodes += [
        (f"goals[{i}]", [Reference("segment", g.segment_entered, "segment_entered")])
        for i, g in enumerate(definition.goals)
        if g.segment_entered is not None
    ]
    nodes += [
        (f"exit_criteria[{i}]", [Reference("segment", c.segment_exited, "segment_exited")])
        for i, c in enumerate(definition.exit_criteria)
        if c.segment_exited is not None
    ]
    for node, references in nodes:
        for reference in references:
            check = REFERENCE_CHECKS.get(reference.kind)
            if check is None:  # a step type names a kind nobody checks: a programming error, caught by tests
                raise LookupError(f"no reference check for {reference.kind!r}")
            if not await check(session, workspace_id, reference.value):
                kind = reference.kind.replace("_", " ")
                message = f"{node}: field '{reference.field}': this workspace has no {kind} {reference.value!r}"
                if reference.kind == "channel":
                    message = (
                        f"{node}: this workspace has no {reference.value} provider: "
                        f"add one through /v1/providers before publishing a {reference.value} step"
                    )
                raise Unprocessable(message, code=f"unknown_{reference.kind}", details={"node": node})
