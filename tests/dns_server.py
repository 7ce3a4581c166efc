"""A real authoritative DNS server on loopback (dnslib), UDP and TCP on one free port, with a zone tests can change
while it runs: TXT records with several character-strings, CNAMEs (followed inside the zone), NXDOMAIN for unknown
names, NOERROR with no answer for known names without that type, and a mode that never answers (timeouts).

UDP answers over 512 bytes are truncated (TC bit), so resolvers retry over TCP as they would on the Internet.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from dnslib import CNAME, QTYPE, RCODE, RR, TXT, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer

TTL = 60


def _key(name: str) -> str:
    return name.lower().rstrip(".") + "."


@dataclass
class Zone(BaseResolver):  # type: ignore[misc]
    """name -> list of (type, rdata). Mutations and lookups hold a lock: the server threads read concurrently."""

    records: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)
    silent: bool = False
    queries: list[tuple[str, str, str]] = field(default_factory=list)  # (name, type, protocol)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_txt(self, name: str, *strings: str) -> None:
        """One TXT record made of these character-strings (each at most 255 bytes)."""
        with self._lock:
            self.records.setdefault(_key(name), []).append(("TXT", TXT([s.encode() for s in strings])))

    def add_cname(self, name: str, target: str) -> None:
        with self._lock:
            self.records.setdefault(_key(name), []).append(("CNAME", CNAME(_key(target))))

    def remove(self, name: str, rtype: str | None = None) -> None:
        with self._lock:
            kept = [entry for entry in self.records.get(_key(name), []) if rtype is not None and entry[0] != rtype]
            if kept:
                self.records[_key(name)] = kept
            else:
                self.records.pop(_key(name), None)

    def replace_txt(self, name: str, *strings: str) -> None:
        self.remove(name, "TXT")
        self.add_txt(name, *strings)

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        reply = request.reply()  # aa=1: authoritative
        qname, qtype = str(request.q.qname), QTYPE[request.q.qtype]
        with self._lock:
            self.queries.append((qname.rstrip("."), qtype, handler.protocol))
            name = qname.lower()
            for _ in range(8):  # follow CNAMEs within the zone, as an authoritative server does
                entries = self.records.get(name)
                if entries is None:
                    if name == qname.lower():
                        reply.header.rcode = RCODE.NXDOMAIN
                    return reply
                cname = next((rdata for rtype, rdata in entries if rtype == "CNAME"), None)
                if cname is not None and qtype != "CNAME":
                    reply.add_answer(RR(name, QTYPE.CNAME, rdata=cname, ttl=TTL))
                    name = str(cname.label).lower()
                    continue
                for rtype, rdata in entries:
                    if rtype == qtype:
                        reply.add_answer(RR(name, getattr(QTYPE, rtype), rdata=rdata, ttl=TTL))
                return reply
        return reply


UDP_LIMIT = 512  # classic DNS: larger UDP answers are truncated and retried over TCP


class _Handler(DNSHandler):  # type: ignore[misc]
    def handle(self) -> None:
        if self.server.resolver.silent:
            return  # never answer: the client times out
        super().handle()

    def get_reply(self, data: bytes) -> bytes:
        request = DNSRecord.parse(data)
        reply = self.server.resolver.resolve(request, self)
        packed: bytes = reply.pack()
        if self.protocol == "udp" and len(packed) > UDP_LIMIT:
            # Keep the question (dnslib's own truncate() drops it, and resolvers then discard the reply).
            truncated = request.reply()
            truncated.header.tc = 1
            packed = truncated.pack()
        return packed


class _Quiet(DNSLogger):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(log="-request,-reply,-truncated,-error", prefix=False)


def _free_udp_and_tcp_port() -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port: int = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port for the DNS server")


@dataclass
class DnsTestServer:
    zone: Zone
    host: str
    port: int


@contextmanager
def dns_server() -> Iterator[DnsTestServer]:
    zone = Zone()
    port = _free_udp_and_tcp_port()
    servers = [
        DNSServer(zone, address="127.0.0.1", port=port, tcp=tcp, handler=_Handler, logger=_Quiet())
        for tcp in (False, True)
    ]
    for server in servers:
        server.start_thread()
    try:
        yield DnsTestServer(zone=zone, host="127.0.0.1", port=port)
    finally:
        for server in servers:
            server.stop()
            server.server.server_close()


def publish(zone: Zone, records: list[dict[str, Any]]) -> None:
    """Publish records as the API lists them (kind, type, host, value, strings): TXT as its split strings."""
    for record in records:
        if record["type"] == "TXT":
            zone.add_txt(record["host"], *record["strings"])
        else:
            zone.add_cname(record["host"], record["value"])
