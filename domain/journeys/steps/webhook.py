"""The webhook step: a signed request to one of the workspace's outbound webhook endpoints.

Where it may go: a step names a registered endpoint (`endpoint_id`, preferred) or a `url` that must be the URL of
one of the workspace's registered endpoints. Either way the request is signed with that endpoint's secret (Standard
Webhooks headers, domain/outbound_webhooks/signing.py), and goes only where the endpoint rules allowed when it was
saved (https on a public address, checked again on every address at connect time). A raw URL with a secret of its
own would be a second way to point the worker at any host, with a secret nobody can rotate: not offered.

Fire-and-forget (`wait_for_response` false) queues a delivery on the durable delivery path (retries, dead letters,
the delivery log), which POSTs the body as is: such a step is a POST without headers of its own. Waiting, the
request is made once by an activity and the step branches on the answer's status class.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, model_validator

from domain.journeys.durations import _iso_duration
from domain.journeys.steps.base import Reference, StepBase, StepId
from domain.outbound_webhooks.targets import url_problem

WebhookBranch = Literal["2xx", "4xx", "5xx", "timeout", "error"]
WEBHOOK_BRANCHES: tuple[str, ...] = ("2xx", "4xx", "5xx", "timeout", "error")
MAX_WEBHOOK_TIMEOUT = timedelta(minutes=5)
MAX_HEADERS = 20
# Set by the signing itself: a step may not forge or drop them.
RESERVED_HEADERS = frozenset(
    {"webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "content-length", "host", "connection"}
)
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")


def _check_timeout(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be positive")
    if value > MAX_WEBHOOK_TIMEOUT:
        raise ValueError("must be at most 5 minutes")
    return value


WebhookTimeout = Annotated[timedelta, BeforeValidator(_iso_duration), AfterValidator(_check_timeout)]


def _check_url(value: str) -> str:
    """Syntax only: whether the URL is one of the workspace's endpoints (which vetted it) is checked on publish."""
    problem = url_problem(value, private_networks_allowed=True)
    if problem is not None:
        raise ValueError(problem[1])
    return value


def _check_headers(headers: dict[str, str]) -> dict[str, str]:
    if len(headers) > MAX_HEADERS:
        raise ValueError(f"at most {MAX_HEADERS} headers")
    for name, value in headers.items():
        if not _HEADER_NAME.match(name):
            raise ValueError(f"header name {name!r} is not an HTTP token")
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"header {name!r} is set by the signed request itself")
        if "\r" in value or "\n" in value or len(value) > 2000:
            raise ValueError(f"header {name!r}: a value is one line of at most 2000 characters")
    return headers


def _string_leaves(value: Any, path: str) -> dict[str, str]:
    """The strings inside a JSON body object, by path (`body.order.id`): each is a Liquid template."""
    if isinstance(value, str):
        return {path: value}
    if isinstance(value, dict):
        found: dict[str, str] = {}
        for key, item in value.items():
            found.update(_string_leaves(item, f"{path}.{key}"))
        return found
    if isinstance(value, list):
        found = {}
        for index, item in enumerate(value):
            found.update(_string_leaves(item, f"{path}[{index}]"))
        return found
    return {}


class WebhookStep(StepBase):
    type: Literal["webhook"] = "webhook"
    endpoint_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")] | None = Field(
        None, description="A registered outbound webhook endpoint of the workspace (its URL and secret)"
    )
    url: Annotated[str, StringConstraints(max_length=2000), AfterValidator(_check_url)] | None = Field(
        None, description="The URL of a registered endpoint (signed with its secret); endpoint_id is preferred"
    )
    method: Literal["POST", "PUT", "PATCH", "DELETE", "GET"] = "POST"
    headers: Annotated[dict[str, str], AfterValidator(_check_headers)] = Field(default_factory=dict)
    body: str | dict[str, Any] | None = Field(
        None,
        description="A Liquid template rendering JSON, or a JSON object whose strings are Liquid templates; "
        "absent: the journey, step and contact as a Standard Webhooks body",
    )
    wait_for_response: bool = False
    timeout: WebhookTimeout = timedelta(seconds=30)
    branches: dict[WebhookBranch, StepId] = Field(
        default_factory=dict, description="By the answer's status class; a class without a branch goes to next"
    )
    next: StepId | None = None

    @model_validator(mode="after")
    def _consistent(self) -> WebhookStep:
        if self.endpoint_id is None and self.url is None:
            raise ValueError("one of endpoint_id or url is required")
        if not self.wait_for_response:
            if self.branches:
                raise ValueError("branches need wait_for_response: true (fire-and-forget does not see the answer)")
            if self.method != "POST" or self.headers:
                raise ValueError(
                    "a fire-and-forget webhook is a POST without headers of its own (the durable delivery path); "
                    "set wait_for_response: true for another method or headers"
                )
        return self

    def successors(self) -> dict[str, str]:
        found = {f"branches.{name}": target for name, target in self.branches.items()}
        if self.next is not None:
            found["next"] = self.next
        return found

    def references(self) -> list[Reference]:
        found = []
        if self.endpoint_id is not None:
            found.append(Reference("webhook_endpoint", self.endpoint_id, "endpoint_id"))
        if self.url is not None:
            found.append(Reference("webhook_endpoint", self.url, "url"))
        return found

    def templates(self) -> dict[str, str]:
        found = {f"headers.{name}": value for name, value in self.headers.items()}
        if self.body is not None:
            found.update(_string_leaves(self.body, "body"))
        return found


def status_class(status_code: int | None, *, timed_out: bool = False) -> WebhookBranch:
    """The branch an answer takes: 2xx, 4xx, 5xx, timeout, or error (no answer, or a 1xx/3xx: no redirect is
    followed)."""
    if timed_out:
        return "timeout"
    if status_code is None:
        return "error"
    if 200 <= status_code < 300:
        return "2xx"
    if 400 <= status_code < 500:
        return "4xx"
    if 500 <= status_code < 600:
        return "5xx"
    return "error"
