"""What a template refers to, checked against what it can see: unknown variables are warnings, never errors.

A journey's message templates are rendered with one variable, `contact` (domain/delivery/email.contact_context):
the contact's columns (CONTACT_FIELDS: id, external_id, email, phone, first_name, last_name, timezone) and its
custom attributes (`contact.plan`, `contact.company`...). Anything else renders empty: another root (`event.x`,
`journey.x`, a typo like `contcat.x`), or a `contact.<key>` that is neither a column nor an attribute any contact
of the workspace has. A second variable, `company`, is the contact's company (COMPANY_FIELDS: `company.name`,
`company.domain`, `company.attributes.plan`...; empty for a contact without one); `company.<key>` that is not one
of those fields renders empty too. The designer is told so when the journey is saved; the send itself still goes out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from liquid.exceptions import LiquidError

from domain.content.templates import TemplateError, _compile
from domain.delivery.email import COMPANY_FIELDS, CONTACT_FIELDS

# `preferences_url`: the contact's signed preference-page link (mauntic/consent_links.py), set at send time
TEMPLATE_ROOTS = frozenset({"contact", "company", "preferences_url"})


@dataclass(frozen=True)
class TemplateWarning:
    node: str
    field: str
    variable: str
    message: str


def variables_of(source: str) -> list[list[str]]:
    """The global variables `source` reads, each as its path (`contact.first_name` -> ["contact", "first_name"]);
    loop and assigned locals left out. A template that does not compile reads nothing (its syntax is checked
    elsewhere)."""
    try:
        analysis = _compile(source, False).analyze()
    except (TemplateError, LiquidError):
        return []
    found: list[list[str]] = []
    for uses in analysis.globals.values():
        for use in uses:
            path = [segment for segment in use.segments if isinstance(segment, str)]
            if path and path not in found:
                found.append(path)
    return found


def unknown_variables(node: str, field: str, source: str, attributes: Collection[str] | None) -> list[TemplateWarning]:
    """Warnings for what `source` reads that renders empty. `attributes`: the custom attribute keys known in the
    workspace (None: unknown, so any `contact.<key>` passes)."""
    warnings: list[TemplateWarning] = []
    for path in variables_of(source):
        variable = ".".join(path)
        if path[0] not in TEMPLATE_ROOTS:
            message = f"'{path[0]}' is not available to templates (only 'contact' and 'company' are): it renders empty"
            warnings.append(TemplateWarning(node, field, variable, message))
        elif path[0] == "company":
            if len(path) > 1 and path[1] not in COMPANY_FIELDS:
                message = (
                    f"'{path[1]}' is not a company field (id, name, domain, external_id, attributes): it renders empty"
                )
                warnings.append(TemplateWarning(node, field, variable, message))
        elif len(path) > 1 and attributes is not None and path[1] not in CONTACT_FIELDS and path[1] not in attributes:
            message = (
                f"no contact of the workspace has the attribute '{path[1]}' (nor is it a contact field): "
                "it renders empty until one does"
            )
            warnings.append(TemplateWarning(node, field, variable, message))
    return warnings


def template_warnings(
    templates: Iterable[tuple[str, str, str]], attributes: Collection[str] | None
) -> list[TemplateWarning]:
    """`templates`: (node, field, source) triples, e.g. every step's templates()."""
    return [w for node, field, source in templates for w in unknown_variables(node, field, source, attributes)]
