"""Every operation declares the permission it checks, as `x-permission` in the OpenAPI document, read from the
permission dependency (api/deps.py `require`) found among the route's dependencies."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

PERMISSION_EXTENSION = "x-permission"


def declared_permissions(dependant: Dependant) -> set[str]:
    found: set[str] = set()
    wanted = getattr(dependant.call, "permission", None)
    if isinstance(wanted, str):
        found.add(wanted)
    for sub in dependant.dependencies:
        found |= declared_permissions(sub)
    return found


def declare_permissions(router: APIRouter) -> APIRouter:
    """Set `x-permission` on each operation of the router whose route checks one (several checks are listed,
    comma-separated, in sorted order; a route should have one). Call before the router is included."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        found = declared_permissions(route.dependant)
        if found:
            route.openapi_extra = {**(route.openapi_extra or {}), PERMISSION_EXTENSION: ",".join(sorted(found))}
    return router
