"""One bad message among good ones, sent by the official Segment client in its default batching mode (every
queued message in one batch): the good ones are stored and reach journeys, the bad one is listed as rejected."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from segment.analytics.client import Client as SegmentClient

from store.workspaces import NewWorkspace
from tests.e2e.test_journey_e2e import JOURNEY, wait_state
from tests.servers import SmtpSink

pytestmark = pytest.mark.e2e


def send_batched(write_key: str, base_url: str) -> list[tuple[Exception, list[dict[str, Any]]]]:
    """Queue three messages and flush them as one batch (the library's default mode); return its reported
    errors."""
    errors: list[tuple[Exception, list[dict[str, Any]]]] = []
    segment = SegmentClient(write_key, host=base_url, on_error=lambda e, b: errors.append((e, b)), max_retries=0)
    segment.identify("u-ann", {"email": "ann@example.test", "firstName": "Ann"})
    segment.identify("u-bad", {"email": "not an address"})
    segment.track("u-ann", "Signed Up", {"plan": "pro"})
    segment.flush()
    segment.join()
    return errors


async def test_a_bad_message_does_not_cost_its_batch_the_journey(
    base_url: str, workspace: NewWorkspace, smtp: SmtpSink
) -> None:
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        created = await api.post("/v1/journeys", json={"name": "Onboarding", "definition": JOURNEY})
        journey_id = created.json()["id"]
        assert (await api.post(f"/v1/journeys/{journey_id}/publish")).status_code == 200

        errors = await asyncio.to_thread(send_batched, workspace.write_key, base_url)
        assert errors == []  # a 400 would have made the library drop all three

        [welcome] = await smtp.wait_for(1)
        assert (welcome["To"], welcome["Subject"]) == ("ann@example.test", "Welcome, Ann!")
        contact = (await api.get("/v1/contacts/lookup", params={"external_id": "u-ann"})).json()
        await wait_state(api, journey_id, contact["id"], waiting_for_event="Activated")
        assert (await api.get("/v1/contacts/lookup", params={"external_id": "u-bad"})).status_code == 404

        rejected = (await api.get("/v1/ingest/rejections")).json()["data"]
        assert [(r["endpoint"], r["batch_index"], r["code"]) for r in rejected] == [("batch", 1, "invalid_email")]
        assert '"not an address"' in rejected[0]["raw"]
