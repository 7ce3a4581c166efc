"""Journey inspection through Temporal visibility: the contacts in a journey, its stats, a contact's run explained,
and links into the Temporal Web UI.

Set-based: lists and counts are visibility queries on the search attributes each run carries
(workflows/search_attributes.py), never a query per contact. What the dev server (SQLite visibility) supports, and
so what is used here: `=`, `!=`, `IN`, `IS NULL` on custom keyword/bool attributes, and `GROUP BY ExecutionStatus`
only (GROUP BY a custom attribute is refused: "not supported for search attribute MaunticStep"), no ORDER BY. Hence
one count per waiting step for the counts per node, run concurrently.

A run's status, from its execution status and MaunticOutcome: running (Running), converted / exited (MaunticOutcome),
completed (Completed without an outcome), failed (Failed, Terminated, TimedOut). Runs that continued as new are left
out (their successor is the run that counts).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from datetime import timedelta
from urllib.parse import quote, urlencode

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from api.errors import INVALID_CURSOR, Unavailable, Unprocessable
from api.journey_state import contact_state
from api.schemas.journey_inspection import (
    HoldoutStats,
    JourneyContactRow,
    JourneyExplanation,
    JourneyStats,
    RunStatus,
)
from domain.journeys.definition import JourneyDefinition
from domain.journeys.explain import explain_text, timeline
from domain.journeys.steps import STEP_ID_PATTERN
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.journey_inspection import entered_count
from store.models import JourneyEnrollment
from workflows.search_attributes import SA_CONTACT, SA_HOLDOUT, SA_OUTCOME, SA_STEP, SA_VERSION

STATUS_CLAUSES: dict[str, str] = {
    "running": "ExecutionStatus = 'Running'",
    "completed": "ExecutionStatus = 'Completed' AND MaunticOutcome IS NULL",
    "converted": "MaunticOutcome = 'converted'",
    "exited": "MaunticOutcome = 'exited'",
    "failed": "ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut')",
}
_FAILED = {WorkflowExecutionStatus.FAILED, WorkflowExecutionStatus.TERMINATED, WorkflowExecutionStatus.TIMED_OUT}
_COUNT_CONCURRENCY = 8
VISIBILITY_TIMEOUT = timedelta(seconds=10)


def _literal(value: str) -> str:
    """A visibility query string literal; the values put here are ids we made, refused otherwise."""
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,200}", value):
        raise Unprocessable(f"'{value}' cannot be searched for", code="invalid_filter")
    return f"'{value}'"


def journey_query(workspace_id: str, journey_id: str, status: str | None = None, node: str | None = None) -> str:
    """The executions of a journey (every version), optionally in one status and at one step."""
    clauses = [
        f"MaunticWorkspace = {_literal(workspace_id)}",
        f"MaunticJourney = {_literal(journey_id)}",
        "ExecutionStatus != 'ContinuedAsNew'",
    ]
    if status is not None:
        clauses.append(STATUS_CLAUSES[status])
    if node is not None:
        if not re.fullmatch(STEP_ID_PATTERN, node):
            raise Unprocessable(f"'{node}' is not a step id", code="invalid_node")
        clauses.append(f"MaunticStep = {_literal(node)}")
    return " AND ".join(clauses)


class TemporalLinks:
    """Where the Temporal Web UI shows an execution, or a list of them (MAUNTIC_TEMPORAL_UI_URL)."""

    def __init__(self, settings: Settings) -> None:
        self._base = f"{settings.temporal_ui_base}/namespaces/{quote(settings.temporal_namespace, safe='')}"

    def workflow(self, workflow_id: str, run_id: str | None = None) -> str:
        link = f"{self._base}/workflows/{quote(workflow_id, safe='')}"
        return f"{link}/{quote(run_id, safe='')}" if run_id else link

    def search(self, query: str) -> str:
        return f"{self._base}/workflows?{urlencode({'query': query})}"


def encode_token(token: bytes) -> str:
    return base64.urlsafe_b64encode(token).rstrip(b"=").decode()


def decode_token(position: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(position + "=" * (-len(position) % 4))
    except (binascii.Error, ValueError) as exc:
        raise Unprocessable("cursor is not one this API returned", code=INVALID_CURSOR) from exc


def run_status(execution: WorkflowExecution) -> str:
    outcome = execution.typed_search_attributes.get(SA_OUTCOME)
    if outcome in ("converted", "exited"):
        return outcome
    if execution.status == WorkflowExecutionStatus.RUNNING:
        return "running"
    if execution.status == WorkflowExecutionStatus.COMPLETED:
        return "completed"
    if execution.status in _FAILED:
        return "failed"
    return execution.status.name.lower() if execution.status else "unknown"


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class JourneyInspection:
    def __init__(self, settings: Settings, temporal: TemporalGateway) -> None:
        self.links = TemporalLinks(settings)
        self._temporal = temporal

    async def client(self) -> Client:
        try:
            return await self._temporal.client()
        except (RuntimeError, OSError) as exc:
            raise Unavailable(f"Temporal cannot be reached: {exc}", code="temporal_unavailable") from exc

    async def explain(self, enrollment: JourneyEnrollment) -> JourneyExplanation:
        state = await contact_state(await self.client(), enrollment)
        return JourneyExplanation(
            contact_id=enrollment.contact_id,
            workflow_id=enrollment.workflow_id,
            version=state.version,
            status=state.status,
            current_node=state.current_step,
            waiting_for=state.waiting_for,
            wait_until=state.wait_until,
            timeline=timeline(state),
            text=explain_text(state),
            temporal_ui=self.links.workflow(enrollment.workflow_id),
        )

    async def contacts(
        self,
        workspace_id: str,
        journey_id: str,
        *,
        status: RunStatus | None,
        node: str | None,
        position: str | None,
        limit: int,
    ) -> tuple[list[JourneyContactRow], str | None]:
        """One page of the journey's executions and the position of the next (None on the last)."""
        query = journey_query(workspace_id, journey_id, status, node)
        client = await self.client()
        token = decode_token(position) if position else None
        try:
            pages = client.list_workflows(query, page_size=limit, next_page_token=token, rpc_timeout=VISIBILITY_TIMEOUT)
            await pages.fetch_next_page()
        except RPCError as exc:
            if token is not None and exc.status == RPCStatusCode.INVALID_ARGUMENT:  # a page token of another list
                raise Unprocessable("cursor is not one of this list", code=INVALID_CURSOR) from exc
            raise _visibility_failed(exc) from exc
        rows = [self._row(execution) for execution in pages.current_page or []]
        next_token = pages.next_page_token
        return rows, (encode_token(next_token) if next_token and rows else None)

    def _row(self, execution: WorkflowExecution) -> JourneyContactRow:
        attributes = execution.typed_search_attributes
        return JourneyContactRow(
            contact_id=attributes.get(SA_CONTACT) or "",
            workflow_id=execution.id,
            run_id=execution.run_id,
            status=run_status(execution),
            node=attributes.get(SA_STEP),
            version=attributes.get(SA_VERSION),
            holdout=bool(attributes.get(SA_HOLDOUT)),
            started_at=execution.start_time,
            closed_at=execution.close_time,
            temporal_ui=self.links.workflow(execution.id, execution.run_id),
        )

    async def active_per_node(self, workspace_id: str, journey_id: str, nodes: list[str]) -> dict[str, int]:
        """Running contacts at each of `nodes` (the steps a contact can stay at)."""
        client = await self.client()
        limit = asyncio.Semaphore(_COUNT_CONCURRENCY)

        async def count(node: str) -> int:
            async with limit:
                return await _count(client, journey_query(workspace_id, journey_id, "running", node))

        counts = await asyncio.gather(*(count(node) for node in nodes))
        return dict(zip(nodes, counts, strict=True))

    async def stats(
        self, session: AsyncSession, workspace_id: str, journey_id: str, definition: JourneyDefinition
    ) -> JourneyStats:
        entered = await entered_count(session, workspace_id, journey_id)
        base = journey_query(workspace_id, journey_id)
        client = await self.client()
        waiting = [step.id for step in definition.steps if step.waits]
        holdout = f"{base} AND MaunticHoldout = true"
        by_status, active, (converted, exited, completed, in_holdout, holdout_converted) = await asyncio.gather(
            _count_by_status(client, base),
            self.active_per_node(workspace_id, journey_id, waiting),
            _counts(
                client,
                journey_query(workspace_id, journey_id, "converted"),
                journey_query(workspace_id, journey_id, "exited"),
                journey_query(workspace_id, journey_id, "completed"),
                holdout,
                f"{holdout} AND {STATUS_CLAUSES['converted']}",
            ),
        )
        runs = sum(by_status.values())
        treatment, treatment_converted = runs - in_holdout, converted - holdout_converted
        holdout_rate, treatment_rate = _rate(holdout_converted, in_holdout), _rate(treatment_converted, treatment)
        lift = None if holdout_rate is None or treatment_rate is None else round(treatment_rate - holdout_rate, 4)
        return JourneyStats(
            journey_id=journey_id,
            entered=entered,
            running=by_status.get("Running", 0),
            active=active,
            completed=completed,
            converted=converted,
            exited=exited,
            failed=sum(by_status.get(name, 0) for name in ("Failed", "Terminated", "TimedOut")),
            conversion_rate=_rate(converted, entered),
            holdout=HoldoutStats(
                holdout=in_holdout,
                holdout_converted=holdout_converted,
                holdout_rate=holdout_rate,
                treatment=treatment,
                treatment_converted=treatment_converted,
                treatment_rate=treatment_rate,
                lift=lift,
            ),
            temporal_ui={
                "all": self.links.search(base),
                **{name: self.links.search(journey_query(workspace_id, journey_id, name)) for name in STATUS_CLAUSES},
            },
        )


def _visibility_failed(exc: RPCError) -> Unavailable:
    return Unavailable(f"Temporal visibility could not answer: {exc.message}", code="temporal_unavailable")


async def _count(client: Client, query: str) -> int:
    try:
        return (await client.count_workflows(query, rpc_timeout=VISIBILITY_TIMEOUT)).count
    except RPCError as exc:
        raise _visibility_failed(exc) from exc


async def _counts(client: Client, *queries: str) -> list[int]:
    return list(await asyncio.gather(*(_count(client, query) for query in queries)))


async def _count_by_status(client: Client, query: str) -> dict[str, int]:
    """Executions per ExecutionStatus (the one GROUP BY visibility supports)."""
    try:
        counted = await client.count_workflows(f"{query} GROUP BY ExecutionStatus", rpc_timeout=VISIBILITY_TIMEOUT)
    except RPCError as exc:
        raise _visibility_failed(exc) from exc
    return {str(group.group_values[0]): group.count for group in counted.groups}
