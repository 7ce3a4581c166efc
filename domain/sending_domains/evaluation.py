"""Evaluating what DNS answered against the records a domain should publish: per-record status and diagnostics.

Pure: the DNS answers come in as a `DnsSnapshot` (gathered by activities/sending_domains), the verdict goes out as
a `DomainCheck`. TXT answers arrive as their character-strings and are joined here, so a value split into several
255-byte strings compares equal to the unsplit one.

What verifies each record:
- SPF: exactly one `v=spf1` record at the domain, holding our include (it may hold the customer's other senders);
- DKIM: a key record at the selector whose p= is our public key (whitespace in p= ignored), k=rsa or absent;
- DMARC: exactly one `v=DMARC1` record with a valid p= (our suggested policy is only a suggestion; p=none warns);
  a subdomain without a record of its own is covered by its organizational domain's record, as receivers do
  (RFC 7489 §6.6.3), with that record's subdomain policy (sp=, else p=);
- return-path and tracking: a CNAME to the configured target (case and trailing dot ignored).
Diagnostics (SPF lookups, key size, DMARC policy, From alignment) are advice and do not change a record's status,
except where receivers would ignore the record outright (two SPF or two DMARC records: a mismatch). SPF alignment
is judged against the return-path domain (bounces.<domain>), which is the envelope MAIL FROM only with providers set
up to use it as their custom MAIL FROM / return-path domain: SMTP sends with the From address as MAIL FROM, and SES
as configured sets no custom MAIL FROM domain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.sending_domains.dkim import MIN_KEY_BITS, is_dkim_key_record, parse_tags, rsa_key_bits
from domain.sending_domains.names import organizational_domain, relaxed_aligned
from domain.sending_domains.records import ExpectedRecord, RecordKind, RecordType
from domain.sending_domains.spf import SPF_LOOKUP_LIMIT, count_spf_lookups, parse_spf, spf_records

DnsOutcome = Literal["answer", "nxdomain", "no_answer", "error"]
RecordStatus = Literal["verified", "missing", "mismatch", "error"]
Severity = Literal["error", "warning"]
DMARC_POLICIES = frozenset({"none", "quarantine", "reject"})


class DnsAnswer(BaseModel):
    """One lookup's outcome. `records` holds each resource record as its character-strings (a CNAME: [target])."""

    outcome: DnsOutcome
    records: list[list[str]] = []
    error: str | None = None  # for outcome "error": timeout, servfail, ...

    @property
    def values(self) -> list[str]:
        return ["".join(strings) for strings in self.records]


class DnsSnapshot(BaseModel):
    """What DNS answered for each expected record, plus the SPF records of every name the SPF record includes and,
    when the domain has no DMARC record of its own, the one of its organizational domain (see `org_dmarc_host`)."""

    answers: dict[RecordKind, DnsAnswer]
    spf_includes: dict[str, DnsAnswer] = {}
    org_dmarc: DnsAnswer | None = None


class RecordResult(BaseModel):
    kind: RecordKind
    type: RecordType
    host: str
    expected: str
    found: list[str]
    status: RecordStatus
    detail: str | None = None


class Diagnostic(BaseModel):
    code: str
    severity: Severity
    message: str
    record: RecordKind | None = None


CUSTOM_RETURN_PATH = "the envelope MAIL FROM only with providers set up to use it as custom MAIL FROM / return-path"


class Alignment(BaseModel):
    """DMARC relaxed alignment of the From domain with the DKIM (d=) domain and with the return-path domain, which
    SPF checks where it is the envelope MAIL FROM."""

    from_domain: str
    spf_domain: str = Field(description=f"The return-path domain: {CUSTOM_RETURN_PATH}.")
    dkim_domain: str = Field(description="The DKIM signing domain (d=) of mail from this sending domain.")
    spf_aligned: bool = Field(description="From aligns with the return-path domain (relaxed, RFC 7489 §3.1).")
    dkim_aligned: bool = Field(description="From aligns with the DKIM domain (relaxed, RFC 7489 §3.1).")


