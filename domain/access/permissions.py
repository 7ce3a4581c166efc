"""The permission catalogue: resources, their actions, the built-in roles and what legacy scopes mean.

A permission is the string `resource:action` (`contacts:read`, `journeys:publish`). Every route declares the one
permission it needs; a key holds a set of them, from its role (built-in or custom) or from its legacy scope set.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from domain.access.keys import Scope


class Resource(StrEnum):
    CONTACTS = "contacts"
    CONSENT = "consent"
    COMPANIES = "companies"
    IMPORTS = "imports"
    IDENTITY = "identity"  # merge policy, merges and unmerges
    EVENTS = "events"  # ingested events and their rejections
    JOURNEYS = "journeys"  # journeys, their runs, tasks and simulations
    SEGMENTS = "segments"
    SCORING = "scoring"
    DELIVERY = "delivery"  # providers, sending domains, suppressions, messages, send policy
    WEBHOOKS = "webhooks"  # outbound webhook endpoints and their deliveries
    DEAD_LETTERS = "dead_letters"
    AUDIT = "audit"
    ACCESS = "access"  # users, roles, API keys
    SETTINGS = "settings"  # workspace settings (calendar, ...)


class Action(StrEnum):
    READ = "read"
    WRITE = "write"  # create and update
    DELETE = "delete"
    PUBLISH = "publish"  # journeys: publish, pause, resume, migrate
    ADMIN = "admin"  # access: grant, change or remove the owner role
    EXPORT = "export"  # contacts: a bulk export of every contact (apart from reading them page by page)


_CRUD = (Action.READ, Action.WRITE, Action.DELETE)

CATALOGUE: dict[Resource, tuple[Action, ...]] = {
    Resource.CONTACTS: (*_CRUD, Action.EXPORT),
    Resource.CONSENT: (Action.READ, Action.WRITE),
    Resource.COMPANIES: _CRUD,
    Resource.IMPORTS: (Action.READ, Action.WRITE),
    Resource.IDENTITY: (Action.READ, Action.WRITE),
    Resource.EVENTS: (Action.READ, Action.WRITE),
    Resource.JOURNEYS: (*_CRUD, Action.PUBLISH),
    Resource.SEGMENTS: _CRUD,
    Resource.SCORING: _CRUD,
    Resource.DELIVERY: _CRUD,
    Resource.WEBHOOKS: _CRUD,
    Resource.DEAD_LETTERS: (Action.READ, Action.WRITE, Action.DELETE),
    Resource.AUDIT: (Action.READ,),
    Resource.ACCESS: (*_CRUD, Action.ADMIN),
    Resource.SETTINGS: (Action.READ, Action.WRITE),
}


def permission(resource: Resource | str, action: Action | str) -> str:
    return f"{Resource(resource).value}:{Action(action).value}"


ALL_PERMISSIONS: frozenset[str] = frozenset(
    permission(resource, action) for resource, actions in CATALOGUE.items() for action in actions
)


class UnknownPermission(ValueError):
    """A permission the catalogue does not define."""


def validated(permissions: Iterable[str]) -> frozenset[str]:
    """The permissions as a set; UnknownPermission naming the first one the catalogue lacks."""
    given = frozenset(permissions)
    unknown = sorted(given - ALL_PERMISSIONS)
    if unknown:
        raise UnknownPermission(unknown[0])
    return given


def _on(resources: Iterable[Resource], *actions: Action) -> frozenset[str]:
    return frozenset(
        permission(resource, action) for resource in resources for action in actions if action in CATALOGUE[resource]
    )


class BuiltinRole(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MARKETER = "marketer"
    ANALYST = "analyst"
    VIEWER = "viewer"


_AUDIENCE = (
    Resource.CONTACTS,
    Resource.CONSENT,
    Resource.COMPANIES,
    Resource.IMPORTS,
    Resource.IDENTITY,
    Resource.EVENTS,
    Resource.JOURNEYS,
    Resource.SEGMENTS,
    Resource.SCORING,
)
_VIEWED = (
    Resource.CONTACTS,
    Resource.CONSENT,
    Resource.COMPANIES,
    Resource.IDENTITY,
    Resource.EVENTS,
    Resource.JOURNEYS,
    Resource.SEGMENTS,
    Resource.SCORING,
    Resource.DELIVERY,
)
_OPERATIONS = (Resource.IMPORTS, Resource.WEBHOOKS, Resource.DEAD_LETTERS, Resource.SETTINGS)

_VIEWER = _on(_VIEWED, Action.READ)
_ANALYST = (
    _VIEWER
    | _on(_OPERATIONS, Action.READ)
    | {permission(Resource.SEGMENTS, Action.WRITE), permission(Resource.CONTACTS, Action.EXPORT)}
)
_MARKETER = (
    _on(_AUDIENCE, *Action)
    | _on((Resource.DELIVERY,), Action.READ, Action.WRITE)
    | _on((Resource.WEBHOOKS, Resource.DEAD_LETTERS, Resource.SETTINGS), Action.READ)
)

BUILTIN_ROLES: dict[str, frozenset[str]] = {
    BuiltinRole.OWNER.value: ALL_PERMISSIONS,
    # everything but granting, changing or removing the owner role
    BuiltinRole.ADMIN.value: ALL_PERMISSIONS - {permission(Resource.ACCESS, Action.ADMIN)},
    # builds audiences and journeys and sends; reads operations; no access, audit or settings changes
    BuiltinRole.MARKETER.value: frozenset(_MARKETER),
    # reads everything but access and audit; builds segments; exports contacts
    BuiltinRole.ANALYST.value: frozenset(_ANALYST),
    # reads audiences, journeys and delivery
    BuiltinRole.VIEWER.value: _VIEWER,
}

OWNER = BuiltinRole.OWNER.value
OWNER_ADMIN = permission(Resource.ACCESS, Action.ADMIN)


def is_builtin(role: str) -> bool:
    return role in BUILTIN_ROLES


def _legacy(scope: Scope) -> frozenset[str]:
    contacts = (
        Resource.CONTACTS,
        Resource.CONSENT,
        Resource.COMPANIES,
        Resource.IMPORTS,
        Resource.IDENTITY,
        Resource.SCORING,
    )
    delivery = (Resource.DELIVERY, Resource.WEBHOOKS, Resource.DEAD_LETTERS)
    table: dict[Scope, frozenset[str]] = {
        Scope.ADMIN: ALL_PERMISSIONS,
        Scope.CONTACTS_READ: _on((*contacts, Resource.EVENTS), Action.READ, Action.EXPORT),
        Scope.CONTACTS_WRITE: _on(contacts, Action.WRITE, Action.DELETE),
        Scope.JOURNEYS_READ: _on((Resource.JOURNEYS, Resource.SETTINGS), Action.READ),
        Scope.JOURNEYS_WRITE: _on((Resource.JOURNEYS,), Action.WRITE, Action.DELETE, Action.PUBLISH),
        Scope.EVENTS_WRITE: _on((Resource.EVENTS,), Action.WRITE),
        Scope.DELIVERY_READ: _on(delivery, Action.READ),
        Scope.DELIVERY_WRITE: _on(delivery, Action.WRITE, Action.DELETE),
        Scope.SEGMENTS_READ: _on((Resource.SEGMENTS,), Action.READ),
        Scope.SEGMENTS_WRITE: _on((Resource.SEGMENTS,), Action.WRITE, Action.DELETE),
    }
    return table[scope]


LEGACY_SCOPES: dict[str, frozenset[str]] = {scope.value: _legacy(scope) for scope in Scope}


def scope_permissions(scopes: Iterable[str]) -> frozenset[str]:
    """What a legacy scope-set key may do (unknown scope strings grant nothing)."""
    held: set[str] = set()
    for scope in scopes:
        held |= LEGACY_SCOPES.get(scope, frozenset())
    return frozenset(held)


def escalation(granted: Iterable[str], held: frozenset[str]) -> str | None:
    """The first permission (sorted) in `granted` that `held` lacks: a grant may not exceed its grantor."""
    missing = sorted(set(granted) - held)
    return missing[0] if missing else None
