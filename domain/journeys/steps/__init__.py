"""The registry of journey step types: one model per type, listed once in STEP_MODELS.

Adding a step type: write its model (a StepBase subclass with a Literal `type`) in a module of this package, add
it to STEP_MODELS, and add its runner to workflows/steps/__init__.py RUNNERS (a test checks both lists agree).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Union, get_args

from pydantic import Field

from domain.journeys.steps.base import STEP_ID_PATTERN, Mailbox, Reference, StepBase, StepId
from domain.journeys.steps.branching import AbSplitStep, ExitStep, GoalStep, HoldoutStep, SplitStep
from domain.journeys.steps.channels import SendPushStep, SendSmsStep
from domain.journeys.steps.contact import AdjustScoreStep, UpdateContactStep
from domain.journeys.steps.core import EndStep, SendEmailStep, WaitForEventStep, WaitStep
from domain.journeys.steps.tasks import HumanTaskStep, LinkedInTaskStep
from domain.journeys.steps.webhook import WebhookStep

STEP_MODELS: tuple[type[StepBase], ...] = (
    SendEmailStep,
    WaitStep,
    WaitForEventStep,
    EndStep,
    SplitStep,
    AbSplitStep,
    HoldoutStep,
    UpdateContactStep,
    AdjustScoreStep,
    GoalStep,
    ExitStep,
    WebhookStep,
    HumanTaskStep,
    LinkedInTaskStep,
    SendSmsStep,
    SendPushStep,
)

# The steps that send a message, and the channel each sends on (send policies count per channel).
SEND_CHANNELS: dict[type[StepBase], str] = {SendEmailStep: "email", SendSmsStep: "sms", SendPushStep: "push"}

if TYPE_CHECKING:
    Step = StepBase
else:
    Step = Annotated[Union[STEP_MODELS], Field(discriminator="type")]  # noqa: UP007 (a runtime tuple)

STEP_TYPES: tuple[str, ...] = tuple(get_args(model.model_fields["type"].annotation)[0] for model in STEP_MODELS)

__all__ = [
    "SEND_CHANNELS",
    "STEP_ID_PATTERN",
    "STEP_MODELS",
    "STEP_TYPES",
    "AbSplitStep",
    "AdjustScoreStep",
    "EndStep",
    "ExitStep",
    "GoalStep",
    "HoldoutStep",
    "HumanTaskStep",
    "LinkedInTaskStep",
    "Mailbox",
    "Reference",
    "SendEmailStep",
    "SendPushStep",
    "SendSmsStep",
    "SplitStep",
    "Step",
    "StepBase",
    "StepId",
    "UpdateContactStep",
    "WaitForEventStep",
    "WaitStep",
    "WebhookStep",
]
