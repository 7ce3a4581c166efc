"""Where a provider configuration makes workers connect: every API URL and SMTP host a tenant may set. A tenant
must not be able to point our workers at our own network (cloud metadata endpoints, internal services) or make
them send credentials in clear text; deployments whose providers really are on a private network say so."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from domain.delivery.providers import ProviderConfig

URL_FIELDS = ("base_url", "endpoint_url", "token_uri")
HOST_FIELDS = ("host",)


@dataclass(frozen=True)
class TargetProblem:
    field: str
    code: str  # private_provider_host | insecure_provider_url
    message: str


def _private(host: str) -> bool:
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith((".localhost", ".internal", ".local")):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return not address.is_global


def target_problems(config: ProviderConfig, *, private_networks_allowed: bool) -> list[TargetProblem]:
    if private_networks_allowed:
        return []
    problems = []
    values = config.model_dump()
    for field in URL_FIELDS:
        url = values.get(field)
        if not isinstance(url, str):
            continue
        parts = urlsplit(url)
        if parts.scheme != "https":
            problems.append(TargetProblem(field, "insecure_provider_url", f"{field} must be an https:// URL"))
        if _private(parts.hostname or ""):
            problems.append(
                TargetProblem(field, "private_provider_host", f"{field} points at a private or local address")
            )
    for field in HOST_FIELDS:
        host = values.get(field)
        if isinstance(host, str) and _private(host):
            problems.append(TargetProblem(field, "private_provider_host", f"{field} is a private or local address"))
    return problems
