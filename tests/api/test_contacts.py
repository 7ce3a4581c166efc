from __future__ import annotations

import httpx

from store.workspaces import NewWorkspace
from tests.conftest import new_workspace


async def test_create_read_update_delete(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    created = await client.post(
        "/v1/contacts",
        headers=admin_headers,
        json={
            "email": "grace@Example.test",
            "external_id": "u-1",
            "first_name": "Grace",
            "timezone": "Europe/Paris",
            "attributes": {"plan": "pro", "seats": 3},
        },
    )
    assert created.status_code == 201, created.text
    contact = created.json()
    assert contact["email"] == "grace@example.test"  # domain part normalised
    assert contact["attributes"] == {"plan": "pro", "seats": 3}
    contact_id = contact["id"]

    read = await client.get(f"/v1/contacts/{contact_id}", headers=admin_headers)
    assert read.json()["timezone"] == "Europe/Paris"

    patched = await client.patch(
        f"/v1/contacts/{contact_id}",
        headers=admin_headers,
        json={"last_name": "Hopper", "attributes": {"seats": None, "role": "admiral"}},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["attributes"] == {"plan": "pro", "role": "admiral"}
    assert patched.json()["last_name"] == "Hopper"
    assert patched.json()["first_name"] == "Grace"

    by_email = await client.get("/v1/contacts/lookup", headers=admin_headers, params={"email": "grace@example.test"})
    assert by_email.json()["id"] == contact_id
    by_external = await client.get("/v1/contacts/lookup", headers=admin_headers, params={"external_id": "u-1"})
    assert by_external.json()["id"] == contact_id

    deleted = await client.delete(f"/v1/contacts/{contact_id}", headers=admin_headers)
    assert deleted.status_code == 204
    gone = await client.get(f"/v1/contacts/{contact_id}", headers=admin_headers)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "contact_not_found"


async def test_cursor_pagination_visits_every_contact_once(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    ids = []
    for n in range(7):
        response = await client.post("/v1/contacts", headers=admin_headers, json={"external_id": f"p-{n}"})
        ids.append(response.json()["id"])
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/contacts", headers=admin_headers, params=params)).json()
        seen += [c["id"] for c in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    assert pages == 3


async def test_invalid_input_is_rejected_and_nothing_stored(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    cases = [
        ({"email": "not-an-email"}, 422, "invalid_email"),
        ({"timezone": "Mars/Olympus"}, 422, "invalid_timezone"),
        ({"nickname": "x"}, 422, "validation_error"),
        ({"attributes": "flat"}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        response = await client.post("/v1/contacts", headers=admin_headers, json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]["code"] == code
    malformed = await client.post(
        "/v1/contacts", headers={**admin_headers, "Content-Type": "application/json"}, content=b"{nope"
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "malformed_json"
    listing = await client.get("/v1/contacts", headers=admin_headers)
    assert listing.json()["data"] == []


async def test_duplicate_external_id_conflicts(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    first = await client.post("/v1/contacts", headers=admin_headers, json={"external_id": "dup"})
    assert first.status_code == 201
    second = await client.post("/v1/contacts", headers=admin_headers, json={"external_id": "dup"})
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "contact_exists"


async def test_contacts_are_isolated_per_workspace(
    client: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace, database_url: str
) -> None:
    other = await new_workspace(database_url)
    created = await client.post("/v1/contacts", headers=admin_headers, json={"external_id": "mine"})
    foreign = await client.get(
        f"/v1/contacts/{created.json()['id']}", headers={"Authorization": f"Bearer {other.api_key}"}
    )
    assert foreign.status_code == 404


async def test_external_id_change_keeps_both_ids_and_conflicts_are_409(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    first = (await client.post("/v1/contacts", headers=admin_headers, json={"external_id": "a-1"})).json()
    second = (await client.post("/v1/contacts", headers=admin_headers, json={"external_id": "b-1"})).json()
    renamed = await client.patch(f"/v1/contacts/{first['id']}", headers=admin_headers, json={"external_id": "a-2"})
    assert renamed.status_code == 200
    assert renamed.json()["external_id"] == "a-2"
    taken = await client.patch(f"/v1/contacts/{first['id']}", headers=admin_headers, json={"external_id": "b-1"})
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "contact_exists"
    unchanged = await client.get(f"/v1/contacts/{second['id']}", headers=admin_headers)
    assert unchanged.json()["external_id"] == "b-1"
    again = await client.patch(f"/v1/contacts/{first['id']}", headers=admin_headers, json={"first_name": "Ann"})
    assert again.status_code == 200


async def test_a_nul_in_an_id_cursor_or_lookup_is_a_422_not_a_database_error(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    # PostgreSQL text cannot hold NUL: the query would fail; the API refuses such input first.
    for method, url in [
        ("GET", "/v1/contacts/ct_%00"),
        ("PATCH", "/v1/contacts/ct_%00"),
        ("DELETE", "/v1/contacts/ct_%00"),
        ("GET", "/v1/contacts?cursor=%00"),
        ("GET", "/v1/contacts/lookup?email=a%00@example.test"),
        ("GET", "/v1/contacts/lookup?external_id=u%00"),
        ("GET", "/v1/journeys/jr_%00"),
        ("POST", "/v1/journeys/jr_%00/publish"),
        ("GET", "/v1/journeys?cursor=%00"),
        ("GET", "/v1/journeys/jr_1/contacts/ct_%00"),
    ]:
        response = await client.request(method, url, headers=admin_headers, json={} if method == "PATCH" else None)
        assert response.status_code == 422, (method, url, response.text)
        expected = "invalid_cursor" if "cursor=" in url else "validation_error"
        assert response.json()["error"]["code"] == expected


async def test_a_contact_without_any_identifier_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for body in [{}, {"first_name": "Ann"}, {"attributes": {"plan": "pro"}}, {"email": None, "phone": None}]:
        response = await client.post("/v1/contacts", headers=admin_headers, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] == "no_identifier"
    listed = (await client.get("/v1/contacts", headers=admin_headers)).json()
    assert listed["data"] == []  # nothing was stored
    for body in [{"email": "id@example.test"}, {"external_id": "u-1"}, {"phone": "+33612345678"}]:
        response = await client.post("/v1/contacts", headers=admin_headers, json=body)
        assert response.status_code == 201, (body, response.text)
    # Nor can an update take the last identifier away.
    contact = (await client.post("/v1/contacts", headers=admin_headers, json={"email": "last@example.test"})).json()
    response = await client.patch(f"/v1/contacts/{contact['id']}", headers=admin_headers, json={"email": None})
    assert (response.status_code, response.json()["error"]["code"]) == (422, "no_identifier")
    kept = (await client.get(f"/v1/contacts/{contact['id']}", headers=admin_headers)).json()
    assert kept["email"] == "last@example.test"
