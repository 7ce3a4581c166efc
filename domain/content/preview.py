"""A message step rendered for one contact, as its send renders it: every Liquid field of the step
(step.templates()), HTML fields autoescaped, a subject or title kept to one line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.content.templates import render_html, render_text
from domain.delivery.email import COMPANY_FIELDS, CONTACT_FIELDS, contact_context

HTML_FIELDS = frozenset({"html"})
ONE_LINE_FIELDS = frozenset({"subject", "title"})


def preview_context(contact: Mapping[str, Any], company: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The template context of a contact given as its fields and `attributes` (a stored row's or a sample's), and
    of its company (a stored row's fields or a sample's; None: no company)."""
    fields: dict[str, Any] = {name: contact.get(name) for name in CONTACT_FIELDS}
    fields["attributes"] = dict(contact.get("attributes") or {})
    shown = None if company is None else {name: company.get(name) for name in COMPANY_FIELDS}
    if shown is not None:
        shown["attributes"] = dict(company.get("attributes") or {}) if company is not None else {}
    return contact_context(fields, shown)


def render_fields(templates: Mapping[str, str], context: Mapping[str, Any]) -> dict[str, str]:
    """Each template rendered (TemplateError when one cannot be)."""
    rendered: dict[str, str] = {}
    for field, source in templates.items():
        if field in HTML_FIELDS:
            rendered[field] = render_html(source, context)
        else:
            text = render_text(source, context)
            rendered[field] = text.replace("\r", " ").replace("\n", " ") if field in ONE_LINE_FIELDS else text
    return rendered