class DomainCheck(BaseModel):
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    all_verified: bool = Field(alias="allVerified")
    missing_records: list[RecordResult] = Field(alias="missingRecords")
    records: list[RecordResult]
    diagnostics: list[Diagnostic]
    alignment: Alignment
    spf_lookups: int | None = None  # counted up to SPF_LOOKUP_LIMIT + 1, which means "over the limit"

    @property
    def inconclusive(self) -> bool:
        """Nothing was found missing or wrong, but some lookups failed (timeout, SERVFAIL): says nothing new."""
        return not self.all_verified and all(record.status in ("verified", "error") for record in self.records)

    def status_of(self, kind: RecordKind) -> RecordStatus | None:
        return next((record.status for record in self.records if record.kind == kind), None)


class _Verdict(BaseModel):
    status: RecordStatus
    found: list[str] = []
    detail: str | None = None


def evaluate(
    domain: str, expected: list[ExpectedRecord], snapshot: DnsSnapshot, from_domain: str | None = None
) -> DomainCheck:
    diagnostics: list[Diagnostic] = []
    results: list[RecordResult] = []
    spf_lookups: int | None = None
    for record in expected:
        answer = snapshot.answers.get(record.kind, DnsAnswer(outcome="error", error="not looked up"))
        if answer.outcome == "error":
            verdict = _Verdict(status="error", detail=f"DNS lookup failed: {answer.error or 'error'}")
        elif record.kind == RecordKind.SPF:
            verdict, spf_lookups = _spf(domain, record, answer, snapshot, diagnostics)
        elif record.kind == RecordKind.DMARC:
            verdict = _dmarc(domain, answer, snapshot.org_dmarc, diagnostics)
        else:
            verdict = _EVALUATORS[record.kind](record, answer, diagnostics)
        results.append(
            RecordResult(
                kind=record.kind, type=record.type, host=record.host, expected=record.value, **verdict.model_dump()
            )
        )
    alignment = _alignment(domain, expected, from_domain or domain, diagnostics)
    return DomainCheck(
        all_verified=all(result.status == "verified" for result in results),
        missing_records=[result for result in results if result.status != "verified"],
        records=results,
        diagnostics=diagnostics,
        alignment=alignment,
        spf_lookups=spf_lookups,
    )


def _absent(answer: DnsAnswer, what: str) -> _Verdict:
    reason = "the name does not exist (NXDOMAIN)" if answer.outcome == "nxdomain" else f"no {what} record"
    return _Verdict(status="missing", detail=reason)


def _spf(
    domain: str, record: ExpectedRecord, answer: DnsAnswer, snapshot: DnsSnapshot, diagnostics: list[Diagnostic]
) -> tuple[_Verdict, int | None]:
    found = spf_records(answer.values)
    if not found:
        return _absent(answer, "SPF (v=spf1)"), None
    if len(found) > 1:
        diagnostics.append(
            _diag(
                "spf_multiple_records",
                "error",
                RecordKind.SPF,
                f"{len(found)} SPF records: receivers treat more than one as a permanent error; merge them into one",
            )
        )
    fetched = {name: _single_spf(included) for name, included in snapshot.spf_includes.items()}
    count = count_spf_lookups(found[0], fetched, domain)
    if count.lookups > SPF_LOOKUP_LIMIT:
        diagnostics.append(
            _diag(
                "spf_too_many_lookups",
                "error",
                RecordKind.SPF,
                f"the SPF record needs more than {SPF_LOOKUP_LIMIT} DNS lookups; receivers stop at "
                f"{SPF_LOOKUP_LIMIT} with a permanent error (RFC 7208 §4.6.4)",
            )
        )
    if count.loops:
        diagnostics.append(
            _diag(
                "spf_include_loop",
                "error",
                RecordKind.SPF,
                "the SPF includes loop back to " + ", ".join(count.loops) + ": receivers end in a permanent "
                "error (RFC 7208 §4.6.4)",
            )
        )
    if count.unresolved:
        diagnostics.append(
            _diag(
                "spf_include_unresolved",
                "warning",
                RecordKind.SPF,
                "included names without an SPF record: " + ", ".join(count.unresolved),
            )
        )
    if len(found) > 1:
        return _Verdict(status="mismatch", found=found, detail="more than one SPF record"), count.lookups
    wanted = parse_spf(record.value).includes
    have = parse_spf(found[0]).includes
    if all(include in have for include in wanted):
        return _Verdict(status="verified", found=found), count.lookups
    return _Verdict(
        status="mismatch",
        found=found,
        detail="the SPF record lacks " + ", ".join(f"include:{include}" for include in wanted if include not in have),
    ), count.lookups


