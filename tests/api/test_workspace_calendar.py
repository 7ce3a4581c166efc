"""GET/PUT /v1/workspace/calendar: the workspace's time zone and holiday calendar, validated."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from domain.access.keys import Scope
from store.db import create_async_db_engine, session_factory
from store.workspaces import NewWorkspace, create_api_key

Headers = dict[str, str]
URL = "/v1/workspace/calendar"


async def _key(database_url: str, workspace: NewWorkspace, scopes: list[str]) -> Headers:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            _, secret = await create_api_key(session, workspace.workspace.id, "t", scopes)
    finally:
        await engine.dispose()
    return {"Authorization": f"Bearer {secret}"}


async def test_a_new_workspace_has_utc_and_no_holidays(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    got = await client.get(URL, headers=admin_headers)
    assert got.status_code == 200
    assert got.json() == {"timezone": None, "country": None, "subdivision": None, "extra_dates": [], "upcoming": []}


async def test_put_replaces_the_calendar_and_get_shows_it(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    body = {"timezone": "Europe/Berlin", "country": "de", "subdivision": "by", "extra_dates": ["2030-12-24"]}
    put = await client.put(URL, json=body, headers=admin_headers)
    assert put.status_code == 200
    saved = put.json()
    assert (saved["timezone"], saved["country"], saved["subdivision"], saved["extra_dates"]) == (
        "Europe/Berlin",
        "DE",
        "BY",
        ["2030-12-24"],
    )
    upcoming = saved["upcoming"]
    assert 1 <= len(upcoming) <= 10
    assert [h["date"] for h in upcoming] == sorted(h["date"] for h in upcoming)
    assert (await client.get(URL, headers=admin_headers)).json() == saved

    cleared = await client.put(URL, json={}, headers=admin_headers)
    assert cleared.json() == {"timezone": None, "country": None, "subdivision": None, "extra_dates": [], "upcoming": []}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "unknown_timezone"),
        ({"timezone": "../../etc/passwd"}, "unknown_timezone"),
        ({"country": "XX"}, "unknown_holiday_calendar"),
        ({"country": "US", "subdivision": "ZZ"}, "unknown_holiday_calendar"),
        ({"subdivision": "CA"}, "unknown_holiday_calendar"),
        ({"extra_dates": ["2026-02-30"]}, "validation_error"),
        ({"extra_dates": ["2026-01-01"] * 400}, "validation_error"),
        ({"holidays": "US"}, "validation_error"),
    ],
)
async def test_bad_calendars_are_refused(
    client: httpx.AsyncClient, admin_headers: Headers, body: dict[str, Any], code: str
) -> None:
    got = await client.put(URL, json=body, headers=admin_headers)
    assert got.status_code == 422
    assert got.json()["error"]["code"] == code
    # nothing was written
    assert (await client.get(URL, headers=admin_headers)).json()["timezone"] is None


async def test_reading_needs_journeys_read_and_writing_admin(
    client: httpx.AsyncClient, database_url: str, workspace: NewWorkspace
) -> None:
    reader = await _key(database_url, workspace, [Scope.JOURNEYS_READ.value])
    assert (await client.get(URL, headers=reader)).status_code == 200
    denied = await client.put(URL, json={"timezone": "UTC"}, headers=reader)
    assert denied.status_code == 403
    assert (await client.get(URL)).status_code == 401


def _waiting(wait: dict[str, Any]) -> dict[str, Any]:
    return {
        "trigger": {"event": "signed_up"},
        "start": "pause",
        "steps": [{"id": "pause", "type": "wait", **wait, "next": "bye"}, {"id": "bye", "type": "end"}],
    }


@pytest.mark.parametrize(
    "wait",
    [
        {"until": {"time": "09:00", "weekdays": []}},
        {"until": {"time": "9am"}},
        {"until_attribute": {"attribute": "renewal_date", "offset": "-3d"}},
        {"business_days": {"days": 0}},
        {"duration": "P400D"},
    ],
)
async def test_an_impossible_wait_is_a_422_naming_the_node(
    client: httpx.AsyncClient, admin_headers: Headers, wait: dict[str, Any]
) -> None:
    body = {"name": "w", "definition": _waiting(wait)}
    response = await client.post("/v1/journeys", headers=admin_headers, json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["details"]["node"]) == ("invalid_step", "pause")


async def test_a_calendar_wait_is_accepted(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    wait = {"until_attribute": {"attribute": "renewal_date", "offset": "-P3D", "time": "09:00"}}
    response = await client.post(
        "/v1/journeys", headers=admin_headers, json={"name": "w", "definition": _waiting(wait)}
    )
    assert response.status_code == 201, response.text
    assert response.json()["definition"]["steps"][0]["until_attribute"] == wait["until_attribute"]


async def test_subdivisions_are_matched_as_given_then_upper_case(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    named = await client.put(URL, json={"country": "BE", "subdivision": "Flemish"}, headers=admin_headers)
    assert (named.status_code, named.json()["subdivision"]) == (200, "Flemish")
    coded = await client.put(URL, json={"country": "us", "subdivision": "ca"}, headers=admin_headers)
    assert (coded.status_code, coded.json()["country"], coded.json()["subdivision"]) == (200, "US", "CA")
