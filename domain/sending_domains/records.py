"""The DNS records a sending domain publishes: what to publish, where, and how TXT values are split."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel

TXT_STRING_LIMIT = 255  # one DNS character-string holds at most 255 bytes (RFC 1035 §3.3)


class RecordKind(StrEnum):
    SPF = "spf"
    DKIM = "dkim"
    DMARC = "dmarc"
    RETURN_PATH = "return_path"
    TRACKING = "tracking"


RecordType = Literal["TXT", "CNAME"]


class RecordSettings(BaseModel):
    """Where this installation's infrastructure lives; the customer's records point at it."""

    spf_include: str = "spf.mauntic.net"
    return_path_label: str = "bounces"
    return_path_target: str = "bounces.mauntic.net"
    tracking_label: str = "track"
    tracking_target: str = "track.mauntic.net"
    dmarc_policy: Literal["none", "quarantine", "reject"] = "quarantine"


class ExpectedRecord(BaseModel):
    kind: RecordKind
    type: RecordType
    host: str
    value: str
    strings: list[str]  # TXT: the character-strings to publish (<= 255 bytes each); CNAME: [target]

    @property
    def zone_value(self) -> str:
        """The value as a zone file (or most DNS consoles) take it: quoted strings for TXT, the target for CNAME."""
        if self.type == "CNAME":
            return self.value
        return " ".join('"' + chunk.replace("\\", "\\\\").replace('"', '\\"') + '"' for chunk in self.strings)


def split_txt(value: str, limit: int = TXT_STRING_LIMIT) -> list[str]:
    """Split a TXT value into character-strings of at most `limit` bytes, never inside a UTF-8 sequence."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for char in value:
        width = len(char.encode())
        if size + width > limit:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    chunks.append("".join(current))
    return chunks


def dkim_host(selector: str, domain: str) -> str:
    return f"{selector}._domainkey.{domain}"


def dkim_value(public_key_b64: str) -> str:
    return f"v=DKIM1; k=rsa; p={public_key_b64}"


def spf_value(include: str) -> str:
    return f"v=spf1 include:{include} ~all"


def dmarc_value(policy: str) -> str:
    return f"v=DMARC1; p={policy}; adkim=r; aspf=r"


def _txt(kind: RecordKind, host: str, value: str) -> ExpectedRecord:
    return ExpectedRecord(kind=kind, type="TXT", host=host, value=value, strings=split_txt(value))


def _cname(kind: RecordKind, host: str, target: str) -> ExpectedRecord:
    return ExpectedRecord(kind=kind, type="CNAME", host=host, value=target, strings=[target])


def expected_records(domain: str, selector: str, public_key_b64: str, settings: RecordSettings) -> list[ExpectedRecord]:
    """Every record `domain` must publish to send through us, in the order a user would add them."""
    return [
        _txt(RecordKind.SPF, domain, spf_value(settings.spf_include)),
        _txt(RecordKind.DKIM, dkim_host(selector, domain), dkim_value(public_key_b64)),
        _txt(RecordKind.DMARC, f"_dmarc.{domain}", dmarc_value(settings.dmarc_policy)),
        _cname(RecordKind.RETURN_PATH, f"{settings.return_path_label}.{domain}", settings.return_path_target),
        _cname(RecordKind.TRACKING, f"{settings.tracking_label}.{domain}", settings.tracking_target),
    ]