def _single_spf(answer: DnsAnswer) -> str | None:
    found = spf_records(answer.values) if answer.outcome == "answer" else []
    return found[0] if len(found) == 1 else None


def _dkim(record: ExpectedRecord, answer: DnsAnswer, diagnostics: list[Diagnostic]) -> _Verdict:
    if not answer.values:
        return _absent(answer, "DKIM key TXT")
    keys = [value for value in answer.values if is_dkim_key_record(value)]
    for key in keys:
        key_b64 = parse_tags(key)["p"]
        bits = rsa_key_bits(key_b64) if key_b64 else None
        if bits is not None and bits < MIN_KEY_BITS:
            diagnostics.append(
                _diag(
                    "dkim_key_too_short",
                    "error",
                    RecordKind.DKIM,
                    f"the published DKIM key has {bits} bits; use at least {MIN_KEY_BITS} (RFC 8301)",
                )
            )
    wanted = parse_tags(record.value)["p"]
    if any(parse_tags(key)["p"] == wanted and parse_tags(key).get("k", "rsa") == "rsa" for key in keys):
        return _Verdict(status="verified", found=answer.values)
    if not keys:
        return _Verdict(status="mismatch", found=answer.values, detail="no DKIM key record (v=DKIM1; p=...)")
    if any(not parse_tags(key)["p"] for key in keys):
        return _Verdict(status="mismatch", found=answer.values, detail="the published key is revoked (empty p=)")
    return _Verdict(status="mismatch", found=answer.values, detail="the published key is not this domain's key")


def org_dmarc_host(domain: str, own: DnsAnswer) -> str | None:
    """Where receivers look for DMARC when `own` (the answer at `_dmarc.<domain>`) holds no DMARC record: the
    organizational domain's `_dmarc` name (RFC 7489 §6.6.3). None when there is a record, the lookup failed, or
    the domain is its own organizational domain."""
    organizational = organizational_domain(domain)
    if organizational == domain or own.outcome == "error" or _dmarc_records(own):
        return None
    return f"_dmarc.{organizational}"


def _dmarc_records(answer: DnsAnswer) -> list[str]:
    return [value for value in answer.values if parse_tags(value).get("v", "").upper() == "DMARC1"]


def _dmarc(domain: str, answer: DnsAnswer, org_answer: DnsAnswer | None, diagnostics: list[Diagnostic]) -> _Verdict:
    found = _dmarc_records(answer)
    if not found:
        return _inherited_dmarc(domain, answer, org_answer, diagnostics)
    if len(found) > 1:
        diagnostics.append(
            _diag(
                "dmarc_multiple_records",
                "error",
                RecordKind.DMARC,
                "more than one DMARC record: receivers ignore them all (RFC 7489 §6.6.3)",
            )
        )
        return _Verdict(status="mismatch", found=found, detail="more than one DMARC record")
    policy = parse_tags(found[0]).get("p", "").lower()
    if policy not in DMARC_POLICIES:
        return _Verdict(status="mismatch", found=found, detail="the DMARC record has no valid p= policy")
    if policy == "none":
        _warn_policy_none(diagnostics)
    return _Verdict(status="verified", found=found)


def _inherited_dmarc(
    domain: str, answer: DnsAnswer, org_answer: DnsAnswer | None, diagnostics: list[Diagnostic]
) -> _Verdict:
    """No record of its own: a subdomain is covered by its organizational domain's single valid record."""
    host = org_dmarc_host(domain, answer)
    if host is None or org_answer is None:
        return _dmarc_missing(domain, answer, diagnostics)
    if org_answer.outcome == "error":
        failure = org_answer.error or "error"
        return _Verdict(status="error", detail=f"no DMARC record; the lookup of {host} failed: {failure}")
    found = _dmarc_records(org_answer)
    policy = _subdomain_policy(found[0]) if len(found) == 1 else None
    if policy is None:
        return _dmarc_missing(domain, answer, diagnostics, also_at=host)
    if policy == "none":
        _warn_policy_none(diagnostics, inherited_from=host)
    detail = f"no record of its own: inherited from the organizational domain's record at {host} (RFC 7489 §6.6.3)"
    return _Verdict(status="verified", found=found, detail=detail)


