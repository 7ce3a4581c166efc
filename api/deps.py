"""Request dependencies: sessions, the Temporal gateway, and authentication (bearer API keys, write keys)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security.http import HTTPAuthorizationCredentials, HTTPBase
from sqlalchemy.ext.asyncio import AsyncSession

from api.access.layer import PermissionLayer
from api.context import AppContext
from api.dispatch_interest import DispatchInterest
from api.errors import Unauthorized
from api.field_policies.current import current_field_policy
from domain.access.keys import Scope
from domain.access.permissions import LEGACY_SCOPES, Action, Resource, permission
from mauntic.request_context import current_actor, current_workspace
from mauntic.secrets import SecretBox
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.outbox_wake import DispatchWaker
from store.workspaces import find_api_key


def app_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


async def db_session(context: Annotated[AppContext, Depends(app_context)]) -> AsyncIterator[AsyncSession]:
    async with context.sessions() as session:
        yield session


def temporal_gateway(context: Annotated[AppContext, Depends(app_context)]) -> TemporalGateway:
    return context.temporal


def dispatch_interest(context: Annotated[AppContext, Depends(app_context)]) -> DispatchInterest:
    return context.interest


def dispatch_waker(context: Annotated[AppContext, Depends(app_context)]) -> DispatchWaker:
    return context.waker


def secret_box(context: Annotated[AppContext, Depends(app_context)]) -> SecretBox:
    return context.secrets


def app_settings(context: Annotated[AppContext, Depends(app_context)]) -> Settings:
    return context.settings


def public_base_url(context: Annotated[AppContext, Depends(app_context)]) -> str:
    return context.settings.api_base_url


Session = Annotated[AsyncSession, Depends(db_session)]
AppContextDep = Annotated[AppContext, Depends(app_context)]
BaseUrl = Annotated[str, Depends(public_base_url)]
AppSettings = Annotated[Settings, Depends(app_settings)]
Secrets = Annotated[SecretBox, Depends(secret_box)]
Temporal = Annotated[TemporalGateway, Depends(temporal_gateway)]
Waker = Annotated[DispatchWaker, Depends(dispatch_waker)]
Interest = Annotated[DispatchInterest, Depends(dispatch_interest)]


@dataclass(frozen=True)
class Principal:
    workspace_id: str
    key_id: str
    scopes: list[str]
    role: str | None = None  # the role the key acts as (built-in or custom); None for a key with a scope set
    permissions: frozenset[str] = frozenset()  # `resource:action` strings the key holds (domain/access/permissions)

    def holds(self, wanted: str) -> bool:
        return wanted in self.permissions

    @property
    def actor(self) -> str:
        """How the audit log names who acted."""
        return f"key:{self.key_id}"


class DeclaredScheme(HTTPBase):
    """Declares an HTTP authentication scheme in OpenAPI, so /docs offers an Authorize button and clients see how
    each route authenticates; checking the credentials stays ours (stable error codes, one error shape)."""

    async def __call__(self, request: Request) -> HTTPAuthorizationCredentials | None:  # type: ignore[override]
        return None


API_KEY_SCHEME = DeclaredScheme(
    scheme="bearer", scheme_name="ApiKey", description="An API key: `Authorization: Bearer <api_key>`."
)
WRITE_KEY_SCHEME = DeclaredScheme(
    scheme="basic",
    scheme_name="WriteKey",
    description="Segment's convention: the workspace's write key as the HTTP Basic user, no password "
    "(or `writeKey` in the body).",
)


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send an API key as `Authorization: Bearer <key>`", code="missing_api_key")
    return token.strip()


def permission_layer(context: Annotated[AppContext, Depends(app_context)]) -> PermissionLayer:
    """The layer resolving and checking permissions; benchmarks override it (api/access/layer.py Unchecked)."""
    return context.permissions


Layer = Annotated[PermissionLayer, Depends(permission_layer)]


def require(resource: Resource, action: Action) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency authenticating the bearer key and requiring `resource:action`; 403 `permission_denied`
    naming it otherwise (`insufficient_scope` for a legacy scope-set key). Sets `current_actor`. The permission
    is declared on the operation in OpenAPI as `x-permission` (api/access/openapi.py)."""
    wanted = permission(resource, action)

    async def dependency(
        request: Request, session: Session, layer: Layer, _: Annotated[object, Security(API_KEY_SCHEME)] = None
    ) -> Principal:
        key = await find_api_key(session, _bearer_token(request))
        if key is None or key.revoked_at is not None:
            raise Unauthorized("the API key is not valid", code="invalid_api_key")
        held = await layer.permissions(session, key)
        layer.enforce(held, wanted, legacy=key.role is None)
        await layer.note_use(session, key)
        principal = Principal(
            workspace_id=key.workspace_id, key_id=key.id, scopes=key.scopes, role=key.role, permissions=held
        )
        current_actor.set(principal.actor)
        current_workspace.set(principal.workspace_id)
        # the role's field policy, read by every contact serializer of this request (api/field_policies)
        policies = request.app.state.context.field_policies
        current_field_policy.set(await policies.of(session, principal.workspace_id, principal.role))
        return principal

    dependency.permission = wanted  # type: ignore[attr-defined]
    return dependency


