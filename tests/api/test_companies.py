"""Companies through the API: CRUD, uniqueness per workspace, contacts linked and unlinked."""

from __future__ import annotations

import httpx

from tests.conftest import new_workspace


async def _company(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> dict[str, object]:
    response = await client.post("/v1/companies", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_create_read_update_list_delete(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    acme = await _company(client, admin_headers, name="Acme", domain="Acme.com", attributes={"plan": "pro"})
    assert acme["domain"] == "acme.com"
    assert acme["attributes"] == {"plan": "pro"}
    read = await client.get(f"/v1/companies/{acme['id']}", headers=admin_headers)
    assert read.status_code == 200
    assert read.json()["name"] == "Acme"

    patched = await client.patch(
        f"/v1/companies/{acme['id']}", headers=admin_headers,
        json={"name": "Acme Inc", "attributes": {"plan": None, "seats": 12}},
    )  # fmt: skip
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Acme Inc"
    assert patched.json()["attributes"] == {"seats": 12}

    other = await _company(client, admin_headers, name="Globex")
    first = await client.get("/v1/companies", headers=admin_headers, params={"limit": 1})
    assert [c["id"] for c in first.json()["data"]] == [acme["id"]]
    second = await client.get(
        "/v1/companies", headers=admin_headers, params={"limit": 1, "cursor": first.json()["next_cursor"]}
    )
    assert [c["id"] for c in second.json()["data"]] == [other["id"]]
    assert second.json()["next_cursor"] is None

    deleted = await client.delete(f"/v1/companies/{acme['id']}", headers=admin_headers)
    assert deleted.status_code == 204
    gone = await client.get(f"/v1/companies/{acme['id']}", headers=admin_headers)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "company_not_found"


async def test_domain_and_external_id_unique_per_workspace(
    client: httpx.AsyncClient, admin_headers: dict[str, str], database_url: str
) -> None:
    await _company(client, admin_headers, name="A", domain="a.example", external_id="crm-1")
    await _company(client, admin_headers, name="No domain")
    await _company(client, admin_headers, name="No domain either")  # NULL domains never collide
    for body in ({"name": "B", "domain": "A.example"}, {"name": "C", "external_id": "crm-1"}):
        clash = await client.post("/v1/companies", headers=admin_headers, json=body)
        assert clash.status_code == 409
        assert clash.json()["error"]["code"] == "company_exists"
    elsewhere = await new_workspace(database_url)
    other = {"Authorization": f"Bearer {elsewhere.api_key}"}
    await _company(client, other, name="A", domain="a.example", external_id="crm-1")


async def test_contacts_link_list_and_unlink_on_delete(
    client: httpx.AsyncClient, admin_headers: dict[str, str], database_url: str
) -> None:
    acme = await _company(client, admin_headers, name="Acme")
    created = await client.post(
        "/v1/contacts", headers=admin_headers, json={"email": "ada@acme.test", "company_id": acme["id"]}
    )
    assert created.status_code == 201, created.text
    assert created.json()["company_id"] == acme["id"]
    loose = (await client.post("/v1/contacts", headers=admin_headers, json={"email": "bob@x.test"})).json()
    assert loose["company_id"] is None
    linked = await client.patch(f"/v1/contacts/{loose['id']}", headers=admin_headers, json={"company_id": acme["id"]})
    assert linked.status_code == 200
    assert linked.json()["company_id"] == acme["id"]

    members = await client.get(f"/v1/companies/{acme['id']}/contacts", headers=admin_headers)
    assert members.status_code == 200
    assert {c["id"] for c in members.json()["data"]} == {created.json()["id"], loose["id"]}

    unknown = await client.patch(f"/v1/contacts/{loose['id']}", headers=admin_headers, json={"company_id": "co_nope"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "company_not_found"
    elsewhere = await new_workspace(database_url)
    foreign = await _company(client, {"Authorization": f"Bearer {elsewhere.api_key}"}, name="Foreign")
    cross = await client.patch(f"/v1/contacts/{loose['id']}", headers=admin_headers, json={"company_id": foreign["id"]})
    assert cross.status_code == 422
    assert cross.json()["error"]["code"] == "company_not_found"
    assert (await client.get(f"/v1/companies/{foreign['id']}", headers=admin_headers)).status_code == 404

    unlinked = await client.patch(f"/v1/contacts/{loose['id']}", headers=admin_headers, json={"company_id": None})
    assert unlinked.json()["company_id"] is None

    assert (await client.delete(f"/v1/companies/{acme['id']}", headers=admin_headers)).status_code == 204
    after = await client.get(f"/v1/contacts/{created.json()['id']}", headers=admin_headers)
    assert after.status_code == 200
    assert after.json()["company_id"] is None
    missing = await client.get(f"/v1/companies/{acme['id']}/contacts", headers=admin_headers)
    assert missing.status_code == 404
