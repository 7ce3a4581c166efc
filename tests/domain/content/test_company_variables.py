"""Company fields in templates: rendered from the contact's company, empty without one, not warned about."""

from __future__ import annotations

from domain.content.preview import preview_context, render_fields
from domain.content.variables import unknown_variables
from domain.delivery.email import contact_context

TEMPLATES = {
    "subject": "Hi {{ contact.first_name }} of {{ company.name }}",
    "html": "<p>{{ company.attributes.plan }}</p>",
}


def test_company_fields_and_attributes_render() -> None:
    company = {"id": "co_1", "name": "<Acme>", "domain": "acme.com", "external_id": None, "attributes": {"plan": "pro"}}
    context = contact_context({"first_name": "Ada", "attributes": {}}, company)
    assert render_fields(TEMPLATES, context) == {"subject": "Hi Ada of <Acme>", "html": "<p>pro</p>"}


def test_a_contact_without_company_renders_it_empty() -> None:
    assert render_fields(TEMPLATES, preview_context({"first_name": "Ada"})) == {
        "subject": "Hi Ada of ",
        "html": "<p></p>",
    }


def test_company_fields_are_known_and_others_warned() -> None:
    source = "{{ company.name }} {{ company.domain }} {{ company.attributes.plan }} {{ company.revenue }}"
    found = unknown_variables("welcome", "text", source, set())
    assert [w.variable for w in found] == ["company.revenue"]
    assert "not a company field" in found[0].message
