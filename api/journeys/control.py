"""Set-based control of a journey's running contacts: one Temporal batch operation signals every execution a
visibility query selects (pause, resume, stop, a migration onto another version), and reports its progress.

Nothing is sent contact by contact from here: the server's batcher walks the query and signals each execution
(CONTROL_SIGNAL with a JourneyControl), so pausing 100,000 contacts is one request. The operation's id is the
batch job's id, which names the journey (`<journey id>.<action>.<random>`): reading an operation needs no table,
and an operation of another journey (or workspace) is not found.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from temporalio.api.batch.v1 import BatchOperationSignal
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import BatchOperationState
from temporalio.api.workflowservice.v1 import (
    DescribeBatchOperationRequest,
    DescribeBatchOperationResponse,
    StartBatchOperationRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.errors import Conflict, NotFound, Unavailable
from domain.journeys.runtime import CONTROL_SIGNAL, JourneyControl
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway

RPC_TIMEOUT = timedelta(seconds=10)
COUNT_CONCURRENCY = 8  # visibility counts of a dry run in flight at once
IDENTITY = "mauntic-api"

OperationState = Literal["running", "completed", "failed"]
_STATES: dict[int, OperationState] = {
    BatchOperationState.BATCH_OPERATION_STATE_RUNNING: "running",
    BatchOperationState.BATCH_OPERATION_STATE_COMPLETED: "completed",
    BatchOperationState.BATCH_OPERATION_STATE_FAILED: "failed",
}


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def running_query(journey_id: str, version: int | None = None, step: str | None = None) -> str:
    """The visibility query of a journey's running contacts (of one version, at one node)."""
    query = f"MaunticJourney = {_quoted(journey_id)}"
    if version is not None:
        query += f" AND MaunticJourneyVersion = {int(version)}"
    if step is not None:
        query += f" AND MaunticStep = {_quoted(step)}"
    return query + " AND ExecutionStatus = 'Running'"


@dataclass(frozen=True)
class Operation:
    id: str
    journey_id: str
    action: str
    state: OperationState
    total: int
    done: int
    failed: int
    started_at: datetime | None
    finished_at: datetime | None
    temporal_ui: str | None


def _parts(operation_id: str) -> tuple[str, str] | None:
    journey_id, _, rest = operation_id.partition(".")
    action, _, token = rest.partition(".")
    return (journey_id, action) if journey_id and action and token else None


class JourneyControlService:
    def __init__(self, temporal: TemporalGateway, settings: Settings) -> None:
        self._temporal = temporal
        self._namespace = settings.temporal_namespace
        self._ui = settings.temporal_ui_base

    async def _client(self) -> Client:
        try:
            return await self._temporal.client()
        except (RuntimeError, OSError) as exc:
            raise Unavailable(f"Temporal cannot be reached: {exc}", code="temporal_unavailable") from exc

    def ui_link(self, operation_id: str) -> str | None:
        return f"{self._ui}/namespaces/{self._namespace}/batch-operations/{operation_id}" if self._ui else None

    async def count(self, query: str) -> int:
        client = await self._client()
        return (await client.count_workflows(query, rpc_timeout=RPC_TIMEOUT)).count

    async def counts(self, journey_id: str, version: int, nodes: list[str]) -> tuple[int, dict[str, int]]:
        """How many running contacts of the version there are, and how many sit at each node (its MaunticStep)."""
        gate = asyncio.Semaphore(COUNT_CONCURRENCY)

        async def one(node: str | None) -> int:
            async with gate:
                return await self.count(running_query(journey_id, version, node))

        total, *each = await asyncio.gather(one(None), *(one(node) for node in nodes))
        return total, dict(zip(nodes, each, strict=True))

    async def signal_all(self, journey_id: str, control: JourneyControl, *, version: int | None = None) -> Operation:
        """Start the batch operation signalling `control` to every running contact (of `version`)."""
        client = await self._client()
        operation_id = f"{journey_id}.{control.action}.{uuid.uuid4().hex[:12]}"
        control = control.model_copy(update={"operation_id": operation_id})
        query = running_query(journey_id, version)
        total = await self.count(query)  # the batcher counts too, later: this is the figure the 202 can give
        payloads = await client.data_converter.encode([control])
        request = StartBatchOperationRequest(
            namespace=self._namespace,
            visibility_query=query,
            job_id=operation_id,
            reason=control.reason or f"journey {journey_id}: {control.action}",
            signal_operation=BatchOperationSignal(
                signal=CONTROL_SIGNAL, input=Payloads(payloads=payloads), identity=IDENTITY
            ),
        )
        try:
            await client.workflow_service.start_batch_operation(request, timeout=RPC_TIMEOUT)
        except RPCError as exc:
            if exc.status == RPCStatusCode.RESOURCE_EXHAUSTED:
                raise Conflict(
                    f"Temporal runs as many batch operations as it allows at once; retry when one ends ({exc.message})",
                    code="journey_operation_limit",
                ) from exc
            if exc.status == RPCStatusCode.UNIMPLEMENTED:
                raise Unavailable("this Temporal server has no batch operations", code="batch_unavailable") from exc
            raise
        return Operation(
            id=operation_id,
            journey_id=journey_id,
            action=control.action,
            state="running",
            total=total,
            done=0,
            failed=0,
            started_at=None,
            finished_at=None,
            temporal_ui=self.ui_link(operation_id),
        )

    async def operation(self, journey_id: str, operation_id: str) -> Operation:
        parts = _parts(operation_id)
        if parts is None or parts[0] != journey_id:
            raise NotFound(f"no operation {operation_id} on this journey", code="journey_operation_not_found")
        client = await self._client()
        try:
            described: DescribeBatchOperationResponse = await client.workflow_service.describe_batch_operation(
                DescribeBatchOperationRequest(namespace=self._namespace, job_id=operation_id), timeout=RPC_TIMEOUT
            )
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise NotFound(f"no operation {operation_id}", code="journey_operation_not_found") from exc
            raise
        return Operation(
            id=operation_id,
            journey_id=journey_id,
            action=parts[1],
            state=_STATES.get(described.state, "running"),
            total=described.total_operation_count,
            done=described.complete_operation_count,
            failed=described.failure_operation_count,
            started_at=described.start_time.ToDatetime(tzinfo=UTC) if described.HasField("start_time") else None,
            finished_at=described.close_time.ToDatetime(tzinfo=UTC) if described.HasField("close_time") else None,
            temporal_ui=self.ui_link(operation_id),
        )
