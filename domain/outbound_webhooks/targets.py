"""Where an endpoint may point: https on a public address. The same rule as providers' URLs
(domain/delivery/targets.py), checked when the endpoint is saved on the name, and again at delivery on every
address the name resolves to (so a name that later resolves to 10.0.0.1 or 169.254.169.254, DNS rebinding, is
refused too). `MAUNTIC_PROVIDER_PRIVATE_NETWORKS` lifts both, for a local sink in development and tests."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from domain.delivery.targets import _private as private_host


def url_problem(url: str, *, private_networks_allowed: bool) -> tuple[str, str] | None:
    """(code, message) when the URL may not be an endpoint; None when it may."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is not a number or out of range)
    except ValueError:
        return "invalid_endpoint_url", "url is not a valid URL"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "invalid_endpoint_url", "url must be an absolute https:// URL"
    if parts.username or parts.password:
        return "invalid_endpoint_url", "url must not carry credentials"
    if private_networks_allowed:
        return None
    if parts.scheme != "https":
        return "insecure_endpoint_url", "url must be an https:// URL"
    if private_host(parts.hostname):
        return "private_endpoint_host", "url points at a private or local address"
    return None


def address_allowed(address: str, *, private_networks_allowed: bool) -> bool:
    """Whether a resolved address may be connected to."""
    if private_networks_allowed:
        return True
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_global
    except ValueError:
        return False
