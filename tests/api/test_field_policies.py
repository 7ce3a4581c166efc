from __future__ import annotations

import httpx
from sqlalchemy import update

from store.db import create_async_db_engine, session_factory
from store.models import ApiKey
from store.workspaces import NewWorkspace, create_api_key


async def _role_key(database_url: str, workspace: NewWorkspace, role: str) -> dict[str, str]:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            key, secret = await create_api_key(
                session, workspace.workspace.id, "r", ["contacts:read", "contacts:write"]
            )
            await session.execute(update(ApiKey).where(ApiKey.id == key.id).values(role=role))  # type: ignore[arg-type]
            await session.commit()
    finally:
        await engine.dispose()
    return {"Authorization": f"Bearer {secret}"}


async def test_reads_masked_hidden_and_writes_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace, database_url: str
) -> None:
    put = await client.put(
        "/v1/field-policies/marketer",
        headers=admin_headers,
        json={"fields": {"email": "masked", "phone": "hidden", "first_name": "read_only", "attributes.ssn": "hidden"}},
    )
    assert put.status_code == 200, put.text
    created = await client.post(
        "/v1/contacts", headers=admin_headers,
        json={"email": "jane@example.com", "phone": "+33612345678", "first_name": "Jane",
              "attributes": {"ssn": "123", "plan": "pro"}},
    )  # fmt: skip
    contact_id = created.json()["id"]
    marketer = await _role_key(database_url, workspace, "marketer")

    read = (await client.get(f"/v1/contacts/{contact_id}", headers=marketer)).json()
    assert read["email"] == "j***@example.com"
    assert "phone" not in read
    assert read["attributes"] == {"plan": "pro"}
    listed = (await client.get("/v1/contacts", headers=marketer)).json()["data"]
    assert listed[0]["email"] == "j***@example.com"
    assert "phone" not in listed[0]

    refused = await client.patch(f"/v1/contacts/{contact_id}", headers=marketer, json={"first_name": "X"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "field_read_only"
    assert (await client.get(f"/v1/contacts/{contact_id}", headers=admin_headers)).json()["first_name"] == "Jane"
    allowed = await client.patch(f"/v1/contacts/{contact_id}", headers=marketer, json={"last_name": "Doe"})
    assert allowed.status_code == 200, allowed.text

    bad = await client.put("/v1/field-policies/marketer", headers=admin_headers, json={"fields": {"pw": "hidden"}})
    assert bad.status_code == 422
