"""The RBAC matrix, generated from the OpenAPI document: every operation against every built-in role.

Each operation must declare the permission it checks (`x-permission`) unless it is on the justified public list.
For each (operation, role) the request is built from the document (dummy path ids, a probe body no operation
accepts), sent with a key of the role, and must answer 403 `permission_denied` exactly when the role lacks the
declared permission (a granted call gets past the check: 404/422/2xx, never 403).
"""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from api.deps import ContactsRead
from domain.access.permissions import BUILTIN_ROLES
from store.workspaces import NewWorkspace
from tests.api.rbac_support import PROBE_BODY, PUBLIC_OPERATIONS, operations, role_keys, undeclared


def test_every_operation_declares_a_permission_or_is_justified_public(app: FastAPI) -> None:
    assert undeclared(app.openapi()) == []
    labels = {op.label for op in operations(app.openapi())}
    assert set(PUBLIC_OPERATIONS) <= labels, "a public operation listed here no longer exists: drop it"


def test_a_route_without_a_check_is_caught() -> None:
    router = APIRouter()

    @router.get("/v1/unchecked")
    async def unchecked() -> dict[str, str]:
        return {}

    @router.get("/v1/checked")
    async def checked(principal: ContactsRead) -> dict[str, str]:
        return {}

    from api.access.openapi import declare_permissions

    probe = FastAPI()
    probe.include_router(declare_permissions(router))
    assert undeclared(probe.openapi()) == ["GET /v1/unchecked"]
    assert probe.openapi()["paths"]["/v1/checked"]["get"]["x-permission"] == "contacts:read"


@pytest.mark.timeout(120)
async def test_every_operation_against_every_builtin_role(
    app: FastAPI, client: httpx.AsyncClient, workspace: NewWorkspace, database_url: str
) -> None:
    keys = await role_keys(database_url, workspace.workspace.id)
    wrong: list[str] = []
    checked = 0
    for op in operations(app.openapi()):
        if op.permission is None:
            continue
        for role, granted in BUILTIN_ROLES.items():
            response = await client.request(
                op.method, op.url, headers=keys[role], json=PROBE_BODY if op.has_body else None
            )
            checked += 1
            denied = response.status_code == 403
            code = response.json().get("error", {}).get("code") if denied else None
            expected_denied = op.permission not in granted
            if expected_denied and (not denied or code != "permission_denied"):
                wrong.append(f"{role} {op.label} ({op.permission}): {response.status_code} {code}, expected 403")
            elif not expected_denied and (denied or response.status_code == 401 or response.status_code >= 500):
                wrong.append(f"{role} {op.label} ({op.permission}): {response.status_code}, expected past the check")
            if denied and expected_denied:
                assert op.permission in response.json()["error"]["message"]
    assert not wrong, "\n".join(wrong)
    assert checked >= 5 * 100