def require_scope(scope: Scope) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Kept for callers of the scope API: the permission a legacy scope names (its first, for a broad scope)."""
    if scope is Scope.ADMIN:
        return require(Resource.SETTINGS, Action.WRITE)
    resource, _, action = scope.value.partition(":")
    assert permission(resource, action) in LEGACY_SCOPES[scope.value]
    return require(Resource(resource), Action(action))


def basic_auth_user(request: Request) -> str:
    """The HTTP Basic user (Segment's write key); the password is ignored, as Segment does."""
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise Unauthorized("send the write key as the HTTP Basic user", code="missing_write_key")
    try:
        user, _, _ = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthorized("the Basic credentials are not valid base64", code="invalid_write_key") from exc
    if not user:
        raise Unauthorized("send the write key as the HTTP Basic user", code="missing_write_key")
    return user


R, A = Resource, Action
# the aliases routes declare; each is one `resource:action` permission (see domain/access/permissions.py)
ContactsRead = Annotated[Principal, Depends(require(R.CONTACTS, A.READ))]
ContactsWrite = Annotated[Principal, Depends(require(R.CONTACTS, A.WRITE))]
ContactsDelete = Annotated[Principal, Depends(require(R.CONTACTS, A.DELETE))]
ContactsExport = Annotated[Principal, Depends(require(R.CONTACTS, A.EXPORT))]
ConsentRead = Annotated[Principal, Depends(require(R.CONSENT, A.READ))]
ConsentWrite = Annotated[Principal, Depends(require(R.CONSENT, A.WRITE))]
CompaniesRead = Annotated[Principal, Depends(require(R.COMPANIES, A.READ))]
CompaniesWrite = Annotated[Principal, Depends(require(R.COMPANIES, A.WRITE))]
CompaniesDelete = Annotated[Principal, Depends(require(R.COMPANIES, A.DELETE))]
ImportsRead = Annotated[Principal, Depends(require(R.IMPORTS, A.READ))]
ImportsWrite = Annotated[Principal, Depends(require(R.IMPORTS, A.WRITE))]
IdentityRead = Annotated[Principal, Depends(require(R.IDENTITY, A.READ))]
IdentityWrite = Annotated[Principal, Depends(require(R.IDENTITY, A.WRITE))]
EventsRead = Annotated[Principal, Depends(require(R.EVENTS, A.READ))]
JourneysRead = Annotated[Principal, Depends(require(R.JOURNEYS, A.READ))]
JourneysWrite = Annotated[Principal, Depends(require(R.JOURNEYS, A.WRITE))]
JourneysDelete = Annotated[Principal, Depends(require(R.JOURNEYS, A.DELETE))]
JourneysPublish = Annotated[Principal, Depends(require(R.JOURNEYS, A.PUBLISH))]
SegmentsRead = Annotated[Principal, Depends(require(R.SEGMENTS, A.READ))]
SegmentsWrite = Annotated[Principal, Depends(require(R.SEGMENTS, A.WRITE))]
SegmentsDelete = Annotated[Principal, Depends(require(R.SEGMENTS, A.DELETE))]
ScoringRead = Annotated[Principal, Depends(require(R.SCORING, A.READ))]
ScoringWrite = Annotated[Principal, Depends(require(R.SCORING, A.WRITE))]
ScoringDelete = Annotated[Principal, Depends(require(R.SCORING, A.DELETE))]
DeliveryRead = Annotated[Principal, Depends(require(R.DELIVERY, A.READ))]
DeliveryWrite = Annotated[Principal, Depends(require(R.DELIVERY, A.WRITE))]
DeliveryDelete = Annotated[Principal, Depends(require(R.DELIVERY, A.DELETE))]
WebhooksRead = Annotated[Principal, Depends(require(R.WEBHOOKS, A.READ))]
WebhooksWrite = Annotated[Principal, Depends(require(R.WEBHOOKS, A.WRITE))]
WebhooksDelete = Annotated[Principal, Depends(require(R.WEBHOOKS, A.DELETE))]
DeadLettersRead = Annotated[Principal, Depends(require(R.DEAD_LETTERS, A.READ))]
DeadLettersWrite = Annotated[Principal, Depends(require(R.DEAD_LETTERS, A.WRITE))]
DeadLettersDelete = Annotated[Principal, Depends(require(R.DEAD_LETTERS, A.DELETE))]
AuditRead = Annotated[Principal, Depends(require(R.AUDIT, A.READ))]
AccessRead = Annotated[Principal, Depends(require(R.ACCESS, A.READ))]
AccessWrite = Annotated[Principal, Depends(require(R.ACCESS, A.WRITE))]
AccessDelete = Annotated[Principal, Depends(require(R.ACCESS, A.DELETE))]
SettingsRead = Annotated[Principal, Depends(require(R.SETTINGS, A.READ))]
SettingsWrite = Annotated[Principal, Depends(require(R.SETTINGS, A.WRITE))]
# workspace administration (held by owner and admin only); prefer a finer alias (AuditRead, AccessWrite, ...)
Admin = Annotated[Principal, Depends(require(R.SETTINGS, A.WRITE))]
