"""The public consent forms (/preferences/{token}, /consent/confirm/{token}, /u/{token}) against hostile bodies:
their size is bounded by the shared body reader (api/body_limit.py) before the route runs, and a body that is not a
form of printable UTF-8 text is refused with a stable code. Never a 500, and nothing is written."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from mauntic.consent_links import confirm_url, preferences_url
from mauntic.secrets import SecretBox
from store.workspaces import NewWorkspace
from tests.conftest import TEST_SECRET_KEY

FORM = {"content-type": "application/x-www-form-urlencoded"}
HOSTILE: list[tuple[bytes, str]] = [
    (b"action=save&channel=email%00", "a NUL byte, percent-encoded"),
    (b"action=save&channel=\x00email", "a raw NUL byte"),
    (b"action=save&channel=%ED%A0%80", "a lone surrogate, percent-encoded UTF-8"),
    (b"action=save&channel=\xed\xa0\x80", "a lone surrogate, raw"),
    (b"action=save&channel=\xff\xfe", "bytes that are not UTF-8"),
    (b"&".join(b"topic=t%d" % i for i in range(1000)), "too many fields"),
]


async def links(client: httpx.AsyncClient, headers: dict[str, str], workspace: NewWorkspace) -> tuple[str, str, str]:
    created = await client.post("/v1/contacts", headers=headers, json={"email": "form@example.test"})
    assert created.status_code == 201, created.text
    contact_id: str = created.json()["id"]
    box, ws = SecretBox(TEST_SECRET_KEY), workspace.workspace.id
    return (
        contact_id,
        urlsplit(preferences_url(box, "http://testserver", ws, contact_id)).path,
        urlsplit(confirm_url(box, "http://testserver", ws, contact_id, "email")).path,
    )


async def history(client: httpx.AsyncClient, headers: dict[str, str], contact_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/contacts/{contact_id}/consent/history", headers=headers)
    data: list[dict[str, Any]] = response.json()["data"]
    return data


@pytest.mark.parametrize(("body", "what"), HOSTILE)
async def test_a_hostile_form_is_a_400_invalid_form_and_writes_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace, body: bytes, what: str
) -> None:
    contact_id, page, confirm = await links(client, admin_headers, workspace)
    for path in (page, confirm):
        response = await client.post(path, content=body, headers=FORM)
        assert response.status_code == 400, (what, path, response.text[:300])
        assert 'id="error-code">invalid_form<' in response.text, what
    assert await history(client, admin_headers, contact_id) == []


async def test_a_huge_form_is_refused_by_the_shared_body_reader(
    client: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace
) -> None:
    contact_id, page, confirm = await links(client, admin_headers, workspace)
    huge = b"action=unsubscribe_all&pad=" + b"x" * (17 * 1024)

    async def chunked() -> Any:  # no Content-Length: refused while it is read
        for start in range(0, len(huge), 4096):
            yield huge[start : start + 4096]

    for path in (page, confirm, page.replace("/preferences/", "/u/")):
        for content in (huge, chunked()):
            response = await client.post(path, content=content, headers=FORM)
            assert response.status_code == 413, (path, response.text[:300])
            assert response.json()["error"]["code"] == "payload_too_large"
    assert await history(client, admin_headers, contact_id) == []


async def test_a_form_at_the_limit_still_saves(
    client: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace
) -> None:
    contact_id, page, _ = await links(client, admin_headers, workspace)
    body = b"action=unsubscribe_all&pad=" + b"x" * (16 * 1024 - 27)
    assert len(body) == 16 * 1024

    response = await client.post(page, content=body, headers=FORM)

    assert response.status_code == 303, response.text[:300]
    assert {(h["channel"], h["status"], h["source"]) for h in await history(client, admin_headers, contact_id)} == {
        (channel, "withdrawn", "preference_center") for channel in ("email", "sms", "push")
    }
