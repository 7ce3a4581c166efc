"""The SMS and push send steps. Like send_email they go through the workspace's provider chain for their channel
(publishing refuses one when the workspace has none: Reference kind "channel"), take an `on_failure` branch, and
are subject to the send policy (frequency caps, quiet hours) unless `transactional`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from domain.journeys.steps.base import TOPIC_DESCRIPTION, Reference, StepBase, StepId, TopicKey, topic_reference

_ON_FAILURE = "The step to go to when the message cannot be sent (failed for good); without it the journey fails"
_TRANSACTIONAL = "A transactional message (a receipt, a one-time code) bypasses frequency caps and quiet hours"


class SendSmsStep(StepBase):
    type: Literal["send_sms"] = "send_sms"
    body: Annotated[str, StringConstraints(min_length=1, max_length=1600)]
    next: StepId | None = None
    on_failure: StepId | None = Field(None, description=_ON_FAILURE)
    transactional: bool = Field(False, description=_TRANSACTIONAL)
    topic: TopicKey | None = Field(None, description=TOPIC_DESCRIPTION)

    def templates(self) -> dict[str, str]:
        return {"body": self.body}

    def successors(self) -> dict[str, str]:
        return {name: target for name, target in (("next", self.next), ("on_failure", self.on_failure)) if target}

    def references(self) -> list[Reference]:
        return [Reference("channel", "sms", "type"), *topic_reference(self.topic)]


class SendPushStep(StepBase):
    type: Literal["send_push"] = "send_push"
    title: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    body: Annotated[str, StringConstraints(max_length=4000)] | None = None
    data: dict[Annotated[str, StringConstraints(min_length=1, max_length=100)], str] = Field(
        default_factory=dict, max_length=50, description="Key/value data for the app; values are Liquid too"
    )
    next: StepId | None = None
    on_failure: StepId | None = Field(None, description=_ON_FAILURE)
    transactional: bool = Field(False, description=_TRANSACTIONAL)
    topic: TopicKey | None = Field(None, description=TOPIC_DESCRIPTION)

    def templates(self) -> dict[str, str]:
        sources = {"title": self.title, **{f"data.{key}": value for key, value in self.data.items()}}
        if self.body is not None:
            sources["body"] = self.body
        return sources

    def successors(self) -> dict[str, str]:
        return {name: target for name, target in (("next", self.next), ("on_failure", self.on_failure)) if target}

    def references(self) -> list[Reference]:
        return [Reference("channel", "push", "type"), *topic_reference(self.topic)]
