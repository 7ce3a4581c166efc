"""SQLModel tables. The schema itself is owned by the Alembic migrations in store/migrations/."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from domain.clock import utcnow
from store.types import UTCDateTime


def _ts(index: bool = False, nullable: bool = False) -> Any:
    return Field(
        default_factory=utcnow if not nullable else None,
        sa_column=Column(UTCDateTime(), nullable=nullable, index=index),
    )


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class Workspace(SQLModel, table=True):
    __tablename__ = "workspace"
    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    # IANA zone for contacts without one (quiet hours, local-time waits, business days); None means UTC.
    timezone: str | None = Field(default=None, max_length=64)
    created_at: datetime = _ts()


class ApiKey(SQLModel, table=True):
    """Admin/API bearer keys. Only the SHA-256 of the secret is kept."""

    __tablename__ = "api_key"
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=40)
    name: str = Field(max_length=200)
    key_hash: str = Field(unique=True, max_length=64)
    scopes: list[str] = _json(list)
    created_at: datetime = _ts()
    revoked_at: datetime | None = _ts(nullable=True)
    # RBAC (migration 0021): the role the key acts as (built-in or custom; None for a scope-set key), when it was
    # last used (written at most once a minute), when its secret was last rotated
    role: str | None = Field(default=None, max_length=64)
    last_used_at: datetime | None = _ts(nullable=True)
    rotated_at: datetime | None = _ts(nullable=True)


class WriteKey(SQLModel, table=True):
    """Segment-style ingestion write keys (the HTTP Basic user). Only the SHA-256 is kept."""

    __tablename__ = "write_key"
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=40)
    key_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = _ts()
    revoked_at: datetime | None = _ts(nullable=True)


class Contact(SQLModel, table=True):
    __tablename__ = "contact"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id", name="uq_contact_external_id"),
        Index("ix_contact_workspace_email", "workspace_id", "email"),
        Index("ix_contact_workspace_phone", "workspace_id", "phone"),
        Index("ix_contact_company", "workspace_id", "company_id"),
        # unique identifiers (migration 0028, domain/identity/identifiers.py): set only while the merge policy
        # lists the identifier as unique and the contact is not merged; partial: the many contacts without a key
        # cost no index entry on insert
        *(
            Index(
                f"uq_contact_{k}_key",
                "workspace_id",
                f"{k}_key",
                unique=True,
                sqlite_where=text(f"{k}_key IS NOT NULL"),
                postgresql_where=text(f"{k}_key IS NOT NULL"),
            )
            for k in ("email", "phone")
        ),
    )
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", max_length=40)
    external_id: str | None = Field(default=None, max_length=255)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    attributes: dict[str, Any] = _json(dict)
    # the company it belongs to (migration 0040_companies); no FK so a company delete only has to unlink
    company_id: str | None = Field(default=None, max_length=40)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    merged_into: str | None = Field(default=None, max_length=40)  # set by a merge (store/models_identity.py)
    email_key: str | None = Field(default=None, max_length=320)
    phone_key: str | None = Field(default=None, max_length=32)


class ContactIdentity(SQLModel, table=True):
    """Every identifier a contact was seen under (anonymousId, userId), kept after identify/alias."""

    __tablename__ = "contact_identity"
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "value", name="uq_contact_identity"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", max_length=40)
    kind: str = Field(max_length=16)
    value: str = Field(max_length=255)
    contact_id: str = Field(foreign_key="contact.id", index=True, max_length=40)
    created_at: datetime = _ts()


class Event(SQLModel, table=True):
    """Append-only log of everything ingested. `message_id` de-duplicates retries."""

    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("workspace_id", "message_id", name="uq_event_message_id"),
        Index("ix_event_contact", "workspace_id", "contact_id", "received_at"),
    )
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", max_length=40)
    message_id: str = Field(max_length=255)
    type: str = Field(max_length=16)
    name: str | None = Field(default=None, max_length=255)
    contact_id: str | None = Field(default=None, max_length=40)
    user_id: str | None = Field(default=None, max_length=255)
    anonymous_id: str | None = Field(default=None, max_length=255)
    properties: dict[str, Any] = _json(dict)
    context: dict[str, Any] = _json(dict)
    timestamp: datetime = _ts()
    received_at: datetime = _ts()


class Journey(SQLModel, table=True):
    __tablename__ = "journey"
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=40)
    name: str = Field(max_length=200)
    status: str = Field(default="draft", max_length=16)
    definition: dict[str, Any] = _json(dict)
    published_version: int | None = None
    # Set while the journey is paused (POST /v1/journeys/{id}/pause): contacts entering start with sends held.
    paused_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class JourneyVersion(SQLModel, table=True):
    """Immutable snapshot made at publish time; running journeys keep the version they entered on."""

    __tablename__ = "journey_version"
    __table_args__ = (UniqueConstraint("journey_id", "version", name="uq_journey_version"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", max_length=40)
    journey_id: str = Field(foreign_key="journey.id", index=True, max_length=40)
    version: int
    definition: dict[str, Any] = _json(dict)
    trigger_event: str = Field(max_length=255)
    published_at: datetime = _ts()


class JourneyEnrollment(SQLModel, table=True):
    """One row per (journey, contact): the guard that makes a second entry impossible."""

    __tablename__ = "journey_enrollment"
    __table_args__ = (
        UniqueConstraint("journey_id", "contact_id", name="uq_journey_enrollment"),
        Index("ix_enrollment_contact", "workspace_id", "contact_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", max_length=40)
    journey_id: str = Field(foreign_key="journey.id", max_length=40)
    contact_id: str = Field(foreign_key="contact.id", max_length=40)
    version: int
    workflow_id: str = Field(max_length=200)
    trigger_event_id: str = Field(max_length=40)  # of the latest entry
    entered_at: datetime = _ts()  # of the latest entry
    entries: int = 1  # how many times the contact entered (re-entry policies)


class MessageLog(SQLModel, table=True):
    """One row per message a journey asked to send; `idempotency_key` makes a send happen once."""

    __tablename__ = "message_log"
    __table_args__ = (Index("ix_message_log_provider_message", "workspace_id", "provider_message_id"),)
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=40)
    idempotency_key: str = Field(unique=True, max_length=255)
    journey_id: str | None = Field(default=None, max_length=40)
    contact_id: str | None = Field(default=None, index=True, max_length=40)
    step_id: str | None = Field(default=None, max_length=100)
    channel: str = Field(default="email", max_length=16)
    to_address: str = Field(max_length=320)
    subject: str | None = Field(default=None, max_length=998)
    status: str = Field(default="pending", max_length=16)
    provider: str | None = Field(default=None, max_length=32)
    provider_message_id: str | None = Field(default=None, max_length=255)
    error: str | None = Field(default=None, max_length=2000)
    attempts: int = 0
    created_at: datetime = _ts()
    sent_at: datetime | None = _ts(nullable=True)


class DeliveryProvider(SQLModel, table=True):
    """A configured delivery provider of a workspace. `config` holds the non-secret fields; `secrets` the secret
    ones, encrypted (mauntic.secrets.SecretBox). Per channel, enabled providers form a fallback chain ordered by
    `priority` (lowest first)."""

    __tablename__ = "delivery_provider"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_delivery_provider_name"),)
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=40)
    name: str = Field(max_length=100)
    type: str = Field(max_length=16)
    channel: str = Field(max_length=16)
    priority: int = 100
    enabled: bool = True
    config: dict[str, Any] = _json(dict)
    secrets: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class SendingDomain(SQLModel, table=True):
    """A domain a workspace sends email from, with the DNS records it must publish and the last check's result."""

    __tablename__ = "sending_domain"
    __table_args__ = (UniqueConstraint("workspace_id", "domain", name="uq_sending_domain"),)
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=40)
    domain: str = Field(max_length=253)
    status: str = Field(default="pending", max_length=16)
    dkim_selector: str = Field(max_length=63)
    dkim_private_key: str = Field(sa_column=Column(Text, nullable=False))  # encrypted PEM
    dkim_public_key: str = Field(sa_column=Column(Text, nullable=False))  # base64 DER (the p= value)
    records: list[dict[str, Any]] = _json(list)
    last_check: dict[str, Any] = _json(dict)
    checked_at: datetime | None = _ts(nullable=True)
    verified_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()


