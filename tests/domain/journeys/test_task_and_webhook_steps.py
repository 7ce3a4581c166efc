"""Validation of the webhook, human_task and linkedin_task steps: what is accepted, and the node and reason of what
is not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from domain.journeys.definition import JourneyDefinitionError, validate_definition
from domain.journeys.steps import HumanTaskStep, LinkedInTaskStep, Reference, WebhookStep
from domain.journeys.steps.webhook import status_class


def definition(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"trigger": {"event": "signed_up"}, "start": steps[0]["id"], "steps": list(steps)}


def end(step_id: str) -> dict[str, Any]:
    return {"id": step_id, "type": "end"}


def refused(*steps: dict[str, Any]) -> JourneyDefinitionError:
    with pytest.raises(JourneyDefinitionError) as caught:
        validate_definition(definition(*steps))
    return caught.value


def test_a_waited_webhook_with_branches_and_a_templated_body() -> None:
    parsed = validate_definition(
        definition(
            {
                "id": "crm",
                "type": "webhook",
                "endpoint_id": "whep_1",
                "method": "PATCH",
                "wait_for_response": True,
                "timeout": "PT10S",
                "headers": {"X-Source": "{{ journey.id }}"},
                "body": {"email": "{{ contact.email }}", "items": ["{{ contact.plan }}"]},
                "branches": {"2xx": "ok", "5xx": "later", "timeout": "later"},
                "next": "ok",
            },
            end("ok"),
            end("later"),
        )
    )
    step = parsed.step("crm")
    assert isinstance(step, WebhookStep)
    assert step.timeout == timedelta(seconds=10)
    assert step.successors() == {
        "branches.2xx": "ok",
        "branches.5xx": "later",
        "branches.timeout": "later",
        "next": "ok",
    }
    assert step.references() == [Reference("webhook_endpoint", "whep_1", "endpoint_id")]
    assert set(step.templates()) == {"headers.X-Source", "body.email", "body.items[0]"}


def test_a_fire_and_forget_webhook_defaults_to_post_in_30_seconds() -> None:
    step = validate_definition(
        definition({"id": "crm", "type": "webhook", "url": "https://hooks.example.com/in"})
    ).steps[0]
    assert isinstance(step, WebhookStep)
    assert (step.method, step.wait_for_response, step.timeout) == ("POST", False, timedelta(seconds=30))
    assert step.references() == [Reference("webhook_endpoint", "https://hooks.example.com/in", "url")]


@pytest.mark.parametrize(
    ("step", "code", "words"),
    [
        ({}, "invalid_step", "one of endpoint_id or url is required"),
        ({"url": "hooks.example.com/in"}, "invalid_step", "absolute"),
        ({"endpoint_id": "https://hooks.example.com"}, "invalid_step", "endpoint_id"),
        ({"url": "https://x.example", "branches": {"2xx": "crm"}}, "invalid_step", "need wait_for_response"),
        ({"url": "https://x.example", "method": "PUT"}, "invalid_step", "a POST without headers"),
        ({"url": "https://x.example", "wait_for_response": True, "headers": {"Webhook-Signature": "x"}},
         "invalid_step", "set by the signed request"),
        ({"url": "https://x.example", "wait_for_response": True, "headers": {"X-A": "a\r\nb"}}, "invalid_step",
         "one line"),
        ({"url": "https://x.example", "wait_for_response": True, "timeout": "PT10M"}, "invalid_step",
         "at most 5 minutes"),
        ({"url": "https://x.example", "wait_for_response": True, "branches": {"3xx": "crm"}}, "invalid_step", "3xx"),
        ({"url": "https://x.example", "body": "{{ contact.email"}, "invalid_template", "body"),
        ({"url": "https://x.example", "wait_for_response": True, "branches": {"2xx": "nowhere"}},
         "unknown_step_reference", "nowhere"),
    ],
)  # fmt: skip
def test_webhook_steps_refused_name_the_node(step: dict[str, Any], code: str, words: str) -> None:
    error = refused({"id": "crm", "type": "webhook", **step})
    assert (error.node, error.code) == ("crm", code)
    assert words in error.message


CALL = {
    "id": "call", "type": "human_task", "kind": "call", "title": "Call {{ contact.first_name }}",
    "assignee": "rep@example.com", "due": "P2D", "sla": {"after": "P1D", "escalate": {"reassign_to": "lead"}},
    "outcomes": ["done", "no_answer"], "branches": {"no_answer": "vm", "overdue": "vm"}, "next": "vm",
}  # fmt: skip


def test_a_call_task_with_sla_and_branches() -> None:
    step = validate_definition(definition(CALL, end("vm"))).step("call")
    assert isinstance(step, HumanTaskStep)
    assert step.waits
    assert (step.due, step.sla_length(), step.task_kind) == (timedelta(days=2), timedelta(days=1), "call")
    assert step.successors() == {"branches.no_answer": "vm", "branches.overdue": "vm", "next": "vm"}


def test_a_linkedin_task_defaults_its_profile_url_to_the_contact_attribute() -> None:
    raw = {
        "id": "li",
        "type": "linkedin_task",
        "title": "Connect",
        "assignee": "sdr",
        "message": "Hi {{ contact.first_name }}",
    }
    step = validate_definition(definition(raw)).steps[0]
    assert isinstance(step, LinkedInTaskStep)
    assert (step.profile_url, step.outcomes, step.task_kind) == ("{{ contact.linkedin_url }}", ["done"], "linkedin")
    assert set(step.templates()) == {"title", "instructions", "profile_url", "message"}


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"branches": {"maybe": "vm"}}, "invalid_step", "not in outcomes: maybe"),
        ({"outcomes": ["done", "done"]}, "invalid_step", "listed once"),
        ({"outcomes": ["overdue"]}, "invalid_step", "past its due time"),
        ({"outcomes": ["Done!"]}, "invalid_step", "outcomes[0]"),
        ({"sla": {"after": "P3D", "escalate": {"notify": "boss"}}}, "invalid_step", "shorter than due"),
        ({"sla": {"after": "P1D", "escalate": {"notify": "boss", "reassign_to": "lead"}}}, "invalid_step",
         "exactly one of reassign_to or notify"),
        ({"assignee": ""}, "invalid_step", "assignee"),
        ({"due": "2 days"}, "invalid_step", "ISO-8601"),
        ({"kind": "linkedin"}, "invalid_step", "kind"),
        ({"instructions": "{% if %}"}, "invalid_template", "instructions"),
    ],
)  # fmt: skip
def test_task_steps_refused_name_the_node(change: dict[str, Any], code: str, words: str) -> None:
    error = refused({**CALL, **change}, end("vm"))
    assert (error.node, error.code) == ("call", code)
    assert words in error.message


@pytest.mark.parametrize(
    ("code", "timed_out", "expected"),
    [(200, False, "2xx"), (204, False, "2xx"), (404, False, "4xx"), (503, False, "5xx"), (302, False, "error"),
     (None, False, "error"), (None, True, "timeout")],
)  # fmt: skip
def test_status_classes(code: int | None, timed_out: bool, expected: str) -> None:
    assert status_class(code, timed_out=timed_out) == expected
