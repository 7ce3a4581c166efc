"""Template variables nothing provides are found (warnings), and a step previews as its send renders it."""

from __future__ import annotations

import pytest

from domain.content.preview import preview_context, render_fields
from domain.content.templates import TemplateError
from domain.content.variables import template_warnings, unknown_variables, variables_of


def test_variables_are_the_global_paths_without_locals() -> None:
    source = (
        "{{ contact.first_name | upcase }} {{ event.properties.plan }}"
        "{% for item in contact.items %}{{ item.name }}{% endfor %}{% assign n = 1 %}{{ n }}"
    )
    assert variables_of(source) == [["contact", "first_name"], ["contact", "items"], ["event", "properties", "plan"]]


def test_a_template_that_does_not_compile_reads_nothing() -> None:
    assert variables_of("{{ contact.x ") == []


def test_other_roots_and_unseen_attributes_are_warned_about() -> None:
    found = unknown_variables("welcome", "text", "{{ contact.email }} {{ contact.plan }} {{ contcat.x }}", {"company"})
    assert [(w.node, w.field, w.variable) for w in found] == [
        ("welcome", "text", "contact.plan"),
        ("welcome", "text", "contcat.x"),
    ]
    assert "only 'contact'" in found[1].message


def test_attributes_unknown_means_any_contact_key_passes() -> None:
    assert unknown_variables("a", "subject", "{{ contact.anything }}", None) == []


def test_warnings_over_many_templates() -> None:
    found = template_warnings([("a", "subject", "{{ x }}"), ("b", "html", "{{ contact.plan }}")], {"plan"})
    assert [(w.node, w.variable) for w in found] == [("a", "x")]


def test_render_fields_escapes_html_and_keeps_a_subject_on_one_line() -> None:
    context = preview_context({"first_name": "Ada", "attributes": {"company": "<A&B>"}, "unknown_column": "x"})
    rendered = render_fields(
        {
            "subject": "Hi\n{{ contact.first_name }}",
            "html": "<b>{{ contact.company }}</b>",
            "text": "{{ contact.company }}",
        },
        context,
    )
    assert rendered == {"subject": "Hi Ada", "html": "<b>&lt;A&amp;B&gt;</b>", "text": "<A&B>"}


def test_reserved_columns_win_over_attributes() -> None:
    context = preview_context({"email": "real@example.test", "attributes": {"email": "fake@example.test"}})
    assert render_fields({"text": "{{ contact.email }}"}, context) == {"text": "real@example.test"}


def test_a_render_failure_is_a_template_error() -> None:
    with pytest.raises(TemplateError):
        render_fields({"text": "{{ contact.x | nosuchfilter }}"}, preview_context({}))
