"""The wait activities on the real database: the deadline from the contact's zone and attributes and the
workspace's calendar, and the lookback's latest earlier event."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError

from activities.journeys.contracts import ComputeWaitDeadlineInput, FindEarlierEventInput
from activities.journeys.waits import JourneyWaitActivities
from domain.ids import new_id
from domain.journeys.definition import WaitForEventStep, WaitStep
from domain.journeys.holiday_calendar import HolidayCalendar
from store.calendars import WorkspaceTime, set_workspace_time, workspace_time
from store.models import Contact, Event
from store.workspaces import NewWorkspace
from tests.conftest import new_workspace

Sessions = async_sessionmaker[AsyncSession]
THURSDAY = datetime(2026, 12, 24, 15, 0, tzinfo=UTC)  # 10:00 in New York, 16:00 in Berlin


async def contact(sessions: Sessions, workspace_id: str, timezone: str | None, **attributes: Any) -> str:
    async with sessions() as session:
        row = Contact(id=new_id("ct"), workspace_id=workspace_id, timezone=timezone, attributes=attributes)
        session.add(row)
        await session.commit()
    return row.id


def deadline_request(workspace: NewWorkspace, contact_id: str, wait: dict[str, Any]) -> ComputeWaitDeadlineInput:
    step = WaitStep.model_validate({"id": "pause", **wait})
    return ComputeWaitDeadlineInput(
        workspace_id=workspace.workspace.id, contact_id=contact_id, step=step, started_at=THURSDAY
    )


async def test_business_days_use_the_workspace_zone_and_holidays(sessions: Sessions, workspace: NewWorkspace) -> None:
    ws = workspace.workspace.id
    calendar = HolidayCalendar(country="US", extra_dates=[date(2026, 12, 28)])
    await set_workspace_time_in(sessions, ws, WorkspaceTime("America/New_York", calendar))
    who = await contact(sessions, ws, None)  # no zone of its own: the workspace's

    got = await JourneyWaitActivities(sessions).compute_wait_deadline(
        deadline_request(workspace, who, {"business_days": {"days": 1, "time": "09:00"}})
    )

    # Fri 25 is Christmas, then the weekend, Mon 28 an extra date: Tuesday 09:00 EST
    assert got.until == datetime(2026, 12, 29, 14, 0, tzinfo=UTC)
    assert got.timezone == "America/New_York"
    assert "US holidays and extra dates" in got.reason


async def test_the_contacts_own_zone_wins(sessions: Sessions, workspace: NewWorkspace) -> None:
    ws = workspace.workspace.id
    await set_workspace_time_in(sessions, ws, WorkspaceTime("America/New_York", HolidayCalendar()))
    who = await contact(sessions, ws, "Europe/Berlin")

    got = await JourneyWaitActivities(sessions).compute_wait_deadline(
        deadline_request(workspace, who, {"until": {"time": "09:00"}})
    )

    assert (got.until, got.timezone) == (datetime(2026, 12, 25, 8, 0, tzinfo=UTC), "Europe/Berlin")


async def test_until_attribute_reads_the_contacts_attribute(sessions: Sessions, workspace: NewWorkspace) -> None:
    ws = workspace.workspace.id
    who = await contact(sessions, ws, "America/New_York", renewal_date="2027-01-10")
    wait = {"until_attribute": {"attribute": "renewal_date", "offset": "-P3D", "time": "09:00"}}

    got = await JourneyWaitActivities(sessions).compute_wait_deadline(deadline_request(workspace, who, wait))

    assert got.until == datetime(2027, 1, 7, 14, 0, tzinfo=UTC)


async def test_an_unknown_contact_or_another_workspaces_contact_has_no_attributes(
    sessions: Sessions, workspace: NewWorkspace, database_url: str
) -> None:
    other = await new_workspace(database_url)
    theirs = await contact(sessions, other.workspace.id, "Asia/Tokyo", renewal_date="2027-01-10")
    wait = {"until_attribute": {"attribute": "renewal_date", "offset": "-P3D"}}
    activities = JourneyWaitActivities(sessions)

    for who in (theirs, "ct_missing"):
        got = await activities.compute_wait_deadline(deadline_request(workspace, who, wait))
        assert got.until is None
        assert got.timezone == "UTC"
        assert "has no 'renewal_date' attribute" in got.reason


async def test_a_plain_duration_is_refused(sessions: Sessions, workspace: NewWorkspace) -> None:
    with pytest.raises(ApplicationError, match="plain duration"):
        await JourneyWaitActivities(sessions).compute_wait_deadline(
            deadline_request(workspace, "ct_x", {"duration": "P1D"})
        )


async def set_workspace_time_in(sessions: Sessions, workspace_id: str, value: WorkspaceTime) -> None:
    async with sessions() as session:
        await set_workspace_time(session, workspace_id, value)
    async with sessions() as session:
        assert await workspace_time(session, workspace_id) == value


def event(workspace_id: str, contact_id: str, name: str, at: datetime, **properties: Any) -> Event:
    return Event(
        id=new_id("ev"), workspace_id=workspace_id, message_id=new_id("m"), type="track", name=name,
        contact_id=contact_id, properties=properties, timestamp=at, received_at=at,
    )  # fmt: skip


async def test_the_latest_matching_event_within_the_window(sessions: Sessions, workspace: NewWorkspace) -> None:
    ws = workspace.workspace.id
    who = await contact(sessions, ws, None)
    someone_else = await contact(sessions, ws, None)
    start = THURSDAY
    rows = {
        "older": event(ws, who, "Order Completed", start - timedelta(days=3), total=20),
        "latest": event(ws, who, "Order Completed", start - timedelta(days=1), total=30),
        "small": event(ws, who, "Order Completed", start - timedelta(hours=2), total=5),
        "trigger": event(ws, who, "Order Completed", start - timedelta(hours=1), total=99),
        "too_old": event(ws, who, "Order Completed", start - timedelta(days=8), total=99),
        "after": event(ws, who, "Order Completed", start + timedelta(minutes=1), total=99),
        "other_name": event(ws, who, "Order Refunded", start - timedelta(hours=1), total=99),
        "other_contact": event(ws, someone_else, "Order Completed", start - timedelta(hours=1), total=99),
    }
    async with sessions() as session:
        session.add_all(rows.values())
        await session.commit()
    step = WaitForEventStep.model_validate(
        {
            "id": "wait_order", "event": "Order Completed", "where": [{"property": "total", "op": "gte", "value": 10}],
            "timeout": "PT2H", "on_event": "a", "on_timeout": "b", "lookback": "P7D",
        }
    )  # fmt: skip
    request = FindEarlierEventInput(
        workspace_id=ws, contact_id=who, step=step, since=start - timedelta(days=7), until=start,
        exclude_ids=[rows["trigger"].id],
    )  # fmt: skip
    activities = JourneyWaitActivities(sessions)

    found = await activities.find_earlier_event(request)
    assert (found.event_id, found.timestamp) == (rows["latest"].id, rows["latest"].timestamp)

    narrower = request.model_copy(update={"since": start - timedelta(hours=12)})
    assert (await activities.find_earlier_event(narrower)).event_id is None
