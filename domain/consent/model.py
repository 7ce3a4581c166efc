"""Consent statuses, sources and legal bases, and the pure rules over them.

A consent record is keyed by (contact, channel, topic); topic "" is the channel itself. Its status moves through
`transition` only, so every change is one of a few named moves, and each move is appended to the history. Whether a
send may go is `may_send`: a withdrawal (of the channel or of the step's topic) always stops it; a channel the
workspace runs opt-in needs a `granted` record; otherwise (opt-out, today's behaviour) nothing recorded means yes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"


class ConsentStatus(StrEnum):
    GRANTED = "granted"
    PENDING = "pending"  # asked for, waiting for the double opt-in confirmation
    WITHDRAWN = "withdrawn"  # denied or withdrawn: no message on it


class ConsentSource(StrEnum):
    API = "api"
    INGESTION = "ingestion"
    IMPORT = "import"
    PREFERENCE_CENTER = "preference_center"
    PROVIDER_WEBHOOK = "provider_webhook"
    ONE_CLICK_UNSUBSCRIBE = "one_click_unsubscribe"
    SMS_KEYWORD = "sms_keyword"
    DOUBLE_OPT_IN = "double_opt_in"


class LegalBasis(StrEnum):
    CONSENT = "consent"
    CONTRACT = "contract"
    LEGITIMATE_INTEREST = "legitimate_interest"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTEREST = "vital_interest"
    PUBLIC_TASK = "public_task"


class ConsentMode(StrEnum):
    OPT_OUT = "opt_out"  # sending allowed unless withdrawn (the default)
    OPT_IN = "opt_in"  # sending needs a granted record


class ConsentTransitionError(ValueError):
    """A move the rules refuse (e.g. confirming a consent that is not pending)."""


@dataclass(frozen=True)
class ConsentChange:
    """The outcome of a requested change: the status to store, and whether it differs from the current one."""

    status: ConsentStatus
    changed: bool


def request_grant(current: ConsentStatus | None, *, double_opt_in: bool) -> ConsentChange:
    """A grant asked for. With double opt-in it waits `pending` (unless already granted: a repeat asks nothing)."""
    if current is ConsentStatus.GRANTED:
        return ConsentChange(ConsentStatus.GRANTED, False)
    target = ConsentStatus.PENDING if double_opt_in else ConsentStatus.GRANTED
    return ConsentChange(target, current is not target)


def withdraw(current: ConsentStatus | None) -> ConsentChange:
    return ConsentChange(ConsentStatus.WITHDRAWN, current is not ConsentStatus.WITHDRAWN)


def confirm(current: ConsentStatus | None) -> ConsentChange:
    """The double opt-in link followed. Confirming a granted consent again is harmless (a replayed link); confirming
    a withdrawn one is refused: the contact withdrew after asking, and an old link must not undo that."""
    if current is ConsentStatus.GRANTED:
        return ConsentChange(ConsentStatus.GRANTED, False)
    if current is ConsentStatus.PENDING:
        return ConsentChange(ConsentStatus.GRANTED, True)
    raise ConsentTransitionError("nothing is waiting for confirmation")


def transition(current: ConsentStatus | None, wanted: ConsentStatus, *, double_opt_in: bool = False) -> ConsentChange:
    """The single entry for a requested status: granted (maybe via pending), withdrawn, or pending."""
    if wanted is ConsentStatus.WITHDRAWN:
        return withdraw(current)
    if wanted is ConsentStatus.GRANTED:
        return request_grant(current, double_opt_in=double_opt_in)
    return request_grant(current, double_opt_in=True)


@dataclass(frozen=True)
class SendDecision:
    allowed: bool
    reason: str | None = None


def may_send(
    channel: str,
    mode: ConsentMode,
    channel_status: ConsentStatus | None,
    topic: str | None = None,
    topic_status: ConsentStatus | None = None,
) -> SendDecision:
    """Whether a (non-transactional) message on `channel`, optionally about `topic`, may go to the contact."""
    if channel_status is ConsentStatus.WITHDRAWN:
        return SendDecision(False, f"no consent: {channel} withdrawn")
    if mode is ConsentMode.OPT_IN and channel_status is not ConsentStatus.GRANTED:
        state = "pending confirmation" if channel_status is ConsentStatus.PENDING else "not granted"
        return SendDecision(False, f"no consent: {channel} {state} (opt-in channel)")
    if channel_status is ConsentStatus.PENDING and mode is ConsentMode.OPT_OUT:
        # an opt-out workspace that asked for double opt-in still waits for the confirmation
        return SendDecision(False, f"no consent: {channel} pending confirmation")
    if topic is not None:
        if topic_status is ConsentStatus.WITHDRAWN:
            return SendDecision(False, f"no consent: topic {topic} withdrawn")
        if mode is ConsentMode.OPT_IN and topic_status is not ConsentStatus.GRANTED:
            return SendDecision(False, f"no consent: topic {topic} not granted (opt-in channel)")
    return SendDecision(True)


# SMS keywords, per Twilio's Advanced Opt-Out defaults (case-insensitive, the whole message trimmed)
SMS_STOP_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
SMS_START_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})


def sms_keyword(body: str) -> ConsentStatus | None:
    """The consent an inbound SMS asks for: withdrawn for a stop word, granted for a start word, None otherwise."""
    word = body.strip().upper()
    if word in SMS_STOP_KEYWORDS:
        return ConsentStatus.WITHDRAWN
    if word in SMS_START_KEYWORDS:
        return ConsentStatus.GRANTED
    return None
