"""Cursors are opaque: every list refuses one it did not hand out, and pages through with the ones it did."""

from __future__ import annotations

import httpx
import pytest

from api.pagination import decode_cursor, encode_cursor

LISTS = [
    "/v1/contacts",
    "/v1/journeys",
    "/v1/providers",
    "/v1/sending-domains",
    "/v1/suppressions",
    "/v1/messages",
    "/v1/ingest/rejections",
]
GARBAGE = ["garbage", "abc", "99999999999999999999999", "AAAA", "", "ct_123", "%00", "Y3RfMTIzAAAAAA"]


def test_a_cursor_round_trips_and_a_tampered_one_does_not() -> None:
    token = encode_cursor("ct_01HZX")
    assert decode_cursor(token) == "ct_01HZX"
    assert "ct_01HZX" not in token
    for bad in [token[:-1], token + "A", token[1:], "x" + token[1:]]:
        with pytest.raises(ValueError, match="cursor"):
            decode_cursor(bad)


@pytest.mark.parametrize("url", LISTS)
async def test_a_cursor_the_api_did_not_return_is_a_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str], url: str
) -> None:
    for bad in GARBAGE:
        response = await client.get(f"{url}?cursor={bad}", headers=admin_headers)
        assert response.status_code == 422, (url, bad, response.text)
        assert response.json()["error"]["code"] == "invalid_cursor", (url, bad)


async def test_a_cursor_carrying_no_row_number_is_refused_where_rows_key_on_integers(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Anyone can build a well-formed cursor (the checksum is no secret); one whose position is not a row
    number must still be a 422, not a failed integer conversion."""
    journey = {"trigger": {"event": "E"}, "start": "end", "steps": [{"id": "end", "type": "end"}]}
    created = await client.post("/v1/journeys", headers=admin_headers, json={"name": "J", "definition": journey})
    integer_keyed = ["/v1/suppressions", "/v1/ingest/rejections", f"/v1/journeys/{created.json()['id']}/dead-letters"]
    for url in integer_keyed:
        for position in ["abc", "9" * 40]:
            response = await client.get(f"{url}?cursor={encode_cursor(position)}", headers=admin_headers)
            assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_cursor"), url


async def test_contacts_page_through_with_opaque_cursors(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = []
    for n in range(5):
        response = await client.post("/v1/contacts", headers=admin_headers, json={"email": f"p{n}@example.test"})
        created.append(response.json()["id"])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/contacts", headers=admin_headers, params=params)).json()
        seen += [c["id"] for c in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert not cursor.startswith("ct_")  # the id is not what a client sees
    assert sorted(seen) == sorted(created)
