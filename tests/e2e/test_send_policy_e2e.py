"""Frequency caps end to end: the workspace default set through the API, two published journeys triggered by one
event for one contact, the real worker and dev server, the SMTP relay on loopback. A cap of one email a day: the
contact gets exactly one email, and the other journey's record says which rule capped it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from store.workspaces import NewWorkspace
from tests.e2e.test_journey_e2e import segment_track, wait_state
from tests.servers import SmtpSink

pytestmark = pytest.mark.e2e


def promo(subject: str) -> dict[str, Any]:
    return {
        "trigger": {"event": "Browsed"},
        "start": "offer",
        "send_policy": {"on_capped": "skip"},  # the workspace's caps, skipping when they are full
        "steps": [
            {"id": "offer", "type": "send_email", "subject": subject, "text": "For you, {{ contact.first_name }}"}
        ],
    }


async def test_two_journeys_racing_for_a_contact_send_one_email_under_a_cap_of_one(
    base_url: str, workspace: NewWorkspace, smtp: SmtpSink
) -> None:
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        policy = {"caps": [{"channel": "email", "limit": 1, "window": "P1D"}], "quiet_hours": None}
        assert (await api.put("/v1/workspace/send-policy", json=policy)).status_code == 200
        journeys = []
        for subject in ("Spring sale", "Summer sale"):
            created = await api.post("/v1/journeys", json={"name": subject, "definition": promo(subject)})
            assert created.status_code == 201, created.text
            journeys.append(created.json()["id"])
            assert (await api.post(f"/v1/journeys/{journeys[-1]}/publish")).status_code == 200

        identify = ("identify", {"user_id": "u-ada", "traits": {"email": "ada@example.test", "firstName": "Ada"}})
        browsed = ("track", {"user_id": "u-ada", "event": "Browsed", "properties": {}})
        assert await asyncio.to_thread(segment_track, workspace.write_key, base_url, [identify, browsed]) == []

        [email] = await smtp.wait_for(1)
        contact = (await api.get("/v1/contacts/lookup", params={"external_id": "u-ada"})).json()
        states = [await wait_state(api, journey, contact["id"], status="completed") for journey in journeys]
        records = [state["history"][0] for state in states]
        assert sorted(record["outcome"] for record in records) == ["capped", "sent"]
        capped = next(record for record in records if record["outcome"] == "capped")
        assert (capped["detail"]["rule"], capped["detail"]["count"], capped["detail"]["window"]) == (
            "caps[0]",
            1,
            "P1D",
        )
        sent = next(record for record in records if record["outcome"] == "sent")
        assert email["Subject"] == ("Spring sale" if records.index(sent) == 0 else "Summer sale")

    await asyncio.sleep(0.5)
    assert len(smtp.messages) == 1
