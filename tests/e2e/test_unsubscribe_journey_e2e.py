"""One-click unsubscribe end to end: the journey's email carries a List-Unsubscribe link; POSTing RFC 8058's
body to it (as a mailbox provider does, with no key and no cookie) suppresses the address and resumes the journey
waiting for `unsubscribed`; a later send to the address is skipped. Real dev server, worker, uvicorn, database,
SMTP server."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from store.workspaces import NewWorkspace
from tests.api.ingest_support import basic
from tests.e2e.test_journey_e2e import wait_state
from tests.servers import SmtpSink

pytestmark = pytest.mark.e2e

JOURNEY = {
    "trigger": {"event": "Signed Up"},
    "start": "welcome",
    "steps": [
        {"id": "welcome", "type": "send_email", "subject": "Welcome!", "text": "Hi.", "next": "listen"},
        {"id": "listen", "type": "wait_for_event", "event": "unsubscribed", "timeout": "P7D", "on_event": "goodbye",
         "on_timeout": "done"},
        {"id": "goodbye", "type": "send_email", "subject": "Sorry to see you go", "text": "Bye.", "next": "done"},
        {"id": "done", "type": "end"},
    ],
}  # fmt: skip


async def test_one_click_unsubscribe_suppresses_and_resumes_the_journey(
    base_url: str, workspace: NewWorkspace, smtp: SmtpSink
) -> None:
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        created = await api.post("/v1/journeys", json={"name": "Listen", "definition": JOURNEY})
        journey_id = created.json()["id"]
        assert (await api.post(f"/v1/journeys/{journey_id}/publish")).status_code == 200
        batch = {"batch": [
            {"type": "identify", "userId": "u-leave", "traits": {"email": "leaver@example.test"}},
            {"type": "track", "userId": "u-leave", "event": "Signed Up", "properties": {}},
        ]}  # fmt: skip
        assert (await api.post("/v1/batch", json=batch, headers=basic(workspace.write_key))).status_code == 200
        [welcome] = await smtp.wait_for(1)
        contact = (await api.get("/v1/contacts/lookup", params={"external_id": "u-leave"})).json()
        await wait_state(api, journey_id, contact["id"], waiting_for_event="unsubscribed")

        assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = urlsplit(welcome["List-Unsubscribe"].strip("<>")).path
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as mailbox_provider:  # no key, no cookie
            assert (await mailbox_provider.get(link)).status_code == 200
            assert (await api.get("/v1/suppressions/email/leaver@example.test")).status_code == 404
            unsubscribed = await mailbox_provider.post(
                link,
                content=b"List-Unsubscribe=One-Click",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert unsubscribed.status_code == 200, unsubscribed.text

        suppression = await api.get("/v1/suppressions/email/leaver@example.test")
        assert suppression.status_code == 200
        assert suppression.json()["reason"] == "unsubscribed"
        final = await wait_state(api, journey_id, contact["id"], status="completed")
        assert [s["step_id"] for s in final["history"]] == ["welcome", "listen", "goodbye", "done"]

    # The goodbye step ran after the address was suppressed: it is skipped, so only the welcome was ever sent.
    assert [m["Subject"] for m in smtp.messages] == ["Welcome!"]
