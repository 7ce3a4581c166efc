"""The journey workflow: walks one contact through one journey version, step by step.

One workflow per (journey, contact). The definition travels in the input when the dispatcher entered the contact
with a plain start; otherwise (older starts, recorded histories) it is loaded once per run by a local activity.
Events reach the journey as signals and are buffered, so an event that arrives before its wait_for_event step
still counts.

A send is first tried as a short local activity (no activity task round trip through the server); a transient
failure falls back to the regular activity with the long retry policy. Both run the same activity, whose message
-log row (pending -> sending -> sent/uncertain, under the step's idempotency key) keeps an email from going out
twice across the two paths: a local attempt cut off mid-send leaves the row `sending`, and the fallback then
records it `uncertain` rather than sending again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NoReturn

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.dead_letters.contracts import RECORD_DEAD_LETTER, RecordDeadLetterOutput
    from activities.journeys.contracts import (
        LOAD_JOURNEY_VERSION,
        RECORD_JOURNEY_DEAD_LETTER,
        SEND_JOURNEY_EMAIL,
        LoadJourneyVersionInput,
        LoadJourneyVersionOutput,
        RecordJourneyDeadLetterInput,
        RecordJourneyDeadLetterOutput,
        SendJourneyEmailInput,
        SendJourneyEmailOutput,
    )
    from domain.journeys.definition import (
        JourneyDefinition,
        SendEmailStep,
        Step,
        WaitForEventStep,
        WaitStep,
    )
    from domain.journeys.runtime import (
        EVENT_SIGNAL,
        STATE_QUERY,
        WORKFLOW_NAME,
        JourneyEventSignal,
        JourneyInput,
        JourneyResult,
        JourneyResume,
        JourneyState,
        StepRecord,
    )
    from workflows.journey_completion import announce_completion
    from workflows.journey_failures import non_retryable as _non_retryable
    from workflows.journey_failures import reason as _reason
    from workflows.journey_failures import send_dead_letter
    from workflows.search_attributes import SA_STEP

# workflow.patched() ids: each marks a change that recorded histories must still replay through.
STEP_ATTRIBUTE_ON_WAITS_ONLY = "step-attribute-on-waits-only"
DEAD_LETTER_ON_FAILURE = "dead-letter-on-failure"
SEND_LOCAL_FIRST = "send-local-first"
# Asked only where a send failed for good (a healthy journey pays no marker), as DEAD_LETTER_ON_FAILURE is: the
# marker follows the send's failure in the same workflow task, in the first run and in every replay (history
# journey_v4_send_failure_branch). Records a `send` dead letter and follows the step's on_failure branch.
SEND_FAILURE_BRANCH = "send-failure-branch"
# Asked only by a journey whose input says its workspace takes journey.completed (the dispatcher sets it), after
# its last step, in the workflow task that completes it (history journey_v5_announced_completion): other journeys
# pay no marker and no command.
ANNOUNCE_COMPLETION = "announce-completion"

LOAD_TIMEOUT = timedelta(seconds=10)
LOAD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
)
SEND_TIMEOUT = timedelta(seconds=60)
# Provider outages are measured in time, not attempts: retry with capped backoff for up to a day, after which
# the message is too stale to send and the journey fails visibly instead.
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=0,
)
SEND_GIVE_UP_AFTER = timedelta(days=1)
# The local first attempt: one try, long enough for the whole healthy path and for one provider to time out
# (SMTP 10 s, provider APIs 15 s: settings.smtp_timeout_seconds / provider_timeout_seconds) with the chain moving
# on; the activity stops starting providers 5 s before it. Short enough that a struggling provider hands over to
# the durable retries within half a minute. A local activity past ~80 % of the workflow task timeout (10 s)
# makes the worker heartbeat the task: extra workflow tasks, only on that slow path.
SEND_LOCAL_TIMEOUT = timedelta(seconds=30)
SEND_LOCAL_RETRY = RetryPolicy(maximum_attempts=1)
DEAD_LETTER_TIMEOUT = timedelta(seconds=10)
DEAD_LETTER_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
# Bounds on what the journey carries across continue-as-new (payloads are size-limited).
MAX_PENDING_EVENTS = 500
MAX_SEEN_EVENT_IDS = 2_000


@workflow.defn(name=WORKFLOW_NAME)
class JourneyWorkflow:
    @workflow.init
    def __init__(self, journey: JourneyInput) -> None:
        # Signals can be delivered before run() starts (signal-with-start), so all state is built here.
        resume = journey.resume
        self._input = journey
        self._pending: list[JourneyEventSignal] = list(resume.pending_events) if resume else []
        self._seen: dict[str, None] = dict.fromkeys(resume.seen_event_ids) if resume else {}
        self._resumed_deadline: datetime | None = resume.wait_deadline if resume else None
        self._waited_event_names: set[str] | None = None  # unknown until the definition is loaded
        self._step_attribute_on_waits_only = False  # decided by workflow.patched() as run() starts
        self._send_local_first = False  # likewise
        self._current = False  # started with its definition: every patched change applies (see run())
        self._state = JourneyState(
            workspace_id=journey.workspace_id,
            journey_id=journey.journey_id,
            version=journey.version,
            contact_id=journey.contact_id,
            history=list(resume.history) if resume else [],
        )

    @workflow.signal(name=EVENT_SIGNAL)
    def on_event(self, event: JourneyEventSignal) -> None:
        if event.event_id in self._seen or self._is_trigger(event.event_id):
            return
        if self._waited_event_names is not None and event.name not in self._waited_event_names:
            return  # no step waits for it; buffering it would only bloat the carried state
        self._seen[event.event_id] = None
        self._pending.append(event)
        if len(self._seen) > MAX_SEEN_EVENT_IDS:
            del self._seen[next(iter(self._seen))]
        if len(self._pending) > MAX_PENDING_EVENTS:
            del self._pending[0]

    def _is_trigger(self, event_id: str) -> bool:
        trigger = self._input.trigger
        return event_id == self._input.trigger_event_id or (trigger is not None and event_id == trigger.event_id)

    @workflow.query(name=STATE_QUERY)
    def state(self) -> JourneyState:
        return self._state.model_copy(update={"pending_events": len(self._pending)})

    @workflow.run
    async def run(self, journey: JourneyInput) -> JourneyResult:
        # Asked once, first thing, on every path: a patch check made only on some paths or after other commands
        # can land its marker where a replay does not ask for it (seen as a non-determinism error on queries).
        # A start that carries its definition came with this code (the dispatcher's plain start), so no history
        # of it predates these changes: they are simply on, without asking. Each patched() call costs a marker
        # event and an upsert of TemporalChangeVersion (a visibility write on the server) per journey. A change
        # made after this one must still be asked on every path, carried or not.
        self._current = journey.definition is not None
        self._step_attribute_on_waits_only = self._current or workflow.patched(STEP_ATTRIBUTE_ON_WAITS_ONLY)
        self._send_local_first = self._current or workflow.patched(SEND_LOCAL_FIRST)
        try:
            return await self._walk(journey)
        except ApplicationError as err:  # every way a journey fails for good raises one
            await self._dead_letter(err)
            raise

    async def _walk(self, journey: JourneyInput) -> JourneyResult:
        definition = await self._load_definition()
        self._waited_event_names = definition.wait_event_names()
        self._pending = [event for event in self._pending if event.name in self._waited_event_names]
        self._state.status = "running"
        step_id: str | None = journey.resume.step_id if journey.resume else definition.start
        last_step = step_id
        while step_id is not None:
            if workflow.info().is_continue_as_new_suggested():
                await self._continue_as_new(step_id)
            last_step = step_id
            step_id = await self._run_step(self._find_step(definition, step_id))
        self._state.status = "completed"
        self._state.current_step = None
        if last_step is not None and self._step_attribute_on_waits_only:
            workflow.upsert_search_attributes([SA_STEP.value_set(last_step)])  # where it finished
        if journey.announce_completion and workflow.patched(ANNOUNCE_COMPLETION):
            await announce_completion(self._input, last_step, len(self._state.history))
        return JourneyResult(status="completed", last_step=last_step, steps_run=len(self._state.history))

    async def _load_definition(self) -> JourneyDefinition:
        if self._input.definition is not None:  # carried by the start: no load, and the history explains itself
            return self._input.definition
        # Local: loading is a quick read, and a regular activity would cost extra workflow tasks per journey.
        try:
            loaded: LoadJourneyVersionOutput = await workflow.execute_local_activity(
                LOAD_JOURNEY_VERSION,
                LoadJourneyVersionInput(
                    workspace_id=self._input.workspace_id,
                    journey_id=self._input.journey_id,
                    version=self._input.version,
                ),
                result_type=LoadJourneyVersionOutput,
                start_to_close_timeout=LOAD_TIMEOUT,
                retry_policy=LOAD_RETRY,
            )
        except (ActivityError, ApplicationError) as err:  # a local activity's failure can arrive unwrapped
            raise ApplicationError(
                f"journey {self._input.journey_id} v{self._input.version} could not be loaded",
                type="JourneyVersionUnavailable",
                non_retryable=True,
            ) from err
        return loaded.definition

    async def _dead_letter(self, err: ApplicationError) -> None:
        """Make the failure visible where operators look: the state query says why, and a dead letter row is
        written (GET /v1/journeys/{id}/dead-letters). Only on the way to failing: no cost to a healthy journey."""
        self._state.status = "failed"
        self._state.error = _reason(err)
        if not (self._current or workflow.patched(DEAD_LETTER_ON_FAILURE)):
            return
        info = workflow.info()
        request = RecordJourneyDeadLetterInput(
            workspace_id=self._input.workspace_id,
            journey_id=self._input.journey_id,
            version=self._input.version,
            contact_id=self._input.contact_id,
            workflow_id=info.workflow_id,
            run_id=info.run_id,
            step_id=self._state.current_step,
            error_type=err.type or "ApplicationError",
            reason=self._state.error,
        )
        try:
            await workflow.execute_local_activity(
                RECORD_JOURNEY_DEAD_LETTER,
                request,
                result_type=RecordJourneyDeadLetterOutput,
                start_to_close_timeout=DEAD_LETTER_TIMEOUT,
                retry_policy=DEAD_LETTER_RETRY,
                schedule_to_close_timeout=timedelta(hours=1),
            )
        except (ActivityError, ApplicationError):
            workflow.logger.warning("journey %s: its dead letter could not be recorded", info.workflow_id)

    def _find_step(self, definition: JourneyDefinition, step_id: str) -> Step:
        try:
            return definition.step(step_id)
        except KeyError:
            self._state.status = "failed"
            raise ApplicationError(
                f"journey {self._input.journey_id} v{self._input.version} has no step {step_id!r}",
                type="UnknownStep",
                non_retryable=True,
            ) from None

    async def _run_step(self, step: Step) -> str | None:
        """Execute one step and return the id of the next one (None ends the journey)."""
        record = self._enter(step)
        next_step: str | None
        if isinstance(step, SendEmailStep):
            outcome, next_step = await self._send_email(step, record)
        elif isinstance(step, WaitStep):
            await self._wait(step.id, step.duration, lambda: False)
            outcome, next_step = "waited", step.next
        elif isinstance(step, WaitForEventStep):
            if await self._wait_for_event(step):
                outcome, next_step = "event", step.on_event
            else:
                outcome, next_step = "timeout", step.on_timeout
        else:
            outcome, next_step = "end", None
        record.finished_at = workflow.now()
        record.outcome = outcome
        return next_step

    def _enter(self, step: Step) -> StepRecord:
        history = self._state.history
        if history and history[-1].step_id == step.id and history[-1].finished_at is None:
            record = history[-1]  # resumed in the middle of this step after continue-as-new
        else:
            record = StepRecord(step_id=step.id, type=step.type, entered_at=workflow.now())
            history.append(record)
        self._state.current_step = step.id
        # Only where a contact can stay: each upsert is a visibility write on the server (measured ~6 ms of
        # server CPU per journey when done on every step). The `state` query is exact at any moment.
        if isinstance(step, WaitStep | WaitForEventStep) or not self._step_attribute_on_waits_only:
            workflow.upsert_search_attributes([SA_STEP.value_set(step.id)])
        return record

    async def _send_email(self, step: SendEmailStep, record: StepRecord) -> tuple[str, str | None]:
        """The step's outcome and the next step: `step.next` once sent, `step.on_failure` when the send failed
        for good and the step names a failure branch; without one the journey fails."""
        # Run-independent key: a retried or continued-as-new journey never sends the same step twice.
        request = SendJourneyEmailInput(
            workspace_id=self._input.workspace_id,
            journey_id=self._input.journey_id,
            version=self._input.version,
            step_id=step.id,
            contact_id=self._input.contact_id,
            idempotency_key=f"{workflow.info().workflow_id}:{step.id}",
        )
        try:
            sent = await self._send_local(request) if self._send_local_first else None
            if sent is None:
                sent = await workflow.execute_activity(
                    SEND_JOURNEY_EMAIL,
                    request,
                    result_type=SendJourneyEmailOutput,
                    start_to_close_timeout=SEND_TIMEOUT,
                    schedule_to_close_timeout=SEND_GIVE_UP_AFTER,
                    retry_policy=SEND_RETRY,
                )
        except (ActivityError, ApplicationError) as err:
            record.finished_at = workflow.now()
            record.outcome = "failed"
            if workflow.patched(SEND_FAILURE_BRANCH):
                await self._send_dead_letter(request, err)
                if step.on_failure is not None:
                    return "failed", step.on_failure
            self._state.status = "failed"
            raise ApplicationError(
                f"step {step.id!r}: sending the email failed", type="JourneyStepFailed", non_retryable=True
            ) from err
        return sent.status, step.next

    async def _send_dead_letter(self, request: SendJourneyEmailInput, err: ActivityError | ApplicationError) -> None:
        """The send as a dead letter (kind send, subject its idempotency key): replaying it runs the same send
        under the same key, so a message that went out meanwhile is not sent again."""
        info = workflow.info()
        try:
            await workflow.execute_local_activity(
                RECORD_DEAD_LETTER,
                send_dead_letter(request, err, info.workflow_id, info.run_id),
                result_type=RecordDeadLetterOutput,
                start_to_close_timeout=DEAD_LETTER_TIMEOUT,
                retry_policy=DEAD_LETTER_RETRY,
                schedule_to_close_timeout=timedelta(hours=1),
            )
        except (ActivityError, ApplicationError):
            workflow.logger.warning("journey %s: the send dead letter could not be recorded", info.workflow_id)

    async def _send_local(self, request: SendJourneyEmailInput) -> SendJourneyEmailOutput | None:
        """One short local attempt; None when it failed in a way a retry may fix (the caller falls back to the
        regular activity). A non-retryable failure (PermanentDeliveryError, TemplateError...) is raised."""
        try:
            sent: SendJourneyEmailOutput = await workflow.execute_local_activity(
                SEND_JOURNEY_EMAIL,
                request,
                result_type=SendJourneyEmailOutput,
                start_to_close_timeout=SEND_LOCAL_TIMEOUT,
                retry_policy=SEND_LOCAL_RETRY,
            )
        except (ActivityError, ApplicationError) as err:  # a local activity's failure can arrive unwrapped
            if _non_retryable(err):
                raise
            return None
        return sent

    async def _wait_for_event(self, step: WaitForEventStep) -> bool:
        """True when a matching event was consumed, False when the step timed out."""
        self._state.waiting_for_event = step.event
        try:
            matched = await self._wait(step.id, step.timeout, lambda: self._first_match(step) is not None)
        finally:
            self._state.waiting_for_event = None
        return matched and self._consume_first_match(step)

    def _first_match(self, step: WaitForEventStep) -> int | None:
        for index, event in enumerate(self._pending):
            if step.accepts(event.name, event.properties):
                return index
        return None

    def _consume_first_match(self, step: WaitForEventStep) -> bool:
        index = self._first_match(step)
        if index is None:
            return False
        del self._pending[index]
        return True

    async def _wait(self, step_id: str, length: timedelta, done: Callable[[], bool]) -> bool:
        """Wait until done() or for `length`; True if done() held. May continue as new mid-wait."""
        deadline = self._resumed_deadline or workflow.now() + length
        self._resumed_deadline = None
        self._state.wait_until = deadline
        try:
            remaining = deadline - workflow.now()
            if done() or remaining <= timedelta(0):
                return done()
            # Signals arriving during a long wait grow history; continue as new here rather than only
            # between steps, keeping the same deadline.
            await workflow.wait_condition(
                lambda: done() or workflow.info().is_continue_as_new_suggested(), timeout=remaining
            )
        except TimeoutError:  # asyncio.TimeoutError is TimeoutError on 3.11+
            return False
        finally:
            self._state.wait_until = None
        if not done():
            await self._continue_as_new(step_id, deadline)
        return True

    async def _continue_as_new(self, step_id: str, wait_deadline: datetime | None = None) -> NoReturn:
        await workflow.wait_condition(workflow.all_handlers_finished)
        resume = JourneyResume(
            step_id=step_id,
            pending_events=self._pending,
            seen_event_ids=list(self._seen),
            history=self._state.history,
            wait_deadline=wait_deadline,
        )
        workflow.continue_as_new(self._input.model_copy(update={"resume": resume}))
