"""Previews of a journey step's message, rendered for a contact (stored, or given as a sample) exactly as its send
renders it (domain/content/preview.py), a test send of it to one address, and the warnings of templates that
read variables nothing provides (domain/content/variables.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, TemporalError

from activities.journeys.contracts import (
    TEST_SEND_WORKFLOW,
    SendTestEmailInput,
    SendTestEmailOutput,
)
from api.errors import ApiError, NotFound, Unavailable, Unprocessable
from api.journeys.service import validated
from api.schemas.journey_inspection import (
    PreviewContact,
    SendTestRequest,
    SendTestResult,
    StepPreview,
    TemplateWarningPublic,
)
from domain.content.preview import preview_context, render_fields
from domain.content.templates import TemplateError
from domain.content.variables import template_warnings
from domain.ids import new_id
from domain.journeys.definition import JourneyDefinition, SendEmailStep
from domain.journeys.steps import StepBase
from mauntic.temporal import TemporalGateway
from store.contacts import company_fields, get_contact
from store.journey_inspection import attribute_keys
from store.journeys import get_version
from store.models import Contact, Journey

TEST_SUBJECT_PREFIX = "[Test] "
TEST_SEND_WAIT = timedelta(seconds=90)


async def definition_of(session: AsyncSession, journey: Journey, version: int | None) -> JourneyDefinition:
    """The draft (version None) or one published version of the journey."""
    if version is None:
        return validated(journey.definition)
    row = await get_version(session, journey.workspace_id, journey.id, version)
    if row is None:
        raise NotFound(f"journey {journey.id} has no version {version}", code="journey_version_not_found")
    return validated(row.definition)


def step_of(definition: JourneyDefinition, step_id: str) -> StepBase:
    try:
        return definition.step(step_id)
    except KeyError:
        raise NotFound(f"the journey has no step {step_id!r}", code="journey_step_not_found") from None


async def warnings_of(
    session: AsyncSession, workspace_id: str, definition: JourneyDefinition
) -> list[TemplateWarningPublic]:
    """Every template variable of the definition that renders empty, as warnings (never an error)."""
    templates = [(step.id, field, source) for step in definition.steps for field, source in step.templates().items()]
    if not templates:
        return []
    known = await attribute_keys(session, workspace_id)
    return [TemplateWarningPublic(**vars(w)) for w in template_warnings(templates, known)]


def _fields(contact: Contact) -> dict[str, Any]:
    return contact.model_dump()


async def _context(
    session: AsyncSession, workspace_id: str, contact_id: str | None, sample: PreviewContact | None
) -> dict[str, Any]:
    if contact_id is not None:
        contact = await get_contact(session, workspace_id, contact_id)
        if contact is None:
            raise NotFound(f"no contact {contact_id}", code="contact_not_found")
        return preview_context(_fields(contact), await company_fields(session, contact))
    return preview_context(sample.model_dump() if sample is not None else {})


def _rendered(step: StepBase, context: dict[str, Any]) -> dict[str, str]:
    templates = step.templates()
    if not templates:
        raise Unprocessable(
            f"{step.id}: a {step.type} step has no message to preview",
            code="step_has_no_content",
            details={"node": step.id},
        )
    try:
        return render_fields(templates, context)
    except TemplateError as exc:
        raise Unprocessable(f"{step.id}: {exc.message}", code="template_error", details={"node": step.id}) from exc


async def preview(
    session: AsyncSession,
    journey: Journey,
    step_id: str,
    version: int | None,
    contact_id: str | None,
    sample: PreviewContact | None,
) -> StepPreview:
    definition = await definition_of(session, journey, version)
    step = step_of(definition, step_id)
    rendered = _rendered(step, await _context(session, journey.workspace_id, contact_id, sample))
    warnings = [w for w in await warnings_of(session, journey.workspace_id, definition) if w.node == step_id]
    return StepPreview(journey_id=journey.id, step_id=step_id, type=step.type, rendered=rendered, warnings=warnings)


async def send_test(
    session: AsyncSession,
    temporal: TemporalGateway,
    journey: Journey,
    step_id: str,
    version: int | None,
    request: SendTestRequest,
) -> SendTestResult:
    """Renders the step (for the contact given, or a blank one) and sends it once to `request.to`, waiting for
    the provider's answer."""
    step = step_of(await definition_of(session, journey, version), step_id)
    if not isinstance(step, SendEmailStep):
        raise Unprocessable(
            f"{step_id}: test sends are for send_email steps", code="test_send_unsupported", details={"node": step_id}
        )
    rendered = _rendered(step, await _context(session, journey.workspace_id, request.contact_id, request.contact))
    test_id = new_id("tst")
    message = SendTestEmailInput(
        workspace_id=journey.workspace_id,
        journey_id=journey.id,
        step_id=step_id,
        test_id=test_id,
        sender=step.from_address,
        to=request.to,
        subject=TEST_SUBJECT_PREFIX + rendered["subject"],
        html=rendered.get("html"),
        text=rendered.get("text"),
    )
    try:
        client = await temporal.client()
        result: SendTestEmailOutput = await client.execute_workflow(
            TEST_SEND_WORKFLOW,
            message,
            id=f"test-send:{journey.workspace_id}:{test_id}",
            task_queue=temporal.task_queue,
            execution_timeout=TEST_SEND_WAIT,
            result_type=SendTestEmailOutput,
        )
    except WorkflowFailureError as exc:
        cause = exc.cause
        if isinstance(cause, ActivityError) and cause.cause is not None:
            cause = cause.cause  # the activity's own error, not its wrapper
        reason = str(cause) if cause is not None else str(exc)
        raise ApiError(
            f"the test email was not sent: {reason}",
            code="test_send_failed",
            status_code=502,
            details={"node": step_id},
        ) from exc
    except (TemporalError, RuntimeError, OSError) as exc:
        raise Unavailable(f"the test email could not be sent just now: {exc}", code="temporal_unavailable") from exc
    return SendTestResult(
        journey_id=journey.id,
        step_id=step_id,
        to=request.to,
        status="sent",
        provider=result.provider,
        provider_message_id=result.provider_message_id,
        rendered={**rendered, "subject": message.subject},
    )
