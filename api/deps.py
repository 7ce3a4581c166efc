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

from api.context import AppContext
from api.dispatch_interest import DispatchInterest
from api.errors import Forbidden, Unauthorized
from api.field_policies.current import current_field_policy
from domain.access.keys import Scope, grants
from mauntic.request_context import current_actor
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


def require_scope(scope: Scope) -> Callable[..., Coroutine[Any, Any, Principal]]:
    async def dependency(
        request: Request, session: Session, _: Annotated[object, Security(API_KEY_SCHEME)] = None
    ) -> Principal:
        key = await find_api_key(session, _bearer_token(request))
        if key is None or key.revoked_at is not None:
            raise Unauthorized("the API key is not valid", code="invalid_api_key")
        if not grants(key.scopes, scope):
            raise Forbidden(f"the API key lacks the `{scope.value}` scope", code="insufficient_scope")
        principal = Principal(workspace_id=key.workspace_id, key_id=key.id, scopes=key.scopes, role=key.role)
        current_actor.set(principal.actor)
        # the role's field policy, read by every contact serializer of this request (api/field_policies)
        policies = request.app.state.context.field_policies
        current_field_policy.set(await policies.of(session, principal.workspace_id, principal.role))
        return principal

    return dependency


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


ContactsRead = Annotated[Principal, Depends(require_scope(Scope.CONTACTS_READ))]
ContactsWrite = Annotated[Principal, Depends(require_scope(Scope.CONTACTS_WRITE))]
JourneysRead = Annotated[Principal, Depends(require_scope(Scope.JOURNEYS_READ))]
JourneysWrite = Annotated[Principal, Depends(require_scope(Scope.JOURNEYS_WRITE))]
DeliveryRead = Annotated[Principal, Depends(require_scope(Scope.DELIVERY_READ))]
DeliveryWrite = Annotated[Principal, Depends(require_scope(Scope.DELIVERY_WRITE))]
SegmentsRead = Annotated[Principal, Depends(require_scope(Scope.SEGMENTS_READ))]
SegmentsWrite = Annotated[Principal, Depends(require_scope(Scope.SEGMENTS_WRITE))]
Admin = Annotated[Principal, Depends(require_scope(Scope.ADMIN))]
