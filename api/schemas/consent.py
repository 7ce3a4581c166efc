"""Request and response bodies of the consent API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from api.schemas.base import SafeInput
from domain.consent.model import Channel, ConsentMode, ConsentSource, ConsentStatus, LegalBasis
from store.models_consent import ConsentHistory, ConsentTopic, ContactConsent

TopicKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")]


class ConsentTopicCreate(SafeInput):
    key: TopicKey = Field(description="The topic's stable key, named by send steps (`topic`) and segment filters")
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    channels: list[Channel] = Field(default_factory=lambda: list(Channel), max_length=3)


class ConsentTopicPublic(BaseModel):
    id: str
    key: str
    name: str
    description: str | None
    channels: list[str]
    created_at: datetime

    @classmethod
    def of(cls, row: ConsentTopic) -> ConsentTopicPublic:
        return cls(
            id=row.id, key=row.key, name=row.name, description=row.description, channels=row.channels,
            created_at=row.created_at,
        )  # fmt: skip


class ConsentChangeIn(SafeInput):
    channel: Channel
    topic: TopicKey | None = Field(None, description="A topic key; absent for the channel itself")
    status: ConsentStatus = Field(description="granted (pending first where the channel has double opt-in), "
                                  "withdrawn, or pending")  # fmt: skip
    legal_basis: LegalBasis = LegalBasis.CONSENT
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class ConsentPut(SafeInput):
    changes: list[ConsentChangeIn] = Field(min_length=1, max_length=50)


class ConsentRecordPublic(BaseModel):
    channel: str
    topic: str | None
    status: str
    source: str
    legal_basis: str
    updated_at: datetime

    @classmethod
    def of(cls, row: ContactConsent) -> ConsentRecordPublic:
        return cls(
            channel=row.channel, topic=row.topic or None, status=row.status, source=row.source,
            legal_basis=row.legal_basis, updated_at=row.updated_at,
        )  # fmt: skip


class ContactConsentPublic(BaseModel):
    contact_id: str
    records: list[ConsentRecordPublic]
    effective: dict[str, bool] = Field(description="Per channel: may a non-transactional message go now")


class PreferenceLink(BaseModel):
    url: str = Field(description="The contact's preference page, signed; anyone holding it can manage the contact's "
                     "consent, so send it only to the contact")  # fmt: skip


class ConsentHistoryPublic(BaseModel):
    id: str
    channel: str
    topic: str | None
    previous_status: str | None
    status: str
    source: str
    legal_basis: str
    note: str | None
    recorded_at: datetime

    @classmethod
    def of(cls, row: ConsentHistory) -> ConsentHistoryPublic:
        return cls(
            id=row.id, channel=row.channel, topic=row.topic or None, previous_status=row.previous_status,
            status=row.status, source=row.source, legal_basis=row.legal_basis, note=row.note,
            recorded_at=row.recorded_at,
        )  # fmt: skip


class ConsentSettingsBody(SafeInput):
    modes: dict[Channel, ConsentMode] = Field(
        default_factory=dict, description="Per channel: opt_out (the default: send unless withdrawn) or opt_in"
    )
    double_opt_in: list[Channel] = Field(
        default_factory=list, max_length=3, description="Channels whose grants wait for a confirmation link"
    )


__all__ = ["ConsentSource"]
