"""What the dispatch outbox should receive for a workspace: the union of what its consumers care about.

Journeys care about the events they start on or wait for; segments about the events their filters count and
about contact changes; scoring about the events its rules name; outbound webhooks about the types subscribed.
Ingestion and provider webhooks ask before they store, so what nobody cares about costs no outbox row.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

CONTACT_MERGED = "merged"  # the name of a contact row a merge or unmerge queues (store/merge_effects.py)


class OutboxKind(StrEnum):
    """What an outbox row announces. Consumers of the dispatcher pick the kinds they handle."""

    EVENT = "event"  # a track event or a provider delivery event; `name` is the event's name
    # a contact was created or its fields changed; `name` is "created" or "updated", or CONTACT_MERGED when a
    # merge or unmerge moved rows to or from it (its events, scores, memberships: every segment re-evaluates it)
    CONTACT = "contact"
    # a company's fields or attributes changed (queued when `contacts` is wanted): `name` and `contact_id` are the
    # company id, so its contacts' segments reading companies are re-evaluated in one set-based pass
    COMPANY = "company"
    SEGMENT_ENTERED = "segment_entered"  # `name` is the segment id
    SEGMENT_EXITED = "segment_exited"  # `name` is the segment id
    SCORE_CROSSED = "score_crossed"  # `name` is the score group
    ALERT_OPENED = "alert_opened"  # `name` is the score group of the alert
    # written only for workspaces with an outbound webhook subscribed to them (domain/outbound_webhooks)
    MESSAGE_SENT = "message_sent"  # `name` is the channel; properties carry the message id
    JOURNEY_ENTERED = "journey_entered"  # `name` is the journey id
    JOURNEY_COMPLETED = "journey_completed"  # `name` is the journey id
    ENROLL = "enroll"  # POST /v1/journeys/{id}/enroll: `name` is the journey id
    TASK_ESCALATED = "task_escalated"  # `name` is the task id; properties say who was notified, for what
    # a double opt-in request (dispatch/consent.py): `name` is the channel, `event_id` the request's id
    CONSENT_CONFIRMATION = "consent_confirmation"
    # an automatic merge planned by ingestion (dispatch/merges.py starts its workflow): `contact_id` is the merged
    # contact, `event_id` the merge's id, `name` the survivor
    CONTACT_MERGE = "contact_merge"


@dataclass(frozen=True, slots=True)
class Interest:
    names: frozenset[str] | None = frozenset()  # event names to queue (None: every one)
    contacts: bool = False  # queue a row for each contact created or changed

    def wants(self, name: str | None) -> bool:
        return bool(name) and (self.names is None or name in self.names)

    def __or__(self, other: Interest) -> Interest:
        names = None if self.names is None or other.names is None else self.names | other.names
        return Interest(names, self.contacts or other.contacts)


NOTHING = Interest()
EVERYTHING = Interest(None, True)
