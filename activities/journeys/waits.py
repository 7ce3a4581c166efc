"""What the calendar waits need from the database, as local activities (one quick read each, inside a step):

- the deadline of a `wait` in its until / until_attribute / business_days form: the contact's time zone (its own,
  else the workspace's) and attributes, the workspace's holiday calendar, then the pure arithmetic of
  domain/journeys/wait_deadlines.py;
- for a wait_for_event step with a lookback, the latest event the contact did within the window before the step.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.journeys.contracts import (
    COMPUTE_WAIT_DEADLINE,
    FIND_EARLIER_EVENT,
    ComputeWaitDeadlineInput,
    ComputeWaitDeadlineOutput,
    FindEarlierEventInput,
    FindEarlierEventOutput,
)
from domain.journeys.conditions import all_match
from domain.journeys.holiday_calendar import HolidayCalendar
from domain.journeys.local_time import contact_zone
from domain.journeys.wait_deadlines import WaitDeadline, business_days, until_attribute, until_time
from store.calendars import workspace_time
from store.event_lookback import recent_events
from store.models import Contact


class JourneyWaitActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name=COMPUTE_WAIT_DEADLINE)
    async def compute_wait_deadline(self, request: ComputeWaitDeadlineInput) -> ComputeWaitDeadlineOutput:
        async with self._sessions() as session:
            found = await workspace_time(session, request.workspace_id)
            contact = await session.get(Contact, request.contact_id)
        if contact is not None and contact.workspace_id != request.workspace_id:
            contact = None
        zone = contact_zone(contact.timezone if contact else None, found.timezone if found else None)
        calendar = found.calendar if found else HolidayCalendar()
        step, now = request.step, request.started_at
        deadline: WaitDeadline
        if step.until is not None:
            deadline = until_time(step.until, now, zone)
        elif step.until_attribute is not None:
            deadline = until_attribute(step.until_attribute, now, zone, contact.attributes if contact else {})
        elif step.business_days is not None:
            try:
                deadline = business_days(step.business_days, now, zone, calendar)
            except ValueError as err:
                deadline = WaitDeadline(None, f"{err}: not waiting")
        else:
            raise ApplicationError(f"step {step.id!r} waits a plain duration", non_retryable=True)
        return ComputeWaitDeadlineOutput(until=deadline.until, reason=deadline.reason, timezone=zone.key)

    @activity.defn(name=FIND_EARLIER_EVENT)
    async def find_earlier_event(self, request: FindEarlierEventInput) -> FindEarlierEventOutput:
        step = request.step
        async with self._sessions() as session:
            events = await recent_events(
                session, request.workspace_id, request.contact_id, step.event, request.since, request.until
            )
        excluded = set(request.exclude_ids)
        for event in events:  # newest first
            if event.id not in excluded and all_match(step.where, event.properties):
                return FindEarlierEventOutput(event_id=event.id, timestamp=event.timestamp)
        return FindEarlierEventOutput()

    def all(self) -> list[Any]:
        return [self.compute_wait_deadline, self.find_earlier_event]
