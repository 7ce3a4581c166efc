"""What every journey step is: a strict node with an id, the steps it can go to, and what it references.

Step types plug in through domain/journeys/steps/__init__.py (STEP_MODELS): one model per type, each saying its
successors (for the graph checks, the picture and migrations) and the workspace objects it names (templates,
providers, segments, score groups, channels), which publishing checks in one place (api/journeys/references.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from typing import Annotated, Literal

from pydantic import AfterValidator, StringConstraints

from domain.journeys.conditions import Strict

STEP_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
StepId = Annotated[str, StringConstraints(pattern=STEP_ID_PATTERN)]

ReferenceKind = Literal[
    "template", "provider", "segment", "score_group", "channel", "webhook_endpoint", "user", "consent_topic"
]
# A send step's `topic`: the key of one of the workspace's consent topics (/v1/consent/topics)
TopicKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")]
TOPIC_DESCRIPTION = (
    "The consent topic this message is about: sent only to contacts who did not withdraw it (granted where the "
    "channel is opt-in); transactional messages are exempt"
)


@dataclass(frozen=True)
class Reference:
    """A workspace object a step names; `field` is where (e.g. `split.branches[0].segment`)."""

    kind: ReferenceKind
    value: str
    field: str


def topic_reference(topic: str | None) -> list[Reference]:
    return [Reference("consent_topic", topic, "topic")] if topic is not None else []


def _mailbox(value: str) -> str:
    """A From mailbox: `news@example.com` or `Example News <news@example.com>`."""
    _, address = parseaddr(value)
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain or any(c.isspace() for c in address) or "\n" in value or "\r" in value:
        raise ValueError("must be an email address, optionally with a display name: Name <local@domain>")
    return value


Mailbox = Annotated[str, StringConstraints(max_length=320), AfterValidator(_mailbox)]


class StepBase(Strict):
    """The base of every step model. Subclasses narrow `type` to a Literal (the discriminator)."""

    type: str
    id: StepId

    def successors(self) -> dict[str, str]:
        """The steps this one can go to next, keyed by the field that names them (`next`, `on_timeout`,
        `branches[0]`...). Empty: the journey ends after this step."""
        return {}

    def references(self) -> list[Reference]:
        """The workspace objects this step names, checked when the journey is published."""
        return []

    def sends_read(self) -> dict[str, str]:
        """The send steps of the journey whose message this step reads (a split on engagement), by field: they
        must be send steps of the same definition."""
        return {}

    def templates(self) -> dict[str, str]:
        """The Liquid sources of this step, by field name (syntax-checked on validation)."""
        return {}

    @property
    def waits(self) -> bool:
        """Whether a contact can stay at this step (a timer or an awaited signal): the steps the MaunticStep
        search attribute is kept current for, and that stats count contacts at."""
        return False
