from __future__ import annotations

import pytest

from domain.access.keys import Scope
from domain.access.permissions import (
    ALL_PERMISSIONS,
    BUILTIN_ROLES,
    CATALOGUE,
    OWNER_ADMIN,
    Resource,
    UnknownPermission,
    escalation,
    scope_permissions,
    validated,
)


def test_the_catalogue_covers_the_resources_and_actions() -> None:
    for resource in Resource:
        assert f"{resource.value}:read" in ALL_PERMISSIONS
    assert "journeys:publish" in ALL_PERMISSIONS
    assert "contacts:publish" not in ALL_PERMISSIONS
    assert len(ALL_PERMISSIONS) == sum(len(actions) for actions in CATALOGUE.values())


def test_builtin_roles_are_nested_and_only_owner_administers_owners() -> None:
    owner, admin, marketer, analyst, viewer = (BUILTIN_ROLES[name] for name in BUILTIN_ROLES)
    assert owner == ALL_PERMISSIONS
    assert viewer < analyst < admin < owner
    assert marketer < admin
    assert OWNER_ADMIN in owner
    assert OWNER_ADMIN not in admin
    assert not any(p.startswith(("access:", "audit:")) for p in marketer | analyst | viewer)
    assert "segments:write" in analyst
    assert "contacts:write" not in analyst
    assert "journeys:publish" in marketer
    assert "settings:write" not in marketer


def test_legacy_scopes_map_to_permissions() -> None:
    assert scope_permissions([Scope.ADMIN.value]) == ALL_PERMISSIONS
    reader = scope_permissions([Scope.CONTACTS_READ.value])
    assert {"contacts:read", "scoring:read", "events:read"} <= reader
    assert "contacts:write" not in reader
    assert "webhooks:write" in scope_permissions([Scope.DELIVERY_WRITE.value])
    assert "journeys:publish" in scope_permissions([Scope.JOURNEYS_WRITE.value])
    assert scope_permissions(["no-such-scope"]) == frozenset()
    for scope in Scope:
        assert scope_permissions([scope.value]) <= ALL_PERMISSIONS


def test_validated_names_the_unknown_permission() -> None:
    assert validated(["contacts:read"]) == {"contacts:read"}
    with pytest.raises(UnknownPermission) as raised:
        validated(["contacts:read", "contacts:fly", "zzz:read"])
    assert raised.value.args[0] == "contacts:fly"


def test_escalation_names_the_first_missing_permission() -> None:
    held = BUILTIN_ROLES["marketer"]
    assert escalation(["contacts:read"], held) is None
    assert escalation(BUILTIN_ROLES["admin"], held) == sorted(BUILTIN_ROLES["admin"] - held)[0]
