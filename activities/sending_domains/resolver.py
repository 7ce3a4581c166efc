"""DNS lookups with dnspython's async resolver, mapped to the evaluator's `DnsAnswer`."""

from __future__ import annotations

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from domain.sending_domains.evaluation import DnsAnswer
from mauntic.settings import Settings


class DnsResolver:
    """Asks the configured nameservers (all on `port`), or the system's when none are given; no caching."""

    def __init__(self, nameservers: list[str], port: int = 53, timeout: float = 5.0) -> None:
        self._nameservers = list(nameservers)
        self._port = port
        self._timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> DnsResolver:
        return cls(settings.dns_nameservers, settings.dns_port, settings.dns_timeout_seconds)

    def _resolver(self) -> dns.asyncresolver.Resolver:
        resolver = dns.asyncresolver.Resolver(configure=not self._nameservers)
        if self._nameservers:
            resolver.nameservers = self._nameservers
        resolver.port = self._port
        resolver.timeout = self._timeout
        resolver.lifetime = self._timeout
        return resolver

    async def txt(self, name: str) -> DnsAnswer:
        """Each TXT record as its character-strings (joined by the evaluator)."""
        return await self._lookup(name, dns.rdatatype.TXT)

    async def cname(self, name: str) -> DnsAnswer:
        return await self._lookup(name, dns.rdatatype.CNAME)

    async def _lookup(self, name: str, rdtype: dns.rdatatype.RdataType) -> DnsAnswer:
        try:
            # Names come from users' records too (SPF includes): a malformed one is an error answer, not a crash.
            answer = await self._resolver().resolve(dns.name.from_text(name), rdtype, search=False)
        except dns.resolver.NXDOMAIN:
            return DnsAnswer(outcome="nxdomain")
        except dns.resolver.NoAnswer:
            return DnsAnswer(outcome="no_answer")
        except dns.exception.Timeout:
            return DnsAnswer(outcome="error", error=f"timeout after {self._timeout:g}s")
        except dns.resolver.NoNameservers as exc:
            return DnsAnswer(outcome="error", error=f"no nameserver answered (SERVFAIL or REFUSED): {exc}")
        except (dns.exception.DNSException, UnicodeError, ValueError) as exc:  # incl. no resolver configuration
            return DnsAnswer(outcome="error", error=f"{type(exc).__name__}: {exc}")
        if rdtype == dns.rdatatype.TXT:
            records = [[s.decode("utf-8", errors="replace") for s in rdata.strings] for rdata in answer]
        else:
            records = [[rdata.target.to_text(omit_final_dot=True)] for rdata in answer]
        return DnsAnswer(outcome="answer", records=records)
