"""The registry of tables whose rows belong to a contact: what a merge moves to the survivor, and an unmerge moves
back. One entry per table; a context that adds a contact-owned table adds its entry here and merges carry it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContactOwned:
    table: str
    contact_column: str = "contact_id"
    key: tuple[str, ...] = ("id",)  # the primary key: a merge records the moved keys, so unmerge moves exactly those


CONTACT_OWNED: list[ContactOwned] = [
    # consent (0021_consent): the current state and its history. A merge moving a current-state row onto a survivor
    # that has one for the same (channel, topic) must keep the survivor's; history rows always move.
    ContactOwned("contact_consent"),
    ContactOwned("consent_history"),
]
