"""GET /v1/contacts/export: JSON lines and CSV, streamed, under the key's field policy (hidden fields absent, no
CSV column; masked ones masked), a segment's members only, CSV cells safe from formula injection, the export
permission per role, and the export recorded in the audit log."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import httpx

PRO = {"attribute": "plan", "op": "eq", "value": "pro"}


async def _key(client: httpx.AsyncClient, admin: dict[str, str], role: str) -> dict[str, str]:
    made = await client.post("/v1/api-keys", headers=admin, json={"name": role, "role": role})
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['key']}"}


async def _contact(client: httpx.AsyncClient, admin: dict[str, str], **fields: Any) -> str:
    made = await client.post("/v1/contacts", headers=admin, json=fields)
    assert made.status_code == 201, made.text
    contact_id: str = made.json()["id"]
    return contact_id


def _lines(answer: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in answer.text.splitlines()]


async def test_jsonl_and_csv_under_the_field_policy(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    policy = {"fields": {"email": "masked", "phone": "hidden", "attributes.ssn": "hidden"}}
    assert (await client.put("/v1/field-policies/analyst", headers=admin_headers, json=policy)).status_code == 200
    jane = await _contact(
        client, admin_headers, email="jane@example.com", phone="+33612345678",
        attributes={"plan": "pro", "ssn": "123", "note": "=HYPERLINK(\"http://x\")"},
    )  # fmt: skip
    bob = await _contact(client, admin_headers, email="bob@example.com", attributes={"plan": "free"})
    analyst = await _key(client, admin_headers, "analyst")

    full = await client.get("/v1/contacts/export", headers=admin_headers)
    assert full.status_code == 200, full.text
    assert full.headers["content-type"].startswith("application/x-ndjson")
    rows = {row["id"]: row for row in _lines(full)}
    assert set(rows) == {jane, bob}
    assert rows[jane]["email"] == "jane@example.com"
    assert rows[jane]["phone"] == "+33612345678"

    seen = {row["id"]: row for row in _lines(await client.get("/v1/contacts/export", headers=analyst))}
    assert seen[jane]["email"] == "j***@example.com"
    assert "phone" not in seen[jane]
    assert seen[jane]["attributes"] == {"plan": "pro", "note": '=HYPERLINK("http://x")'}

    table = await client.get(
        "/v1/contacts/export", headers=analyst, params={"format": "csv", "attribute": ["plan", "ssn", "note"]}
    )
    assert table.status_code == 200, table.text
    assert table.headers["content-type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(table.text)))
    assert "phone" not in parsed[0]
    assert "attributes.ssn" not in parsed[0]
    by_id = {row["id"]: row for row in parsed}
    assert by_id[jane]["email"] == "j***@example.com"
    assert by_id[jane]["attributes.plan"] == "pro"
    assert by_id[jane]["attributes.note"] == '\'=HYPERLINK("http://x")'  # not run as a formula
    assert by_id[bob]["attributes.note"] == ""


async def test_a_segments_members_and_who_may_export(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    pro = await _contact(client, admin_headers, email="p@example.com", attributes={"plan": "pro"})
    await _contact(client, admin_headers, email="f@example.com", attributes={"plan": "free"})
    segment = await client.post("/v1/segments", headers=admin_headers, json={"name": "pro", "filter": PRO})
    assert segment.status_code == 201, segment.text
    members = await client.get(
        "/v1/contacts/export", headers=admin_headers, params={"segment_id": segment.json()["id"]}
    )
    assert [row["id"] for row in _lines(members)] == [pro]

    missing = await client.get("/v1/contacts/export", headers=admin_headers, params={"segment_id": "sg_nope"})
    assert missing.status_code == 404
    bad = await client.get("/v1/contacts/export", headers=admin_headers, params={"attribute": "a b"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_attribute"

    viewer = await _key(client, admin_headers, "viewer")
    assert (await client.get("/v1/contacts/export", headers=viewer)).status_code == 403
    marketer = await _key(client, admin_headers, "marketer")
    assert (await client.get("/v1/contacts/export", headers=marketer)).status_code == 200

    audit = await client.get("/v1/audit", headers=admin_headers, params={"target_type": "contact_export"})
    entries = audit.json()["data"]
    assert len(entries) == 2  # the admin's exports; the refused ones recorded nothing
    assert entries[0]["action"] == "contacts.exported"
