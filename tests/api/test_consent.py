"""The consent API on SQLite and PostgreSQL: topics, a contact's consent and its history, the workspace settings,
double opt-in (pending until the signed link is followed), and refusals that write nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from mauntic.consent_links import confirm_url
from mauntic.secrets import SecretBox
from store.workspaces import NewWorkspace
from tests.conftest import TEST_SECRET_KEY


async def _contact(client: httpx.AsyncClient, headers: dict[str, str], email: str) -> str:
    created = await client.post("/v1/contacts", headers=headers, json={"email": email})
    assert created.status_code == 201, created.text
    contact_id: str = created.json()["id"]
    return contact_id


async def _history(client: httpx.AsyncClient, headers: dict[str, str], contact_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/contacts/{contact_id}/consent/history", headers=headers)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


async def test_topics_and_a_contacts_consent_with_its_history(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    topic = {"key": "newsletter", "name": "Newsletter", "channels": ["email"]}
    assert (await client.post("/v1/consent/topics", headers=admin_headers, json=topic)).status_code == 201
    again = await client.post("/v1/consent/topics", headers=admin_headers, json=topic)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "consent_topic_exists"
    assert [t["key"] for t in (await client.get("/v1/consent/topics", headers=admin_headers)).json()] == ["newsletter"]

    contact_id = await _contact(client, admin_headers, "grace@example.test")
    fresh = (await client.get(f"/v1/contacts/{contact_id}/consent", headers=admin_headers)).json()
    assert fresh["records"] == []
    assert fresh["effective"]["email"] is True  # opt-out by default: nothing recorded means yes

    changes = {"changes": [
        {"channel": "email", "topic": "newsletter", "status": "withdrawn", "note": "asked by phone"},
        {"channel": "sms", "status": "withdrawn", "legal_basis": "legal_obligation"},
    ]}  # fmt: skip
    put = await client.put(f"/v1/contacts/{contact_id}/consent", headers=admin_headers, json=changes)
    assert put.status_code == 200, put.text
    records = {(r["channel"], r["topic"]): r for r in put.json()["records"]}
    assert records[("email", "newsletter")]["status"] == "withdrawn"
    assert records[("sms", None)]["legal_basis"] == "legal_obligation"
    assert all(r["source"] == "api" for r in records.values())
    assert put.json()["effective"] == {"email": True, "sms": False, "push": True}

    regrant = {"changes": [{"channel": "sms", "status": "granted"}]}
    assert (await client.put(f"/v1/contacts/{contact_id}/consent", headers=admin_headers, json=regrant)).is_success
    history = await _history(client, admin_headers, contact_id)
    assert [(h["channel"], h["previous_status"], h["status"]) for h in history] == [
        ("email", None, "withdrawn"),
        ("sms", None, "withdrawn"),
        ("sms", "withdrawn", "granted"),
    ]


async def test_refusals_write_nothing(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    contact_id = await _contact(client, admin_headers, "ada@example.test")
    bad_changes: list[tuple[dict[str, Any], int, str | None]] = [
        ({"channel": "email", "topic": "nope", "status": "withdrawn"}, 422, "unknown_consent_topic"),
        ({"channel": "fax", "status": "withdrawn"}, 422, None),
        ({"channel": "email", "status": "withdrawn", "note": "nul\u0000byte"}, 422, None),
    ]
    for change, status, code in bad_changes:
        response = await client.put(
            f"/v1/contacts/{contact_id}/consent", headers=admin_headers, json={"changes": [change]}
        )
        assert response.status_code == status, (change, response.text)
        if code is not None:
            assert response.json()["error"]["code"] == code
    assert await _history(client, admin_headers, contact_id) == []
    missing = await client.get("/v1/contacts/ct_nope/consent", headers=admin_headers)
    assert missing.status_code == 404


async def test_double_opt_in_waits_for_the_signed_link(
    client: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace
) -> None:
    settings = {"modes": {"email": "opt_in"}, "double_opt_in": ["email"]}
    put = await client.put("/v1/consent/settings", headers=admin_headers, json=settings)
    assert put.status_code == 200, put.text
    contact_id = await _contact(client, admin_headers, "lin@example.test")
    assert (await client.get(f"/v1/contacts/{contact_id}/consent", headers=admin_headers)).json()["effective"][
        "email"
    ] is False  # opt-in: nothing recorded means no

    grant = {"changes": [{"channel": "email", "status": "granted"}]}
    pending = await client.put(f"/v1/contacts/{contact_id}/consent", headers=admin_headers, json=grant)
    assert pending.status_code == 200, pending.text
    assert [r["status"] for r in pending.json()["records"]] == ["pending"]
    assert pending.json()["effective"]["email"] is False

    link = confirm_url(SecretBox(TEST_SECRET_KEY), "http://testserver", workspace.workspace.id, contact_id, "email")
    path = urlsplit(link).path
    assert (await client.get(path)).status_code == 200  # a scanner's GET changes nothing
    still = (await client.get(f"/v1/contacts/{contact_id}/consent", headers=admin_headers)).json()
    assert [r["status"] for r in still["records"]] == ["pending"]
    confirmed = await client.post(path, content=b"", headers={"content-type": "application/x-www-form-urlencoded"})
    assert confirmed.status_code == 200
    assert "confirmed" in confirmed.text
    replay = await client.post(path, content=b"", headers={"content-type": "application/x-www-form-urlencoded"})
    assert replay.status_code == 200  # harmless
    after = (await client.get(f"/v1/contacts/{contact_id}/consent", headers=admin_headers)).json()
    assert [(r["status"], r["source"]) for r in after["records"]] == [("granted", "double_opt_in")]
    assert after["effective"]["email"] is True
    forged = await client.post(path[:-4] + "AAAA", content=b"")
    assert forged.status_code == 400
