"""The calendar forms of `wait` and the wait_for_event lookback on the time-skipping server.

The two local activities are faked by WaitHarness under their real names, on in-memory contacts and calendars,
with the same pure deadline arithmetic the real activity uses (its database side: tests/activities/journeys)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.journeys.contracts import (
    COMPUTE_WAIT_DEADLINE,
    FIND_EARLIER_EVENT,
    ComputeWaitDeadlineInput,
    ComputeWaitDeadlineOutput,
    FindEarlierEventInput,
    FindEarlierEventOutput,
)
from activities.journeys.waits import JourneyWaitActivities
from domain.ids import new_id
from domain.journeys.conditions import all_match
from domain.journeys.holiday_calendar import HolidayCalendar
from domain.journeys.runtime import (
    CONTROL_SIGNAL,
    EVENT_SIGNAL,
    JourneyControl,
    JourneyEventSignal,
    JourneyResult,
    JourneyResume,
    JourneyState,
    StepRecord,
)
from domain.journeys.wait_deadlines import wait_deadline
from store.models import Contact, Event
from store.workspaces import NewWorkspace
from tests.workflows.conftest import TRIGGER_EVENT_ID, JourneyHarness
from tests.workflows.test_journey_workflow import state_when
from workflows.journey import JourneyWorkflow

NY = ZoneInfo("America/New_York")


@dataclass
class StoredEvent:
    event_id: str
    name: str
    timestamp: datetime
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class WaitHarness(JourneyHarness):
    zone: ZoneInfo = NY
    attributes: dict[str, Any] = field(default_factory=dict)
    calendar: HolidayCalendar = field(default_factory=HolidayCalendar)
    events: list[StoredEvent] = field(default_factory=list)
    deadline_requests: list[ComputeWaitDeadlineInput] = field(default_factory=list)
    lookback_requests: list[FindEarlierEventInput] = field(default_factory=list)

    @activity.defn(name=COMPUTE_WAIT_DEADLINE)
    async def compute_wait_deadline(self, request: ComputeWaitDeadlineInput) -> ComputeWaitDeadlineOutput:
        self.deadline_requests.append(request)
        found = wait_deadline(request.step, request.started_at, self.zone, self.attributes, self.calendar)
        return ComputeWaitDeadlineOutput(until=found.until, reason=found.reason, timezone=self.zone.key)

    @activity.defn(name=FIND_EARLIER_EVENT)
    async def find_earlier_event(self, request: FindEarlierEventInput) -> FindEarlierEventOutput:
        self.lookback_requests.append(request)
        for event in sorted(self.events, key=lambda e: e.timestamp, reverse=True):
            if (
                event.name == request.step.event
                and request.since <= event.timestamp <= request.until
                and event.event_id not in request.exclude_ids
                and all_match(request.step.where, event.properties)
            ):
                return FindEarlierEventOutput(event_id=event.event_id, timestamp=event.timestamp)
        return FindEarlierEventOutput()

    def extra_activities(self) -> list[Any]:
        return [self.compute_wait_deadline, self.find_earlier_event]


@pytest.fixture
async def waits(env: WorkflowEnvironment) -> AsyncIterator[WaitHarness]:
    harness = WaitHarness(env)
    async with harness.worker():
        yield harness


def journey(wait: dict[str, Any]) -> dict[str, Any]:
    return {
        "trigger": {"event": "signed_up"},
        "start": "pause",
        "steps": [
            {"id": "pause", "type": "wait", **wait, "next": "followup"},
            {"id": "followup", "type": "send_email", "subject": "Hi", "text": "hi"},
        ],
    }


async def skip_to(env: WorkflowEnvironment, instant: datetime) -> None:
    now = await env.get_current_time()
    assert now < instant, "the test server's clock is past the instant the test needs"
    await env.sleep(instant - now)


def next_local(env_now: datetime, zone: ZoneInfo, weekday: int, at: time, *, after: date | None = None) -> datetime:
    """The next `weekday` (0 = Monday) at local `at`, at least two days after `env_now` (or after `after`)."""
    day = (after or env_now.astimezone(zone).date()) + timedelta(days=2)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def next_dst_sunday(after: datetime, zone: ZoneInfo) -> date:
    """The next day after `after` on which `zone` changes its UTC offset (a Sunday in New York)."""
    day = after.astimezone(zone).date() + timedelta(days=2)
    while True:
        before = datetime.combine(day, time(0), tzinfo=zone).utcoffset()
        if datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).utcoffset() != before:
            return day
        day += timedelta(days=1)


def offset(day: date) -> timedelta:
    found = datetime.combine(day, time(0), tzinfo=NY).utcoffset()
    assert found is not None
    return found


async def finished_record(handle: WorkflowHandle[JourneyWorkflow, JourneyResult]) -> StepRecord:
    await handle.result()
    state: JourneyState = await handle.query(JourneyWorkflow.query_state)
    [record] = [record for record in state.history if record.step_id == "pause"]
    return record


async def test_until_a_time_of_day_across_a_dst_night(waits: WaitHarness) -> None:
    sunday = next_dst_sunday(await waits.env.get_current_time(), NY)
    saturday_ten = datetime.combine(sunday - timedelta(days=1), time(10), tzinfo=NY).astimezone(UTC)
    await skip_to(waits.env, saturday_ten)

    record = await finished_record(await waits.start(journey({"until": {"time": "09:00"}})))

    nine_on_sunday = datetime.combine(sunday, time(9), tzinfo=NY).astimezone(UTC)
    change = offset(sunday + timedelta(days=1)) - offset(sunday)
    assert record.outcome == "waited"
    assert record.detail["until"] == nine_on_sunday.isoformat()
    assert record.finished_at is not None
    assert record.finished_at >= nine_on_sunday
    # 23 hours of wall clock, less the hour the clocks sprang forward (or plus the hour they fell back)
    assert timedelta(hours=23) - change - timedelta(minutes=1) < nine_on_sunday - record.entered_at
    assert nine_on_sunday - record.entered_at <= timedelta(hours=23) - change
    assert "until 09:00 in America/New_York" in (record.reason or "")
    assert waits.sent_steps == ["followup"]


async def test_business_days_skip_a_weekend_and_a_holiday(waits: WaitHarness) -> None:
    friday_three = next_local(await waits.env.get_current_time(), NY, 4, time(15))
    monday = friday_three.astimezone(NY).date() + timedelta(days=3)
    waits.calendar = HolidayCalendar(extra_dates=[monday])
    await skip_to(waits.env, friday_three)

    record = await finished_record(await waits.start(journey({"business_days": {"days": 1, "time": "09:00"}})))

    tuesday_nine = datetime.combine(monday + timedelta(days=1), time(9), tzinfo=NY).astimezone(UTC)
    assert record.detail["until"] == tuesday_nine.isoformat()
    assert record.finished_at is not None
    assert record.finished_at >= tuesday_nine
    assert record.entered_at < datetime.combine(monday, time(0), tzinfo=NY)  # it did wait over the weekend
    assert record.detail["form"] == "business_days"


async def test_until_three_days_before_the_renewal_date(waits: WaitHarness) -> None:
    now = await waits.env.get_current_time()
    renewal = now.astimezone(NY).date() + timedelta(days=10)
    waits.attributes = {"renewal_date": renewal.isoformat()}

    wait = {"until_attribute": {"attribute": "renewal_date", "offset": "-P3D", "time": "09:00"}}
    record = await finished_record(await waits.start(journey(wait)))

    expected = datetime.combine(renewal - timedelta(days=3), time(9), tzinfo=NY).astimezone(UTC)
    assert record.outcome == "waited"
    assert record.detail["until"] == expected.isoformat()
    assert record.finished_at is not None
    assert record.finished_at >= expected
    [request] = waits.deadline_requests
    assert request.started_at == record.entered_at  # workflow time, not the worker's clock


async def test_a_missing_attribute_goes_on_at_once_saying_why(waits: WaitHarness) -> None:
    wait = {"until_attribute": {"attribute": "renewal_date", "offset": "-P3D"}}
    record = await finished_record(await waits.start(journey(wait)))

    assert record.outcome == "skipped"
    assert record.reason == "the contact has no 'renewal_date' attribute: not waiting"
    assert record.finished_at is not None
    assert record.finished_at - record.entered_at < timedelta(minutes=1)
    assert waits.sent_steps == ["followup"]


async def test_a_stop_ends_a_calendar_wait_at_once(waits: WaitHarness) -> None:
    handle = await waits.start(journey({"business_days": {"days": 30}}))
    await waits.env.sleep(timedelta(hours=1))  # well inside the wait

    await handle.signal(CONTROL_SIGNAL, JourneyControl(action="stop", reason="campaign cancelled"))
    result = await handle.result()

    assert result.status == "exited"
    assert waits.sent_steps == []
    state: JourneyState = await handle.query(JourneyWorkflow.query_state)
    [record] = state.history
    assert (record.step_id, record.outcome, record.reason) == ("pause", "stop", "campaign cancelled")
    assert record.finished_at is not None
    assert record.finished_at - record.entered_at < timedelta(days=1)  # not the 30 business days


async def test_a_plain_duration_asks_no_activity(waits: WaitHarness) -> None:
    await (await waits.start(journey({"duration": "PT1H"}))).result()
    assert waits.deadline_requests == []


def wait_for_order(**extra: Any) -> dict[str, Any]:
    return {
        "trigger": {"event": "Cart Abandoned"},
        "start": "wait_order",
        "steps": [
            {
                "id": "wait_order",
                "type": "wait_for_event",
                "event": "Order Completed",
                "where": [{"property": "total", "op": "gte", "value": 10}],
                "timeout": "PT2H",
                "on_event": "thanks",
                "on_timeout": "reminder",
                **extra,
            },
            {"id": "thanks", "type": "send_email", "subject": "Thanks", "text": "thanks"},
            {"id": "reminder", "type": "send_email", "subject": "Forgot?", "text": "come back"},
        ],
    }


async def test_an_earlier_event_within_the_lookback_takes_on_event_at_once(waits: WaitHarness) -> None:
    now = await waits.env.get_current_time()
    waits.events = [
        StoredEvent("evt-old", "Order Completed", now - timedelta(days=9), {"total": 50}),  # outside the window
        StoredEvent("evt-small", "Order Completed", now - timedelta(hours=3), {"total": 5}),  # fails `where`
        StoredEvent(TRIGGER_EVENT_ID, "Order Completed", now - timedelta(hours=2), {"total": 50}),  # the trigger
        StoredEvent("evt-match", "Order Completed", now - timedelta(days=2), {"total": 20}),
    ]
    handle = await waits.start(wait_for_order(lookback="P7D"))
    await handle.result()

    state = await handle.query(JourneyWorkflow.query_state)
    [record] = [r for r in state.history if r.step_id == "wait_order"]
    assert (record.outcome, record.detail["event_id"], record.detail["lookback"]) == ("event", "evt-match", True)
    assert record.reason == "'Order Completed': matched an earlier event within lookback 7 days, 0:00:00"
    assert waits.sent_steps == ["thanks"]
    [request] = waits.lookback_requests
    assert (request.until - request.since, request.until) == (timedelta(days=7), record.entered_at)
    assert TRIGGER_EVENT_ID in request.exclude_ids


async def test_without_an_earlier_match_the_step_waits_as_before(waits: WaitHarness) -> None:
    handle = await waits.start(wait_for_order(lookback="P1D"))
    await state_when(handle, lambda s: s.waiting_for_event == "Order Completed")  # the lookback was asked
    await handle.signal(
        EVENT_SIGNAL,
        JourneyEventSignal(
            event_id="evt-live", name="Order Completed", properties={"total": 99}, timestamp=datetime.now(UTC)
        ),
    )
    await handle.result()

    assert len(waits.lookback_requests) == 1
    assert waits.sent_steps == ["thanks"]


async def test_without_a_lookback_no_activity_runs(waits: WaitHarness) -> None:
    await (await waits.start(wait_for_order())).result()
    assert waits.lookback_requests == []
    assert waits.sent_steps == ["reminder"]


async def test_a_wait_resumed_after_continue_as_new_keeps_its_deadline(waits: WaitHarness) -> None:
    now = await waits.env.get_current_time()
    entered = now - timedelta(days=3)
    deadline = now + timedelta(hours=1)
    resume = JourneyResume(
        step_id="pause",
        history=[StepRecord(step_id="pause", type="wait", entered_at=entered)],
        wait_deadline=deadline,
    )
    handle = await waits.start(journey({"business_days": {"days": 30}}), waits.journey_input(resume=resume))

    record = await finished_record(handle)

    [request] = waits.deadline_requests
    assert request.started_at == entered  # computed from when the step started, not when the run resumed
    assert record.finished_at is not None
    assert deadline <= record.finished_at < deadline + timedelta(minutes=1)
    assert waits.sent_steps == ["followup"]


@dataclass
class DatabaseWaitHarness(WaitHarness):
    """The real wait activities on the test database instead of the in-memory fakes."""

    real: JourneyWaitActivities | None = None

    def extra_activities(self) -> list[Any]:
        assert self.real is not None
        return self.real.all()


async def test_the_real_activities_drive_a_renewal_wait_and_a_lookback(
    env: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    harness = DatabaseWaitHarness(env, real=JourneyWaitActivities(sessions))
    now = await env.get_current_time()
    renewal = (now + timedelta(days=5)).astimezone(NY).date()
    ws = workspace.workspace.id
    async with sessions() as session:
        contact = Contact(
            id=new_id("ct"), workspace_id=ws, timezone="America/New_York", attributes={"renewal_date": str(renewal)}
        )
        session.add(contact)
        await session.flush()
        earlier = now - timedelta(days=2)
        session.add(
            Event(id=new_id("ev"), workspace_id=ws, message_id=new_id("m"), type="track", name="Order Completed",
                  contact_id=contact.id, properties={"total": 30}, timestamp=earlier, received_at=earlier)
        )  # fmt: skip
        await session.commit()
    definition = journey({"until_attribute": {"attribute": "renewal_date", "offset": "-P3D", "time": "09:00"}})
    theirs = {"workspace_id": ws, "contact_id": contact.id}
    async with harness.worker():
        renewal_wait = await harness.start(definition, harness.journey_input().model_copy(update=theirs))
        record = await finished_record(renewal_wait)
        orders = harness.journey_input().model_copy(update={**theirs, "journey_id": "orders"})
        looked_back = await harness.start(wait_for_order(lookback="P7D"), orders)
        await looked_back.result()
        state: JourneyState = await looked_back.query(JourneyWorkflow.query_state)

    expected = datetime.combine(renewal - timedelta(days=3), time(9), tzinfo=NY).astimezone(UTC)
    assert (record.outcome, record.detail["until"], record.detail["timezone"]) == (
        "waited",
        expected.isoformat(),
        "America/New_York",
    )
    assert state.history[0].detail["lookback"] is True
    assert harness.sent_steps == ["followup", "thanks"]
