from __future__ import annotations

import httpx


async def test_merge_policy_default_then_replaced(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    default = await client.get("/v1/identity/merge-policy", headers=admin_headers)
    assert default.status_code == 200, default.text
    assert default.json()["unique"] == ["email", "external_id"]
    assert default.json()["journeys"] == "hand_over"

    body = {"unique": ["email", "ext:crm"], "match": [["email"], ["phone", "ext:crm"]], "journeys": "exit",
            "survivorship": {"first_name": {"rule": "source_priority", "sources": ["crm", "web"]}}}  # fmt: skip
    put = await client.put("/v1/identity/merge-policy", headers=admin_headers, json=body)
    assert put.status_code == 200, put.text
    read = (await client.get("/v1/identity/merge-policy", headers=admin_headers)).json()
    assert read["unique"] == ["email", "ext:crm"]
    assert read["match"] == [["email"], ["phone", "ext:crm"]]
    assert read["journeys"] == "exit"
    assert read["survivorship"]["first_name"]["sources"] == ["crm", "web"]


async def test_merge_policy_refuses_invalid(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    bodies: list[dict[str, object]] = [
        {"unique": ["fax"]},
        {"match": [[]]},
        {"survivorship": {"first_name": {"rule": "source_priority"}}},
        {"journeys": "stay"},
        {"unique": ["email\u0000"]},
    ]
    for body in bodies:
        response = await client.put("/v1/identity/merge-policy", headers=admin_headers, json=body)
        assert response.status_code == 422, (body, response.text)
    assert (await client.get("/v1/identity/merge-policy", headers=admin_headers)).json()["unique"] == [
        "email",
        "external_id",
    ]


async def test_merge_policy_needs_a_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/identity/merge-policy")).status_code == 401
