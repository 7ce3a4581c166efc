"""Segments end to end: identify and track through the ingestion API (the official Segment client), the contact
enters a segment within seconds through the dispatcher, and a journey triggered by segment_entered starts and
sends; the on-demand refresh runs as a workflow on the real worker."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from temporalio.client import Client

from activities.segments.contracts import RefreshOutput
from store.models import JourneyEnrollment
from store.workspaces import NewWorkspace
from tests.e2e.test_journey_e2e import count, segment_track
from tests.servers import SmtpSink

pytestmark = pytest.mark.e2e

PRICING_TWICE = {
    "and": [
        {"event": "Viewed Pricing", "count": {"op": "gte", "value": 2}, "window": {"days": 7}},
        {"attribute": "plan", "op": "eq", "value": "pro"},
    ]
}


async def test_tracked_events_move_a_contact_into_a_segment_that_starts_a_journey(
    base_url: str, workspace: NewWorkspace, smtp: SmtpSink, database_url: str, temporal_client: Client
) -> None:
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        segment = (await api.post("/v1/segments", json={"name": "Hot leads", "filter": PRICING_TWICE})).json()
        journey = {
            "trigger": {"segment_entered": segment["id"]},
            "start": "hello",
            "steps": [
                {
                    "id": "hello",
                    "type": "send_email",
                    "subject": "Saw you looking",
                    "text": "Questions?",
                    "next": "end",
                },
                {"id": "end", "type": "end"},
            ],
        }
        created = await api.post("/v1/journeys", json={"name": "Hot lead follow-up", "definition": journey})
        journey_id = created.json()["id"]
        assert (await api.post(f"/v1/journeys/{journey_id}/publish")).status_code == 200
        unknown = {**journey, "trigger": {"segment_entered": "sg_missing"}}
        draft = (await api.post("/v1/journeys", json={"name": "x", "definition": unknown})).json()
        refused = await api.post(f"/v1/journeys/{draft['id']}/publish")
        assert refused.json()["error"]["code"] == "unknown_segment"

        identify = ("identify", {"user_id": "u-lin", "traits": {"email": "lin@example.test", "plan": "pro"}})
        view = ("track", {"user_id": "u-lin", "event": "Viewed Pricing", "properties": {"path": "/pricing"}})
        assert await asyncio.to_thread(segment_track, workspace.write_key, base_url, [identify, view]) == []
        contact = (await api.get("/v1/contacts/lookup", params={"external_id": "u-lin"})).json()
        await asyncio.sleep(1.0)
        assert (await api.get(f"/v1/contacts/{contact['id']}/segments")).json() == []

        started = time.monotonic()
        assert await asyncio.to_thread(segment_track, workspace.write_key, base_url, [view]) == []
        [email] = await smtp.wait_for(1)
        assert email["Subject"] == "Saw you looking"
        assert time.monotonic() - started < 20
        mine = (await api.get(f"/v1/contacts/{contact['id']}/segments")).json()
        assert [s["segment_id"] for s in mine] == [segment["id"]]
        assert (await api.get(f"/v1/segments/{segment['id']}")).json()["member_count"] == 1

        # A refresh changes nothing (the contact still matches): no second entry, no second journey.
        answer = await api.post(f"/v1/segments/{segment['id']}/refresh")
        assert answer.status_code == 202, answer.text
        workflow_id = answer.json()["workflow_id"]
        result = await temporal_client.get_workflow_handle(workflow_id, result_type=RefreshOutput).result()
        assert (result.segments, result.entered, result.exited) == (1, 0, 0)
        history = (await api.get(f"/v1/segments/{segment['id']}/history")).json()["data"]
        assert [(h["contact_id"], h["exited_at"]) for h in history] == [(contact["id"], None)]
    await asyncio.sleep(1.0)
    assert len(smtp.messages) == 1
    assert await count(database_url, JourneyEnrollment, journey_id=journey_id) == 1
