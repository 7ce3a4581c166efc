"""Liquid rendering for messages: escaping, undefined variables, syntax checks and the compile cache."""

from __future__ import annotations

import pytest

from domain.content import templates
from domain.content.templates import TemplateError, check_syntax, render, render_html, render_text


def test_render_text_interpolates_nested_values_and_filters() -> None:
    source = "Hi {{ contact.first_name | capitalize }}, your plan is {{ plan }}."
    assert render_text(source, {"contact": {"first_name": "ann"}, "plan": "pro"}) == "Hi Ann, your plan is pro."


def test_undefined_variables_render_empty() -> None:
    assert render_text("Hi {{ first_name }}!{{ a.b.c }}", {}) == "Hi !"


def test_default_filter_fills_missing_values() -> None:
    assert render_text("Hi {{ first_name | default: 'there' }}", {}) == "Hi there"


def test_html_rendering_escapes_interpolated_values() -> None:
    context = {"name": '<script>alert("x")</script>'}

    assert render_html("<p>{{ name }}</p>", context) == "<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</p>"
    assert render_text("{{ name }}", context) == context["name"]
    assert render("<b>{{ name }}</b>", context, html=True) == render_html("<b>{{ name }}</b>", context)


def test_control_flow() -> None:
    source = "{% if vip %}VIP{% else %}regular{% endif %}:{% for t in tags %}[{{ t }}]{% endfor %}"
    assert render_text(source, {"vip": True, "tags": ["a", "b"]}) == "VIP:[a][b]"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Hi {{ name", "expected '}}'"),
        ("{% if x %}never closed", "endif"),
        ("{% endfor %}", "unexpected tag 'endfor'"),
        ("line one\n{{ name | shout }}", "unknown filter 'shout' (line 2)"),
    ],
)
def test_check_syntax_explains_errors(source: str, expected: str) -> None:
    problem = check_syntax(source)
    assert problem is not None
    assert expected in problem


@pytest.mark.parametrize("source", ["", "plain", "{{ a | upcase | append: '!' }}", "{% for x in y %}{% endfor %}"])
def test_check_syntax_accepts_valid_templates(source: str) -> None:
    assert check_syntax(source) is None


def test_rendering_a_broken_template_raises_template_error() -> None:
    with pytest.raises(TemplateError, match="expected '}}'"):
        render_text("{{ oops", {})
    with pytest.raises(TemplateError, match="unknown filter"):
        render_text("{{ x | shout }}", {"x": 1})


def test_runaway_loops_are_stopped() -> None:
    with pytest.raises(TemplateError, match="loop iteration limit"):
        render_text("{% for i in (1..1000000) %}{{ i }}{% endfor %}", {})


def test_compiled_templates_are_cached_by_source() -> None:
    source = "cached {{ n }}"
    render_text(source, {"n": 1})
    hits_before = templates._compile.cache_info().hits

    assert render_text(source, {"n": 2}) == "cached 2"

    assert templates._compile.cache_info().hits == hits_before + 1
