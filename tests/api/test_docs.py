"""/docs works with no network: every asset Swagger UI and ReDoc load comes from the API itself, and the OpenAPI
declares how each route authenticates, so Swagger UI has an Authorize button."""

from __future__ import annotations

import re

import httpx


async def test_swagger_ui_and_redoc_load_only_same_origin_assets(client: httpx.AsyncClient) -> None:
    for page in ["/docs", "/redoc"]:
        response = await client.get(page)
        assert response.status_code == 200, page
        html = response.text
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html) + re.findall(r"url:\s*'([^']+)'", html)
        assets = [u for u in urls if u.endswith((".js", ".css", ".png"))]
        assert assets, html
        for url in urls:
            assert not re.match(r"^(https?:)?//", url), f"{page} loads {url} from another origin"
        for asset in assets:
            served = await client.get(asset)
            assert served.status_code == 200, asset
            assert len(served.content) > 1000, asset
    assert "/openapi.json" in (await client.get("/docs")).text


async def test_openapi_declares_the_api_key_and_write_key_schemes(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {"type": "http", "scheme": "bearer", "description": schemes["ApiKey"]["description"]}
    assert schemes["WriteKey"]["scheme"] == "basic"
    assert spec["paths"]["/v1/contacts"]["get"]["security"] == [{"ApiKey": []}]
    assert spec["paths"]["/v1/journeys"]["post"]["security"] == [{"ApiKey": []}]
    assert spec["paths"]["/v1/batch"]["post"]["security"] == [{"WriteKey": []}]
    assert "security" not in spec["paths"]["/health"]["get"]  # public


async def test_the_declared_scheme_does_not_change_how_keys_are_checked(client: httpx.AsyncClient) -> None:
    for headers in [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic Zm9v"}]:
        response = await client.get("/v1/contacts", headers=headers)
        assert (response.status_code, response.json()["error"]["code"]) == (401, "missing_api_key")
    response = await client.get("/v1/contacts", headers={"Authorization": "Bearer nope"})
    assert (response.status_code, response.json()["error"]["code"]) == (401, "invalid_api_key")
