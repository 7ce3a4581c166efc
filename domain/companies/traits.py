"""What a Segment / RudderStack `group` call's traits say about a company.

`{"type": "group", "userId": "u1", "groupId": "acme-1", "traits": {"name": "Acme", "website": "https://acme.com",
"plan": "enterprise"}}` keys the company by `groupId` (its `external_id`) and links the user's contact to it.
`name` names it (a company first seen without one is named after its groupId), `domain` (or else the host of
`website`) is its domain, and every other trait is a custom attribute, merged into those it has (a trait set to
null removes the attribute). A `name` that is no text or longer than 200 characters, or a `domain` that is no
host name, refuses the message (`invalid_message`), as an invalid email refuses an identify.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DOMAIN_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62}\.)*[A-Za-z0-9-]{1,63}$"
MAX_NAME = 200
MAX_DOMAIN = 253
_COLUMNS = ("name", "domain")


class CompanyTraitsError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class CompanyTraits:
    name: str | None = None  # None: as it is
    domain: str | None = None  # lower-cased; None: as it is
    attributes: dict[str, Any] = field(default_factory=dict)  # merged in; a None value removes the attribute


def _domain(value: str) -> str | None:
    host = value.strip().lower().removesuffix(".")
    if len(host) > MAX_DOMAIN or re.fullmatch(DOMAIN_PATTERN, host) is None:
        return None
    return host


def website_domain(website: object) -> str | None:
    """The host of a website trait (`https://www.acme.com/about` -> `acme.com`), or None when it names none."""
    if not isinstance(website, str) or not website.strip():
        return None
    text = website.strip()
    host = urlsplit(text if "//" in text else f"//{text}").hostname
    return _domain(host.removeprefix("www.")) if host else None


def company_traits(traits: dict[str, Any]) -> CompanyTraits:
    name, domain = traits.get("name"), traits.get("domain")
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME):
        raise CompanyTraitsError(f"traits.name must be text of 1 to {MAX_NAME} characters")
    if isinstance(name, str) and "\x00" in name:
        raise CompanyTraitsError("traits.name contains a NUL character")
    if domain is not None and domain != "":
        if not isinstance(domain, str) or _domain(domain) is None:
            raise CompanyTraitsError(f"traits.domain is not a host name (like acme.com): {str(domain)[:100]!r}")
        domain = _domain(domain)
    else:
        domain = website_domain(traits.get("website"))
    return CompanyTraits(
        name=name.strip() if isinstance(name, str) else None,
        domain=domain,
        attributes={k: v for k, v in traits.items() if k not in _COLUMNS},
    )