class DeliveryEvent(SQLModel, table=True):
    """A provider webhook event, normalized. The provider's own event id de-duplicates it."""

    __tablename__ = "delivery_event"
    __table_args__ = (
        UniqueConstraint("provider_id", "provider_event_id", name="uq_delivery_event"),
        Index("ix_delivery_event_message", "workspace_id", "provider_message_id"),
    )
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", max_length=40)
    provider_id: str = Field(max_length=40)
    provider_event_id: str = Field(max_length=255)
    type: str = Field(max_length=16)
    channel: str = Field(max_length=16)
    recipient: str | None = Field(default=None, max_length=320)
    provider_message_id: str | None = Field(default=None, max_length=255)
    message_log_id: str | None = Field(default=None, max_length=40)
    contact_id: str | None = Field(default=None, max_length=40)
    bounce_type: str | None = Field(default=None, max_length=8)
    reason: str | None = Field(default=None, max_length=1000)
    url: str | None = Field(default=None, max_length=2048)
    raw_type: str | None = Field(default=None, max_length=64)
    occurred_at: datetime = _ts()
    received_at: datetime = _ts()


class Suppression(SQLModel, table=True):
    """An address a workspace must not send to on a channel (hard bounce, complaint, unsubscribe)."""

    __tablename__ = "suppression"
    __table_args__ = (UniqueConstraint("workspace_id", "channel", "address", name="uq_suppression"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", max_length=40)
    channel: str = Field(max_length=16)
    address: str = Field(max_length=320)
    reason: str = Field(max_length=32)
    source: str | None = Field(default=None, max_length=255)
    created_at: datetime = _ts()


class WebhookNonce(SQLModel, table=True):
    """A provider webhook's one-time token (Mailgun's `token`) and the SHA-256 of the body it came with, kept while
    its timestamp is fresh enough to be accepted: the same token with another body is a replay. Older rows are
    pruned as new ones arrive."""

    __tablename__ = "webhook_nonce"
    __table_args__ = (Index("ix_webhook_nonce_signed_at", "provider_id", "signed_at"),)
    provider_id: str = Field(primary_key=True, max_length=40)
    nonce: str = Field(primary_key=True, max_length=255)
    body_digest: str = Field(max_length=64)
    signed_at: datetime = _ts()


class IngestRejection(SQLModel, table=True):
    """A Segment message set aside at ingestion (its batch's valid messages were accepted), kept for inspection
    for a retention period and up to a number of rows per workspace. `raw` is the message as JSON text with
    non-ASCII characters escaped, so a NUL or a lone surrogate (often why it was refused) is stored and shown
    safely; `digest` makes a client's retry of the same request record it once."""

    __tablename__ = "ingest_rejection"
    __table_args__ = (
        UniqueConstraint("workspace_id", "digest", name="uq_ingest_rejection_digest"),
        Index("ix_ingest_rejection_workspace", "workspace_id", "id"),
        Index("ix_ingest_rejection_received", "workspace_id", "received_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(max_length=40)
    endpoint: str = Field(max_length=16)
    batch_index: int | None = None
    message_id: str | None = Field(default=None, max_length=255)
    code: str = Field(max_length=40)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    raw: str = Field(sa_column=Column(Text, nullable=False))
    raw_truncated: bool = False
    digest: str = Field(max_length=64)
    received_at: datetime = _ts()


class MessageResolution(SQLModel, table=True):
    """An operator's resolution of an uncertain message: which action, by which API key, when (an audit trail)."""

    __tablename__ = "message_resolution"
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", max_length=40)
    message_log_id: str = Field(foreign_key="message_log.id", index=True, max_length=40)
    action: str = Field(max_length=16)
    api_key_id: str = Field(max_length=40)
    created_at: datetime = _ts()


class DispatchOutbox(SQLModel, table=True):
    """An event waiting to reach journeys, written in the same transaction that stored it (ingestion, provider
    webhooks, one-click unsubscribes). The dispatcher deletes a row once every journey it concerns has it; a row
    that keeps failing for a reason other than Temporal being unreachable is parked (`parked_at`) after a few
    attempts rather than holding back the contact's later events for ever."""

    __tablename__ = "dispatch_outbox"
    __table_args__ = (Index("ix_dispatch_outbox_contact", "contact_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(max_length=40)
    contact_id: str = Field(max_length=40)
    kind: str = Field(default="event", max_length=24)  # domain.events.interest.OutboxKind
    event_id: str = Field(max_length=80)
    name: str = Field(max_length=200)
    properties: dict[str, Any] = _json(dict)
    occurred_at: datetime = _ts()
    created_at: datetime = _ts()
    attempts: int = 0
    next_attempt_at: datetime | None = _ts(nullable=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    parked_at: datetime | None = _ts(nullable=True)


class DispatcherStats(SQLModel, table=True):
    """Counters of the dispatchers, one row per host (processes of one host add to the same row), so any API
    replica can export them on /metrics."""

    __tablename__ = "dispatcher_stats"
    owner: str = Field(primary_key=True, max_length=200)
    dispatched: int = 0
    failures: int = 0
    parked: int = 0
    last_seen_at: datetime = _ts()


class ContactScore(SQLModel, table=True):
    """A contact's current score per score group; the group `total` is the sum over its groups. Kept by scoring
    (real-time updates, decay and recompute); read by segment filters (one indexed lookup per contact) and by the
    leaderboard (the index on workspace, group and score, read in score order). No row: a score of 0."""

    __tablename__ = "contact_score"
    __table_args__ = (Index("ix_contact_score_leaderboard", "workspace_id", "score_group", "score"),)
    workspace_id: str = Field(primary_key=True, max_length=40)
    contact_id: str = Field(primary_key=True, max_length=40)
    score_group: str = Field(primary_key=True, max_length=64)
    score: float = 0.0
    updated_at: datetime = _ts()


# Tables kept in their own modules (registered on the same metadata when this module is imported).
from store.models_access import Membership as Membership  # noqa: E402
from store.models_access import Role as Role  # noqa: E402
from store.models_access import User as User  # noqa: E402

# the audit log (migration 0021_audit)
from store.models_audit import AuditChainHead as AuditChainHead  # noqa: E402
from store.models_audit import AuditEntry as AuditEntry  # noqa: E402
from store.models_calendar import WorkspaceCalendar as WorkspaceCalendar  # noqa: E402

# companies (migration 0040_companies)
from store.models_companies import Company as Company  # noqa: E402

# consent tables (migration 0021_consent)
from store.models_consent import ConsentHistory as ConsentHistory  # noqa: E402
from store.models_consent import ConsentTopic as ConsentTopic  # noqa: E402
from store.models_consent import ContactConsent as ContactConsent  # noqa: E402
from store.models_consent import WorkspaceConsentSettings as WorkspaceConsentSettings  # noqa: E402
from store.models_dead_letters import DeadLetter as DeadLetter  # noqa: E402
from store.models_field_policies import FieldPolicyRow as FieldPolicyRow  # noqa: E402
from store.models_identity import ContactMerge as ContactMerge  # noqa: E402
from store.models_identity import MergePolicyRow as MergePolicyRow  # noqa: E402

# CSV imports (migration 0021_imports)
from store.models_imports import ContactImport as ContactImport  # noqa: E402
from store.models_imports import ContactImportError as ContactImportError  # noqa: E402
from store.models_imports import ContactImportPart as ContactImportPart  # noqa: E402
from store.models_journey_steps import JourneyStepEffect as JourneyStepEffect  # noqa: E402
from store.models_journeys import JourneyIntent as JourneyIntent  # noqa: E402
from store.models_scoring import *  # noqa: E402, F403

# send policies' tables (migration 0019)
from store.models_send import SendCounter as SendCounter  # noqa: E402
from store.models_send import SendReservation as SendReservation  # noqa: E402
from store.models_send import WorkspaceSendPolicyRow as WorkspaceSendPolicyRow  # noqa: E402

# human tasks of journeys (migration 0014), in their own module
from store.models_tasks import JourneyTask as JourneyTask  # noqa: E402

# outbound webhooks' tables, in their own module (registered on the metadata with the others)
from store.models_webhooks import WebhookAttempt as WebhookAttempt  # noqa: E402
from store.models_webhooks import WebhookDelivery as WebhookDelivery  # noqa: E402
from store.models_webhooks import WebhookEndpoint as WebhookEndpoint  # noqa: E402
