"""Delivery providers: per-provider configuration validated on create and update, secrets encrypted at rest and
never returned, and the per-channel fallback chain (enabled providers by priority)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from api.deps import AppSettings, BaseUrl, DeliveryDelete, DeliveryRead, DeliveryWrite, Secrets, Session
from api.errors import Conflict, NotFound, Unprocessable
from api.pagination import Cursor, Page, page_of
from api.schemas.providers import ProviderChain, ProviderCreate, ProviderPublic, ProviderUpdate
from api.validation import ResourceId
from api.webhook_urls import webhook_url
from api.webhooks.verify_sendgrid import public_key as sendgrid_public_key
from domain.clock import utcnow
from domain.delivery.providers import (
    Channel,
    ProviderConfig,
    ProviderType,
    SendGridProviderConfig,
    channel_of,
    parse_config,
)
from domain.delivery.targets import target_problems
from domain.ids import new_id
from mauntic.secrets import SecretBox, SecretDecryptionError
from mauntic.settings import Settings
from store.models import DeliveryProvider
from store.providers import (
    get_provider,
    list_providers,
    provider_chain,
    provider_named,
    secrets_set,
    store_config,
    stored_config,
)

router = APIRouter(prefix="/v1", tags=["delivery providers"])
Choice = TypeVar("Choice", bound=StrEnum)


def _member(kind: type[Choice], raw: str, *, field: str, what: str) -> Choice:
    """The enum member named `raw`, or a 422 `unknown_<what>` naming the field and listing the allowed values."""
    try:
        return kind(raw)
    except ValueError:
        raise Unprocessable(
            f"unknown {what} {raw!r}",
            code=f"unknown_{what.replace(' ', '_')}",
            details={"field": field, "allowed": [member.value for member in kind]},
        ) from None


def _provider_type(raw: str) -> ProviderType:
    return _member(ProviderType, raw, field="type", what="provider type")


def _channel(raw: str) -> Channel:
    return _member(Channel, raw, field="channel", what="channel")


def _compatible(provider_type: ProviderType, channel: Channel) -> Channel:
    serves = channel_of(provider_type)
    if channel != serves:
        raise Unprocessable(
            f"a {provider_type.value} provider sends {serves.value}, not {channel.value}",
            code="incompatible_channel",
            details={"field": "channel", "provider_type": provider_type.value, "supported_channel": serves.value},
        )
    return channel


def _config(provider_type: ProviderType, raw: dict[str, Any], settings: Settings) -> ProviderConfig:
    try:
        config = parse_config(provider_type, raw)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(["config", *(str(p) for p in err["loc"])]), "message": err["msg"]}
            for err in exc.errors()
        ]
        raise Unprocessable(
            f"invalid {provider_type.value} configuration: {problems[0]['field']}: {problems[0]['message']}",
            code="invalid_provider_config",
            details={"errors": problems},
        ) from None
    blocked = target_problems(config, private_networks_allowed=settings.provider_private_networks)
    if blocked:
        first = blocked[0]
        raise Unprocessable(
            f"config.{first.field}: {first.message} (a deployment whose providers are on its own network allows "
            "this with MAUNTIC_PROVIDER_PRIVATE_NETWORKS=true)",
            code=first.code,
            details={"errors": [{"field": f"config.{p.field}", "message": p.message} for p in blocked]},
        )
    if isinstance(config, SendGridProviderConfig) and config.webhook_verification_key:
        try:
            sendgrid_public_key(config.webhook_verification_key)
        except ValueError as exc:  # caught now, not as a 403 on the first signed webhook
            problem = {"field": "config.webhook_verification_key", "message": str(exc)}
            raise Unprocessable(
                f"config.webhook_verification_key: {exc}", code="invalid_provider_config", details={"errors": [problem]}
            ) from None
    return config


def _public(provider: DeliveryProvider, box: SecretBox, base_url: str) -> ProviderPublic:
    return ProviderPublic(
        id=provider.id,
        name=provider.name,
        type=ProviderType(provider.type),
        channel=Channel(provider.channel),
        priority=provider.priority,
        enabled=provider.enabled,
        config=provider.config,
        secrets_set=secrets_set(provider, box),
        webhook_url=webhook_url(base_url, provider.id),
        created_at=provider.created_at,
        updated_at=provider.updated_at,
    )


async def _owned(session: Session, workspace_id: str, provider_id: str) -> DeliveryProvider:
    provider = await get_provider(session, workspace_id, provider_id)
    if provider is None:
        raise NotFound(f"no provider {provider_id}", code="provider_not_found")
    return provider


async def _commit_unique_name(session: Session, name: str) -> None:
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(f"a provider named {name!r} exists", code="provider_exists") from None


@router.post("/providers", status_code=201)
async def create_provider(
    body: ProviderCreate, principal: DeliveryWrite, session: Session, box: Secrets, base: BaseUrl, settings: AppSettings
) -> ProviderPublic:
    provider_type = _provider_type(body.type)
    channel = _compatible(provider_type, _channel(body.channel))
    config = _config(provider_type, body.config, settings)
    if await provider_named(session, principal.workspace_id, body.name):
        raise Conflict(f"a provider named {body.name!r} exists", code="provider_exists")
    provider = DeliveryProvider(
        id=new_id("prv"),
        workspace_id=principal.workspace_id,
        name=body.name,
        type=provider_type.value,
        channel=channel.value,
        priority=body.priority,
        enabled=body.enabled,
    )
    store_config(provider, config, box)
    session.add(provider)
    await _commit_unique_name(session, body.name)
    return _public(provider, box, base)


@router.get("/providers")
async def list_all(
    principal: DeliveryRead,
    session: Session,
    box: Secrets,
    base: BaseUrl,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ProviderPublic]:
    rows = await list_providers(session, principal.workspace_id, after=cursor, limit=limit + 1)
    page, next_cursor = page_of(rows, limit)
    return Page[ProviderPublic](data=[_public(p, box, base) for p in page], next_cursor=next_cursor)


@router.get("/providers/{provider_id}")
async def read_provider(
    provider_id: ResourceId, principal: DeliveryRead, session: Session, box: Secrets, base: BaseUrl
) -> ProviderPublic:
    return _public(await _owned(session, principal.workspace_id, provider_id), box, base)


@router.patch("/providers/{provider_id}")
async def update_provider(
    provider_id: ResourceId,
    body: ProviderUpdate,
    principal: DeliveryWrite,
    session: Session,
    box: Secrets,
    base: BaseUrl,
    settings: AppSettings,
) -> ProviderPublic:
    provider = await _owned(session, principal.workspace_id, provider_id)
    provider_type = ProviderType(provider.type)
    if body.channel is not None:
        provider.channel = _compatible(provider_type, _channel(body.channel)).value
    if body.config is not None:
        try:
            current = stored_config(provider, box).model_dump(mode="json")
        except SecretDecryptionError:  # the key changed: the secrets must come again, with this update
            current = dict(provider.config)
        store_config(provider, _config(provider_type, {**current, **body.config}, settings), box)
    for field in ("name", "priority", "enabled"):
        value = getattr(body, field)
        if value is not None:
            setattr(provider, field, value)
    provider.updated_at = utcnow()
    session.add(provider)
    await _commit_unique_name(session, provider.name)
    return _public(provider, box, base)


@router.delete("/providers/{provider_id}", status_code=204)
async def delete_provider(provider_id: ResourceId, principal: DeliveryDelete, session: Session) -> Response:
    provider = await _owned(session, principal.workspace_id, provider_id)
    await session.delete(provider)
    await session.commit()
    return Response(status_code=204)


@router.get("/channels/{channel}/chain")
async def channel_chain(
    channel: str, principal: DeliveryRead, session: Session, box: Secrets, base: BaseUrl
) -> ProviderChain:
    """The order a send on this channel tries providers in; with none configured, email uses the deployment's
    SMTP relay (MAUNTIC_SMTP_*)."""
    resolved = _channel(channel)
    rows = await provider_chain(session, principal.workspace_id, resolved.value)
    return ProviderChain(channel=resolved, providers=[_public(p, box, base) for p in rows])
