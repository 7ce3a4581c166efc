"""The journey workflow: walks one contact through one journey version, step by step.

One workflow per (journey, contact). The definition travels in the input when the dispatcher entered the contact
with a plain start; otherwise (older starts, recorded histories, migrations) it is loaded once per run by a local
activity. Events reach the journey as signals and are buffered, so an event that arrives before its wait_for_event
step still counts. What each step type does lives in workflows/steps (RUNNERS); this class is the run around them:
its state, its signals (events, control, notices), the one way to wait, and how a run ends: completed, failed,
converted (a goal), exited (an exit criterion, a stop) or moved to another version (a migration).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NoReturn

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.journeys.contracts import LOAD_JOURNEY_VERSION, LoadJourneyVersionInput, LoadJourneyVersionOutput
    from domain.journeys.definition import JourneyDefinition, Step
    from domain.journeys.runtime import (
        CONTROL_SIGNAL,
        EVENT_SIGNAL,
        NOTICE_SIGNAL,
        STATE_QUERY,
        WORKFLOW_NAME,
        JourneyControl,
        JourneyEventSignal,
        JourneyExit,
        JourneyInput,
        JourneyNotice,
        JourneyResult,
        JourneyResume,
        JourneyState,
        StepRecord,
    )
    from workflows.journey_completion import announce_completion
    from workflows.journey_exits import (
        criteria_exit,
        exit_record,
        finish_search_attributes,
        interrupt_for,
        migrated_search_attributes,
    )
    from workflows.journey_failures import reason as _reason
    from workflows.journey_failures import record_journey_dead_letter
    from workflows.journey_patches import (
        ANNOUNCE_COMPLETION,
        DEAD_LETTER_ON_FAILURE,
        SEND_LOCAL_FIRST,
        STEP_ATTRIBUTE_ON_WAITS_ONLY,
    )
    from workflows.search_attributes import SA_STEP
    from workflows.steps import RUNNERS, Interrupted, StepOutcome
    from workflows.steps.tasks import cancel_open_task

LOAD_TIMEOUT = timedelta(seconds=10)
LOAD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
)
# Bounds on what the journey carries across continue-as-new (payloads are size-limited).
MAX_PENDING_EVENTS = 500
MAX_SEEN_EVENT_IDS = 2_000
MAX_NOTICES = 100


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
        self._notices: list[JourneyNotice] = list(resume.notices) if resume else []
        self._paused = resume.paused if resume else journey.paused
        self._exit: JourneyExit | None = resume.exit if resume else None
        self._migration: JourneyControl | None = None  # applied where the contact stands (interrupt_for)
        self._definition: JourneyDefinition | None = journey.definition
        self._waited_event_names: set[str] | None = None  # unknown until the definition is loaded
        self._record: StepRecord | None = None
        self._step_attribute_on_waits_only = False  # decided by workflow.patched() as run() starts
        self._send_local_first = False  # likewise
        self._current = False  # started with its definition: every patched change applies (see run())
        self._state = JourneyState(
            workspace_id=journey.workspace_id,
            journey_id=journey.journey_id,
            version=journey.version,
            contact_id=journey.contact_id,
            history=list(resume.history) if resume else [],
            paused=self._paused,
            holdout=resume.holdout if resume else False,
        )

    # -- signals and the query -------------------------------------------------------------------------------

    @workflow.signal(name=EVENT_SIGNAL)
    def on_event(self, event: JourneyEventSignal) -> None:
        if event.event_id in self._seen or self._is_trigger(event.event_id):
            return
        if self._exit is None and self._definition is not None:  # a goal or exit criterion acts at once
            self._exit = criteria_exit(self._definition, event)
        if self._waited_event_names is not None and event.name not in self._waited_event_names:
            return  # no step waits for it; buffering it would only bloat the carried state
        self._seen[event.event_id] = None
        self._pending.append(event)
        if len(self._seen) > MAX_SEEN_EVENT_IDS:
            del self._seen[next(iter(self._seen))]
        if len(self._pending) > MAX_PENDING_EVENTS:
            del self._pending[0]

    @workflow.signal(name=CONTROL_SIGNAL)
    def on_control(self, control: JourneyControl) -> None:
        if control.action == "pause":
            self._paused = True
        elif control.action == "resume":
            self._paused = False
        elif control.action == "stop" and self._exit is None:
            self._exit = JourneyExit(kind="stop", reason=control.reason or "the journey was stopped")
        elif control.action == "migrate" and control.version not in (None, self._input.version):
            self._migration = control
        self._state.paused = self._paused

    @workflow.signal(name=NOTICE_SIGNAL)
    def on_notice(self, notice: JourneyNotice) -> None:
        if any(n.kind == notice.kind and n.key == notice.key for n in self._notices):
            return  # a repeated answer (a retried API call) counts once
        self._notices.append(notice)
        if len(self._notices) > MAX_NOTICES:
            del self._notices[0]

    def _is_trigger(self, event_id: str) -> bool:
        trigger = self._input.trigger
        return event_id == self._input.trigger_event_id or (trigger is not None and event_id == trigger.event_id)

    @workflow.query(name=STATE_QUERY)
    def query_state(self) -> JourneyState:
        return self._state.model_copy(update={"pending_events": len(self._pending)})

    # -- what step runners see (workflows.steps.context.JourneyRun) ---------------------------------------------

    @property
    def input(self) -> JourneyInput:
        return self._input

    @property
    def state(self) -> JourneyState:
        return self._state

    @property
    def definition(self) -> JourneyDefinition:
        if self._definition is None:
            raise RuntimeError("the definition is not loaded yet")
        return self._definition

    @property
    def send_local_first(self) -> bool:
        return self._send_local_first

    @property
    def record(self) -> StepRecord:
        if self._record is None:
            raise RuntimeError("no step is running")
        return self._record

    def idempotency_key(self, step_id: str, suffix: str = "") -> str:
        key = f"{workflow.info().workflow_id}:{step_id}"
        if self._input.entry > 1:
            key += f":e{self._input.entry}"
        return f"{key}:{suffix}" if suffix else key

    def pending_events(self) -> list[JourneyEventSignal]:
        return self._pending

    def take_notice(self, kind: str, key: str) -> JourneyNotice | None:
        for index, notice in enumerate(self._notices):
            if notice.kind == kind and notice.key == key:
                return self._notices.pop(index)
        return None

    def _interrupt(self, step_id: str) -> JourneyExit | None:
        if self._exit is None and self._migration is not None:
            self._exit = interrupt_for(self._migration, step_id)
            self._migration = None
        return self._exit

    async def wait(
        self, step_id: str, length: timedelta | None, done: Callable[[], bool], *, until: datetime | None = None
    ) -> bool:
        deadline = self._resumed_deadline or until or (workflow.now() + length if length is not None else None)
        self._resumed_deadline = None
        self._state.wait_until = deadline

        def stopped() -> bool:
            return self._interrupt(step_id) is not None

        try:
            remaining = deadline - workflow.now() if deadline is not None else None
            if done() or stopped() or (remaining is not None and remaining <= timedelta(0)):
                if stopped():
                    raise Interrupted(self._exit)  # type: ignore[arg-type]
                return done()
            # Signals arriving during a long wait grow history; continue as new here rather than only
            # between steps, keeping the same deadline.
            await workflow.wait_condition(
                lambda: done() or stopped() or workflow.info().is_continue_as_new_suggested(), timeout=remaining
            )
        except TimeoutError:  # asyncio.TimeoutError is TimeoutError on 3.11+
            return False
        finally:
            self._state.wait_until = None
        if stopped():
            raise Interrupted(self._exit)  # type: ignore[arg-type]
        if not done():
            await self._continue_as_new(step_id, deadline)
        return True

    async def hold_while_paused(self) -> None:
        if not self._paused:
            return
        step_id = self.record.step_id
        self._state.waiting_for = "the journey to be resumed"
        try:
            await workflow.wait_condition(lambda: not self._paused or self._interrupt(step_id) is not None)
        finally:
            self._state.waiting_for = None
        if self._exit is not None:
            raise Interrupted(self._exit)

    # -- the run ----------------------------------------------------------------------------------------------

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
        self._definition = definition
        self._waited_event_names = definition.wait_event_names()
        for early in self._pending:  # signalled before the definition was loaded
            self._exit = self._exit or criteria_exit(definition, early)
        self._pending = [event for event in self._pending if event.name in self._waited_event_names]
        self._state.status = "running"
        step_id: str | None = journey.resume.step_id if journey.resume else definition.start
        last_step = step_id
        try:
            while step_id is not None:
                if self._interrupt(step_id) is not None:
                    raise Interrupted(self._exit)  # type: ignore[arg-type]
                if workflow.info().is_continue_as_new_suggested():
                    await self._continue_as_new(step_id)
                last_step = step_id
                step_id = await self._run_step(self._find_step(definition, step_id))
        except Interrupted as stop:
            return await self._stopped(stop.exit, last_step)
        self._state.status = "completed"
        self._state.current_step = None
        if last_step is not None and self._step_attribute_on_waits_only:
            workflow.upsert_search_attributes([SA_STEP.value_set(last_step)])  # where it finished
        if journey.announce_completion and workflow.patched(ANNOUNCE_COMPLETION):
            await announce_completion(self._input, last_step, len(self._state.history))
        return JourneyResult(status="completed", last_step=last_step, steps_run=len(self._state.history))

    async def _stopped(self, stop: JourneyExit, last_step: str | None) -> JourneyResult:
        """A goal, an exit criterion, a stop or a migration ended the run where it stood (a pending timer is
        simply abandoned: the run completes, and its timer with it)."""
        await cancel_open_task(self._state, stop)  # a task step's open task (no command for other steps)
        exit_record(self._state, stop, workflow.now())
        if stop.kind == "migrate" and stop.version is not None and stop.node is not None:
            await self._migrate(stop.version, stop.node)
        self._state.status = "converted" if stop.kind == "goal" else "exited"
        self._state.exit = stop
        self._state.current_step = None
        workflow.upsert_search_attributes(finish_search_attributes(last_step, self._state.status))
        if self._input.announce_completion and workflow.patched(ANNOUNCE_COMPLETION):
            await announce_completion(self._input, last_step, len(self._state.history))
        return JourneyResult(
            status=self._state.status, last_step=last_step, steps_run=len(self._state.history), exit=stop
        )

    async def _migrate(self, version: int, node: str) -> NoReturn:
        """Continue on another version, at the node the migration's map names (the new run loads it)."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        resume = self._resume(node)
        resume.exit = None
        workflow.upsert_search_attributes(migrated_search_attributes(version, node))
        moved = self._input.model_copy(update={"version": version, "definition": None, "resume": resume})
        workflow.continue_as_new(moved)

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
        """Make the failure visible where operators look (workflows/journey_failures.py)."""
        self._state.status = "failed"
        self._state.error = _reason(err)
        if self._current or workflow.patched(DEAD_LETTER_ON_FAILURE):
            await record_journey_dead_letter(self._input, self._state, err)

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
        outcome: StepOutcome = await RUNNERS[step.type](self, step)
        record.finished_at = workflow.now()
        record.outcome = outcome.outcome
        record.reason = outcome.reason
        record.detail = outcome.detail
        return outcome.next_step

    def _enter(self, step: Step) -> StepRecord:
        history = self._state.history
        if history and history[-1].step_id == step.id and history[-1].finished_at is None:
            record = history[-1]  # resumed in the middle of this step after continue-as-new
        else:
            record = StepRecord(step_id=step.id, type=step.type, entered_at=workflow.now())
            history.append(record)
        self._record = record
        self._state.current_step = step.id
        # Only where a contact can stay: each upsert is a visibility write on the server (measured ~6 ms of
        # server CPU per journey when done on every step). The `state` query is exact at any moment.
        if step.waits or not self._step_attribute_on_waits_only:
            workflow.upsert_search_attributes([SA_STEP.value_set(step.id)])
        return record

    def _resume(self, step_id: str, wait_deadline: datetime | None = None) -> JourneyResume:
        return JourneyResume(
            step_id=step_id,
            pending_events=self._pending,
            seen_event_ids=list(self._seen),
            history=self._state.history,
            wait_deadline=wait_deadline,
            notices=self._notices,
            paused=self._paused,
            exit=self._exit,
            holdout=self._state.holdout,
        )

    async def _continue_as_new(self, step_id: str, wait_deadline: datetime | None = None) -> NoReturn:
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self._input.model_copy(update={"resume": self._resume(step_id, wait_deadline)}))
