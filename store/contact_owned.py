"""The registry of tables whose rows belong to a contact: what a merge moves to the survivor, and an unmerge moves
back. One entry per table; a context that adds a contact-owned table adds its entry here and merges carry it
(tests/store/test_contact_owned.py fails on a table with a `contact_id` column missing from it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContactOwned:
    table: str
    contact_column: str = "contact_id"
    key: tuple[str, ...] = ("id",)  # with the contact column, identifies a row: a merge records the moved keys,
    # so an unmerge moves exactly those back
    unique_with: tuple[str, ...] = ()  # columns unique together with the contact column (one row per contact and
    # these): a merged contact's row whose twin the survivor already has stays on the merged contact (recorded)


def _per_contact(table: str, *columns: str) -> ContactOwned:
    return ContactOwned(table, key=columns, unique_with=columns)


CONTACT_OWNED: list[ContactOwned] = [
    ContactOwned("contact_identity"),
    ContactOwned("event"),
    ContactOwned("message_log"),
    ContactOwned("delivery_event"),
    ContactOwned("dispatch_outbox"),
    ContactOwned("dead_letter"),
    ContactOwned("journey_enrollment", unique_with=("journey_id",)),
    _per_contact("journey_intent", "journey_id"),
    ContactOwned("journey_step_effect", key=("idempotency_key",)),
    ContactOwned("journey_task"),
    _per_contact("contact_score", "workspace_id", "score_group"),
    ContactOwned("score_ledger"),
    ContactOwned("score_alert"),
    _per_contact("segment_membership", "segment_id"),
    ContactOwned("segment_history"),
    _per_contact("send_counter", "workspace_id"),
    ContactOwned("send_reservation", key=("idempotency_key",)),
    # consent: one current-state row per (channel, topic); its history always moves
    ContactOwned("contact_consent", unique_with=("channel", "topic")),
    ContactOwned("consent_history"),
]

CONTACT_OWNED_BY_TABLE = {entry.table: entry for entry in CONTACT_OWNED}
