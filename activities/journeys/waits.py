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
from domain.journeys.wait_deadlines import wait_deadline
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
        attributes = contact.attributes if contact is not None else {}
        try:
            deadline = wait_deadline(request.step, request.started_at, zone, attributes, calendar)
        except ValueError as err:
            raise ApplicationError(str(err), type="NotACalendarWait", non_retryable=True) from err
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
