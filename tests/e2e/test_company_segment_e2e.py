"""Companies end to end: the official Segment client's identify and group make the contact and its company; a
segment on the company's plan takes the contact within seconds of the company's upgrade (the dispatcher's
company row), and the journey it starts sends an email naming the company."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from store.workspaces import NewWorkspace
from tests.e2e.test_journey_e2e import segment_track
from tests.servers import SmtpSink

pytestmark = pytest.mark.e2e

ENTERPRISE = {"company": {"field": "attributes.plan", "op": "eq", "value": "enterprise"}}


async def test_a_company_upgrade_moves_its_contacts_into_a_segment_that_starts_a_journey(
    base_url: str, workspace: NewWorkspace, smtp: SmtpSink
) -> None:
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        segment = (await api.post("/v1/segments", json={"name": "Enterprise", "filter": ENTERPRISE})).json()
        journey = {
            "trigger": {"segment_entered": segment["id"]},
            "start": "hello",
            "steps": [
                {"id": "hello", "type": "send_email", "subject": "{{ company.name }} is on enterprise",
                 "text": "Seats: {{ company.attributes.seats }}", "next": "end"},
                {"id": "end", "type": "end"},
            ],
        }  # fmt: skip
        created = await api.post("/v1/journeys", json={"name": "Upgrade", "definition": journey})
        assert (await api.post(f"/v1/journeys/{created.json()['id']}/publish")).status_code == 200

        identify = ("identify", {"user_id": "u-kim", "traits": {"email": "kim@initech.test"}})
        group = ("group", {"user_id": "u-kim", "group_id": "initech", "traits": {"name": "Initech", "plan": "free"}})
        assert await asyncio.to_thread(segment_track, workspace.write_key, base_url, [identify, group]) == []
        contact = (await api.get("/v1/contacts/lookup", params={"external_id": "u-kim"})).json()
        [company] = (await api.get("/v1/companies")).json()["data"]
        assert (company["external_id"], company["name"], contact["company_id"]) == ("initech", "Initech", company["id"])
        await asyncio.sleep(1.0)
        assert (await api.get(f"/v1/contacts/{contact['id']}/segments")).json() == []

        started = time.monotonic()
        upgrade = {"attributes": {"plan": "enterprise", "seats": 40}}
        assert (await api.patch(f"/v1/companies/{company['id']}", json=upgrade)).status_code == 200
        [email] = await smtp.wait_for(1)
        assert email["Subject"] == "Initech is on enterprise"
        assert "Seats: 40" in email.get_payload()
        assert time.monotonic() - started < 20
        mine = (await api.get(f"/v1/contacts/{contact['id']}/segments")).json()
        assert [s["segment_id"] for s in mine] == [segment["id"]]
