"""Sending domains: create one (with its DKIM key and the records to publish), follow its verification workflow,
check it now, delete it.

DNS is looked up by the worker, never here: check-now executes the short `SendingDomainCheck` workflow and answers
with its result (api/ imports no activity code)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.exc import IntegrityError
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import TemporalError
from temporalio.exceptions import TimeoutError as TemporalTimeout
from temporalio.service import RPCError, RPCStatusCode

from api.context import AppContext
from api.deps import DeliveryDelete, DeliveryRead, DeliveryWrite, Secrets, Session, Temporal, app_context
from api.errors import Conflict, NotFound, Unavailable, Unprocessable
from api.pagination import Cursor, Page, page_of
from api.schemas.sending_domains import (
    SendingDomainCreate,
    SendingDomainPublic,
    VerifyRequest,
    VerifyResult,
)
from api.validation import ResourceId
from domain.clock import utcnow
from domain.ids import new_id
from domain.sending_domains.names import InvalidDomain, normalize_domain
from domain.sending_domains.records import RecordSettings, expected_records
from domain.sending_domains.runtime import (
    CHECK_NOW_SIGNAL,
    CHECK_WORKFLOW,
    VERIFICATION_WORKFLOW,
    CheckNowSignal,
    CheckReport,
    CheckRequest,
    VerificationInput,
    check_workflow_id,
    recheck_schedule_id,
    verification_workflow_id,
)
from mauntic.dkim_keys import generate_key_pair
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.models import SendingDomain
from store.sending_domains import (
    delete_sending_domain,
    find_sending_domain,
    get_sending_domain,
    list_sending_domains,
)

router = APIRouter(prefix="/v1/sending-domains", tags=["sending domains"])
log = logging.getLogger("mauntic.api.sending_domains")
Context = Annotated[AppContext, Depends(app_context)]
RPC_TIMEOUT = timedelta(seconds=10)
RESULT_MARGIN = 5.0  # seconds the API waits past the check's execution timeout, for the timeout to be reported


def record_settings(settings: Settings) -> RecordSettings:
    return RecordSettings(
        spf_include=settings.spf_include,
        return_path_target=settings.return_path_target,
        tracking_target=settings.tracking_target,
    )


def _normalized(raw: str, field: str) -> str:
    try:
        return normalize_domain(raw)
    except InvalidDomain as exc:
        raise Unprocessable(str(exc), code="invalid_domain", details={"field": field, "value": raw[:300]}) from exc


async def _owned(session: Session, workspace_id: str, domain_id: str) -> SendingDomain:
    row = await get_sending_domain(session, workspace_id, domain_id)
    if row is None:
        raise NotFound(f"no sending domain {domain_id}", code="sending_domain_not_found")
    return row


def _verification_input(row: SendingDomain, settings: Settings) -> VerificationInput:
    return VerificationInput(
        workspace_id=row.workspace_id,
        domain_id=row.id,
        timeout_hours=settings.domain_verification_timeout_hours,
        recheck_interval_hours=settings.domain_recheck_interval_hours,
    )


async def _start_verification(client: Client, task_queue: str, request: VerificationInput, *, signal: bool) -> None:
    """Start the verification workflow; with `signal`, a running one is asked to check now (signal-with-start)."""
    await client.start_workflow(
        VERIFICATION_WORKFLOW,
        request,
        id=verification_workflow_id(request.workspace_id, request.domain_id),
        task_queue=task_queue,
        start_signal=CHECK_NOW_SIGNAL if signal else None,
        start_signal_args=[CheckNowSignal(reason="verify requested")] if signal else [],
        rpc_timeout=RPC_TIMEOUT,
    )


async def _check_now(temporal: TemporalGateway, request: CheckRequest, timeout: timedelta) -> CheckReport:
    """Execute the check-now workflow and wait for its report. A click while the same check (same domain and From
    domain) is under way joins it rather than running a second one that races it to save."""
    try:
        client = await temporal.client()
        async with asyncio.timeout(timeout.total_seconds() + RESULT_MARGIN):
            report: CheckReport = await client.execute_workflow(
                CHECK_WORKFLOW,
                request,
                id=check_workflow_id(request.workspace_id, request.domain_id, request.from_domain),
                task_queue=temporal.task_queue,
                result_type=CheckReport,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                execution_timeout=timeout,
                rpc_timeout=RPC_TIMEOUT,
            )
    except WorkflowFailureError as exc:
        if isinstance(exc.cause, TemporalTimeout):
            raise _check_timed_out(timeout) from exc
        raise Unavailable(f"the check failed: {exc.cause or exc}", code="sending_domain_check_failed") from exc
    except TimeoutError as exc:  # the result did not come in time either
        raise _check_timed_out(timeout) from exc
    except (TemporalError, RuntimeError, OSError) as exc:  # RPCError is a TemporalError; a failed connect RuntimeError
        raise Unavailable(f"Temporal cannot be reached: {exc}", code="temporal_unavailable") from exc
    return report


def _check_timed_out(timeout: timedelta) -> Unavailable:
    return Unavailable(
        f"the check did not finish within {timeout.total_seconds():g}s (is a worker running?); repeat the request",
        code="sending_domain_check_timed_out",
    )


@router.post("", status_code=201)
async def create_sending_domain(
    body: SendingDomainCreate,
    principal: DeliveryWrite,
    session: Session,
    secrets: Secrets,
    temporal: Temporal,
    context: Context,
) -> SendingDomainPublic:
    """Creates the domain with a new DKIM key and the records to publish, and starts its verification workflow."""
    domain = _normalized(body.domain, "domain")
    if await find_sending_domain(session, principal.workspace_id, domain) is not None:
        raise Conflict(f"{domain} is already a sending domain of this workspace", code="sending_domain_exists")
    now = utcnow()
    keys = await asyncio.to_thread(generate_key_pair, secrets, now)  # ~0.1 s of CPU: keep it off the event loop
    row = SendingDomain(
        id=new_id("sd"),
        workspace_id=principal.workspace_id,
        domain=domain,
        dkim_selector=keys.selector,
        dkim_private_key=keys.encrypted_private_key,
        dkim_public_key=keys.public_key_b64,
        records=[
            record.model_dump(mode="json")
            for record in expected_records(
                domain, keys.selector, keys.public_key_b64, record_settings(context.settings)
            )
        ],
        created_at=now,
    )
    session.add(row)
    try:
        await session.commit()
    except IntegrityError as exc:  # created concurrently
        raise Conflict(f"{domain} is already a sending domain of this workspace", code="sending_domain_exists") from exc
    try:
        await _start_verification(
            await temporal.client(), temporal.task_queue, _verification_input(row, context.settings), signal=False
        )
    except (RPCError, RuntimeError, OSError) as exc:  # no workflow, no domain: the request can simply be retried
        await delete_sending_domain(session, row)
        raise Unavailable(f"the verification could not be started: {exc}", code="temporal_unavailable") from exc
    return SendingDomainPublic.of(row)


@router.get("")
async def list_all(
    principal: DeliveryRead,
    session: Session,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[SendingDomainPublic]:
    rows = await list_sending_domains(session, principal.workspace_id, after=cursor, limit=limit + 1)
    page, next_cursor = page_of(rows, limit)
    return Page[SendingDomainPublic](data=[SendingDomainPublic.of(row) for row in page], next_cursor=next_cursor)


@router.get("/{domain_id}")
async def read_sending_domain(domain_id: ResourceId, principal: DeliveryRead, session: Session) -> SendingDomainPublic:
    return SendingDomainPublic.of(await _owned(session, principal.workspace_id, domain_id))


@router.post("/{domain_id}/verify")
async def verify_sending_domain(
    domain_id: ResourceId,
    principal: DeliveryWrite,
    session: Session,
    temporal: Temporal,
    context: Context,
    body: VerifyRequest | None = None,
) -> VerifyResult:
    """Checks the records now (in the worker) and saves the result; then asks the verification workflow to check
    now too (starting it again when it has ended, e.g. after a failed window, so a domain fixed later still gets
    verified and its re-check Schedule). 503 `temporal_unavailable` when Temporal cannot be reached,
    `sending_domain_check_timed_out` when no check finished in time."""
    row = await _owned(session, principal.workspace_id, domain_id)
    from_domain = _normalized(body.from_domain, "from_domain") if body and body.from_domain else None
    await session.commit()  # hold no database connection while the worker looks DNS up
    request = CheckRequest(workspace_id=row.workspace_id, domain_id=row.id, from_domain=from_domain)
    report = await _check_now(temporal, request, timedelta(seconds=context.settings.domain_check_timeout_seconds))
    if not report.exists or report.check is None or report.status is None:  # deleted meanwhile
        raise NotFound(f"no sending domain {domain_id}", code="sending_domain_not_found")
    result = VerifyResult.of(row, report.check, report.status, report.checked_at or utcnow())
    try:
        await _start_verification(
            await temporal.client(), temporal.task_queue, _verification_input(row, context.settings), signal=True
        )
    except (RPCError, RuntimeError, OSError) as exc:  # the check itself is done and saved; report it anyway
        log.warning("could not signal the verification of %s: %s", row.id, exc)
    return result


@router.delete("/{domain_id}", status_code=204)
async def delete(domain_id: ResourceId, principal: DeliveryDelete, session: Session, temporal: Temporal) -> Response:
    """Deletes the domain, cancels its verification and deletes its re-check Schedule. Should Temporal be
    unreachable, both end on their own at their next check, which finds the domain gone."""
    row = await _owned(session, principal.workspace_id, domain_id)
    await delete_sending_domain(session, row)
    try:
        client = await temporal.client()
        await _delete_recheck_schedule(client, principal.workspace_id, domain_id)
        await client.get_workflow_handle(verification_workflow_id(principal.workspace_id, domain_id)).cancel(
            rpc_timeout=RPC_TIMEOUT
        )
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            log.warning("could not stop the verification of %s: %s", domain_id, exc)
    except (RuntimeError, OSError) as exc:
        log.warning("could not stop the verification of %s: %s", domain_id, exc)
    return Response(status_code=204)


async def _delete_recheck_schedule(client: Client, workspace_id: str, domain_id: str) -> None:
    """Delete the domain's re-check Schedule; there is none until it was first verified."""
    try:
        await client.get_schedule_handle(recheck_schedule_id(workspace_id, domain_id)).delete(rpc_timeout=RPC_TIMEOUT)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