def _dmarc_missing(
    domain: str, answer: DnsAnswer, diagnostics: list[Diagnostic], also_at: str | None = None
) -> _Verdict:
    where = f"_dmarc.{domain}" + (f" or {also_at}" if also_at else "")
    diagnostics.append(
        _diag(
            "dmarc_missing",
            "warning",
            RecordKind.DMARC,
            f"no DMARC record at {where}: receivers apply no policy to mail failing SPF and DKIM",
        )
    )
    verdict = _absent(answer, "DMARC (v=DMARC1)")
    if also_at is None:
        return verdict
    return _Verdict(status="missing", detail=f"{verdict.detail}; none usable at {also_at} either")


def _subdomain_policy(record: str) -> str | None:
    """The policy a record sets for subdomains: sp=, else p= (RFC 7489 §6.3); None when p= is not valid."""
    tags = parse_tags(record)
    policy, subdomain_policy = tags.get("p", "").lower(), tags.get("sp", "").lower()
    if policy not in DMARC_POLICIES:
        return None
    return subdomain_policy if subdomain_policy in DMARC_POLICIES else policy


def _warn_policy_none(diagnostics: list[Diagnostic], inherited_from: str | None = None) -> None:
    what = f"DMARC policy none (inherited from {inherited_from})" if inherited_from else "DMARC p=none"
    diagnostics.append(
        _diag(
            "dmarc_policy_none",
            "warning",
            RecordKind.DMARC,
            f"{what} only monitors; move to quarantine or reject once reports are clean",
        )
    )


def _cname(record: ExpectedRecord, answer: DnsAnswer, diagnostics: list[Diagnostic]) -> _Verdict:
    found = [value.lower().rstrip(".") for value in answer.values]
    if not found:
        return _absent(answer, "CNAME")
    if record.value.lower().rstrip(".") in found:
        return _Verdict(status="verified", found=found)
    return _Verdict(status="mismatch", found=found, detail=f"the CNAME must point at {record.value}")


_EVALUATORS: dict[RecordKind, Callable[[ExpectedRecord, DnsAnswer, list[Diagnostic]], _Verdict]] = {
    RecordKind.DKIM: _dkim,
    RecordKind.RETURN_PATH: _cname,
    RecordKind.TRACKING: _cname,
}


def _alignment(
    domain: str, expected: list[ExpectedRecord], from_domain: str, diagnostics: list[Diagnostic]
) -> Alignment:
    return_path = next((r.host for r in expected if r.kind == RecordKind.RETURN_PATH), domain)
    alignment = Alignment(
        from_domain=from_domain,
        spf_domain=return_path,
        dkim_domain=domain,
        spf_aligned=relaxed_aligned(from_domain, return_path),
        dkim_aligned=relaxed_aligned(from_domain, domain),
    )
    if not (alignment.spf_aligned or alignment.dkim_aligned):
        diagnostics.append(
            _diag(
                "from_not_aligned",
                "error",
                None,
                f"From domain {from_domain} aligns with neither the DKIM domain ({domain}) nor the return-path "
                f"domain {return_path} ({CUSTOM_RETURN_PATH}): DMARC fails unless the envelope sender actually used "
                f"aligns with {from_domain}",
            )
        )
    elif not alignment.spf_aligned:
        diagnostics.append(
            _diag(
                "from_not_aligned_spf",
                "warning",
                None,
                f"From domain {from_domain} does not align with the return-path domain {return_path} "
                f"({CUSTOM_RETURN_PATH}); for mail sent that way DMARC relies on DKIM alone",
            )
        )
    elif not alignment.dkim_aligned:
        diagnostics.append(
            _diag(
                "from_not_aligned_dkim",
                "warning",
                None,
                f"From domain {from_domain} does not align with the DKIM domain {domain}; DMARC relies on SPF alone, "
                f"through the return-path domain {return_path} ({CUSTOM_RETURN_PATH})",
            )
        )
    return alignment


def _diag(code: str, severity: Severity, record: RecordKind | None, message: str) -> Diagnostic:
    return Diagnostic(code=code, severity=severity, message=message, record=record)
