"""The activities of the update_contact and adjust_score steps: one transaction each, once per idempotency key.

update_contact renders its Liquid values for the contact as it is (the `contact` variable, as emails see it), then
writes through the contact write path (store/contact_updates.py). adjust_score adds one ledger row under the key
(store/scoring_adjust.py). A retry after a lost answer finds the key's row and answers `already_applied`.
On SQLite the dispatcher is woken after the commit (the contact row, or a threshold crossing), as ingestion does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.journeys.contracts import (
    ADJUST_SCORE,
    UPDATE_CONTACT,
    AdjustScoreInput,
    AdjustScoreOutput,
    UpdateContactInput,
    UpdateContactOutput,
)
from domain.clock import utcnow
from domain.contacts.traits import trait_column
from domain.content.templates import TemplateError, render_text
from domain.delivery.email import contact_context
from domain.journeys.steps.contact import is_template
from store.contact_updates import locked_contact, recorded_effect, update_contact
from store.contacts import company_fields, get_contact
from store.models import Contact
from store.scoring_adjust import adjust_score

_FIELDS = ("id", "external_id", "email", "phone", "first_name", "last_name", "timezone", "attributes")


def _rendered(values: dict[str, Any], contact: Contact, company: dict[str, Any] | None) -> dict[str, Any]:
    context = contact_context({name: getattr(contact, name) for name in _FIELDS}, company)
    try:
        return {name: render_text(v, context) if is_template(v) else v for name, v in values.items()}
    except TemplateError as exc:
        raise ApplicationError(
            f"a value could not be rendered: {exc}", type="TemplateError", non_retryable=True
        ) from exc


class ContactStepActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], wake: Callable[[], None] | None = None) -> None:
        self._sessions = sessions
        self._wake = wake or (lambda: None)

    def all(self) -> list[Any]:
        return [self.update_contact, self.adjust_score]

    @activity.defn(name=UPDATE_CONTACT)
    async def update_contact(self, request: UpdateContactInput) -> UpdateContactOutput:
        try:
            async with self._sessions() as session:
                done = await recorded_effect(session, request.idempotency_key)
                if done is not None:
                    return UpdateContactOutput(status="already_applied", changed=done.result.get("changed", {}))
                contact = await locked_contact(session, request.workspace_id, request.contact_id)
                if contact is None:
                    return UpdateContactOutput(status="contact_missing")
                values = _rendered(request.set, contact, await company_fields(session, contact))
                changed = await update_contact(
                    session, contact, request.idempotency_key, values, request.unset, utcnow()
                )
                await session.commit()
        except IntegrityError as exc:  # a concurrent attempt of the same key committed first
            async with self._sessions() as session:
                done = await recorded_effect(session, request.idempotency_key)
            if done is None and {trait_column(name) for name in request.set} & {"email", "phone"}:
                raise ApplicationError(  # another contact holds the email or phone as unique: retrying won't help
                    f"another contact holds one of these unique identifiers: {exc.orig}",
                    type="IdentifierConflict",
                    non_retryable=True,
                ) from exc
            if done is None:
                raise
            return UpdateContactOutput(status="already_applied", changed=done.result.get("changed", {}))
        self._wake()
        return UpdateContactOutput(status="updated", changed=changed)

    @activity.defn(name=ADJUST_SCORE)
    async def adjust_score(self, request: AdjustScoreInput) -> AdjustScoreOutput:
        sign = "+" if request.delta > 0 else ""
        reason = f"journey {request.journey_id} step {request.step_id}: {sign}{request.delta:g}"
        async with self._sessions() as session:
            if await get_contact(session, request.workspace_id, request.contact_id) is None:
                return AdjustScoreOutput(status="contact_missing")
            applied, score = await adjust_score(
                session,
                request.workspace_id,
                request.contact_id,
                request.group,
                request.delta,
                request.idempotency_key,
                reason,
                utcnow(),
            )
            await session.commit()
        if applied:
            self._wake()
        return AdjustScoreOutput(status="applied" if applied else "already_applied", score=score)
