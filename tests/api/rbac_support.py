"""Keys of each built-in role, and requests built from the OpenAPI document (shared by the RBAC tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.access.permissions import BUILTIN_ROLES
from store.db import create_async_db_engine, session_factory
from store.workspaces import create_api_key

# Operations that check no API-key permission, and why. Anything else without `x-permission` fails the matrix.
PUBLIC_OPERATIONS: dict[str, str] = {
    "GET /health": "liveness/readiness probe, no data",
    **{
        f"POST /v1/{call}": "Segment-compatible ingestion: authenticated by the workspace write key (HTTP Basic)"
        for call in ("identify", "track", "page", "screen", "group", "alias", "batch")
    },
    "POST /v1/webhooks/{provider_id}": "provider webhooks: authenticated by each provider's signature",
    "POST /v1/webhooks/{provider_id}/inbound": "inbound messages (Twilio STOP/START): X-Twilio-Signature",
}
PROBE_BODY = {"rbac_matrix_probe": True}  # no operation accepts it: a granted call stops at validation (422)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the OpenAPI template
    url: str  # with dummy path parameters
    permission: str | None
    has_body: bool

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def _dummy(parameter: dict[str, Any]) -> str:
    schema = parameter.get("schema", {})
    if schema.get("type") == "integer":
        return str(max(1, int(schema.get("minimum", 1))))
    if schema.get("enum"):
        return str(schema["enum"][0])
    return {"channel": "email", "address": "nobody@example.test"}.get(parameter["name"], "rbac_missing_0")


def operations(openapi: dict[str, Any]) -> list[Operation]:
    found: list[Operation] = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            url = path
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    url = url.replace("{" + parameter["name"] + "}", _dummy(parameter))
            found.append(
                Operation(method.upper(), path, url, operation.get("x-permission"), "requestBody" in operation)
            )
    return found


def undeclared(openapi: dict[str, Any]) -> list[str]:
    """Operations that declare no permission and are not on the justified public list."""
    return [op.label for op in operations(openapi) if op.permission is None and op.label not in PUBLIC_OPERATIONS]


async def role_keys(database_url: str, workspace_id: str) -> dict[str, dict[str, str]]:
    """Authorization headers of one key per built-in role."""
    engine = create_async_db_engine(database_url)
    headers: dict[str, dict[str, str]] = {}
    try:
        async with session_factory(engine)() as session:
            for role in BUILTIN_ROLES:
                _, secret = await create_api_key(session, workspace_id, f"matrix-{role}", [], role=role)
                headers[role] = {"Authorization": f"Bearer {secret}"}
    finally:
        await engine.dispose()
    return headers
