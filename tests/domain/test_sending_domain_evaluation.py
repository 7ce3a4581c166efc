"""The pure evaluator: per-record status from DNS answers, allVerified/missingRecords, diagnostics, alignment."""

from __future__ import annotations

import base64

from domain.sending_domains.evaluation import (
    Alignment,
    DnsAnswer,
    DnsSnapshot,
    DomainCheck,
    evaluate,
    org_dmarc_host,
)
from domain.sending_domains.records import ExpectedRecord, RecordKind, RecordSettings, expected_records
from domain.sending_domains.status import regressed_records, status_after_check, status_after_timeout
from tests.domain.test_sending_domain_records import RFC6376_KEY

DOMAIN = "example.com"
KEY = base64.b64encode(b"k" * 300).decode()  # 400 characters: published in two strings
EXPECTED = expected_records(DOMAIN, "mtc1", KEY, RecordSettings())
BY_KIND = {record.kind: record for record in EXPECTED}


def txt(*records: list[str] | str) -> DnsAnswer:
    return DnsAnswer(outcome="answer", records=[[r] if isinstance(r, str) else r for r in records])


def published(record: ExpectedRecord) -> DnsAnswer:
    return DnsAnswer(outcome="answer", records=[record.strings])


def all_published(**overrides: DnsAnswer) -> dict[RecordKind, DnsAnswer]:
    answers = {record.kind: published(record) for record in EXPECTED}
    answers.update({RecordKind(kind): answer for kind, answer in overrides.items()})
    return answers


def check(answers: dict[RecordKind, DnsAnswer], **kwargs: object) -> DomainCheck:
    return evaluate(DOMAIN, EXPECTED, DnsSnapshot(answers=answers, **kwargs))


def codes(result: DomainCheck) -> set[str]:
    return {diagnostic.code for diagnostic in result.diagnostics}


def test_every_record_published_verifies_with_split_dkim_strings_joined() -> None:
    assert len(BY_KIND[RecordKind.DKIM].strings) == 2

    result = check(all_published())

    assert result.all_verified
    assert result.missing_records == []
    assert {r.kind: r.status for r in result.records} == dict.fromkeys(RecordKind, "verified")
    assert result.spf_lookups == 1
    assert codes(result) == set()
    dumped = result.model_dump(mode="json")
    assert dumped["allVerified"] is True
    assert dumped["missingRecords"] == []


def test_missing_records_list_expected_and_found() -> None:
    result = check(
        all_published(
            dkim=DnsAnswer(outcome="nxdomain"),
            spf=txt("google-site-verification=abc"),
            tracking=DnsAnswer(outcome="no_answer"),
        )
    )

    assert not result.all_verified
    missing = {r.kind: r for r in result.missing_records}
    assert set(missing) == {RecordKind.DKIM, RecordKind.SPF, RecordKind.TRACKING}
    assert missing[RecordKind.DKIM].status == "missing"
    assert missing[RecordKind.DKIM].expected == BY_KIND[RecordKind.DKIM].value
    assert missing[RecordKind.DKIM].found == []
    assert "NXDOMAIN" in (missing[RecordKind.DKIM].detail or "")
    assert missing[RecordKind.SPF].status == "missing"
    assert missing[RecordKind.TRACKING].status == "missing"


def test_wrong_values_are_mismatches_showing_what_was_found() -> None:
    result = check(
        all_published(
            spf=txt("v=spf1 include:_spf.google.com ~all"),
            dkim=txt(f"v=DKIM1; k=rsa; p={RFC6376_KEY}"),
            return_path=txt("elsewhere.example.net."),
        )
    )

    statuses = {r.kind: (r.status, r.found) for r in result.missing_records}
    assert statuses[RecordKind.SPF] == ("mismatch", ["v=spf1 include:_spf.google.com ~all"])
    assert statuses[RecordKind.DKIM][0] == "mismatch"
    assert statuses[RecordKind.RETURN_PATH] == ("mismatch", ["elsewhere.example.net"])


def test_spf_with_more_includes_than_ours_verifies_and_cname_compares_case_insensitively() -> None:
    result = check(
        all_published(
            spf=txt("v=spf1 include:_spf.google.com include:spf.mauntic.net -all", "other=1"),
            tracking=txt("TRACK.Mauntic.NET."),
        )
    )
    assert result.all_verified


def test_lookup_errors_are_errors_not_missing() -> None:
    result = check(all_published(dmarc=DnsAnswer(outcome="error", error="timeout after 1s")))

    dmarc = next(r for r in result.records if r.kind == RecordKind.DMARC)
    assert dmarc.status == "error"
    assert "timeout" in (dmarc.detail or "")
    assert "dmarc_missing" not in codes(result)


def test_two_spf_records_are_an_error() -> None:
    result = check(all_published(spf=txt("v=spf1 include:spf.mauntic.net ~all", "v=spf1 mx -all")))

    assert "spf_multiple_records" in codes(result)
    assert next(r for r in result.records if r.kind == RecordKind.SPF).status == "mismatch"


def test_spf_over_ten_lookups_through_includes() -> None:
    root = "v=spf1 include:spf.mauntic.net include:a.test include:b.test -all"
    includes = {
        "a.test": txt("v=spf1 a mx include:c.test -all"),
        "b.test": txt("v=spf1 mx ptr -all"),
        "c.test": txt("v=spf1 a mx exists:x.test -all"),
        "spf.mauntic.net": DnsAnswer(outcome="nxdomain"),
    }
    result = check(all_published(spf=txt(root)), spf_includes=includes)

    assert result.spf_lookups == 3 + 3 + 2 + 3
    assert "spf_too_many_lookups" in codes(result)
    assert "spf_include_unresolved" in codes(result)
    assert next(r for r in result.records if r.kind == RecordKind.SPF).status == "verified"

    within = check(all_published(spf=txt("v=spf1 include:spf.mauntic.net include:b.test -all")), spf_includes=includes)
    assert within.spf_lookups == 4
    assert "spf_too_many_lookups" not in codes(within)


def test_an_spf_include_loop_back_to_the_domain_is_an_error() -> None:
    includes = {
        "spf.mauntic.net": txt("v=spf1 ip4:192.0.2.0/24 -all"),
        "a.test": txt("v=spf1 include:example.com -all"),
    }
    result = check(all_published(spf=txt("v=spf1 include:spf.mauntic.net include:a.test ~all")), spf_includes=includes)

    loop = next(d for d in result.diagnostics if d.code == "spf_include_loop")
    assert (loop.severity, loop.record) == ("error", RecordKind.SPF)
    assert "example.com" in loop.message
    assert result.spf_lookups == 3
    assert "spf_include_loop" not in codes(check(all_published(), spf_includes=includes))


def test_a_dkim_key_under_1024_bits_is_flagged() -> None:
    weak = base64.b64encode(
        bytes.fromhex("305c300d06092a864886f70d0101010500034b003048024100") + b"\xc1" * 64 + bytes.fromhex("0203010001")
    ).decode()
    result = check(all_published(dkim=txt(f"v=DKIM1; k=rsa; p={weak}")))

    assert "dkim_key_too_short" in codes(result)
    assert next(r for r in result.records if r.kind == RecordKind.DKIM).status == "mismatch"
    strong_enough = check(all_published(dkim=txt(f"v=DKIM1; p={RFC6376_KEY}")))
    assert "dkim_key_too_short" not in codes(strong_enough)


def test_a_revoked_dkim_key_is_a_mismatch() -> None:
    result = check(all_published(dkim=txt("v=DKIM1; k=rsa; p=")))
    dkim = next(r for r in result.records if r.kind == RecordKind.DKIM)
    assert (dkim.status, dkim.detail) == ("mismatch", "the published key is revoked (empty p=)")


def test_dmarc_p_none_verifies_with_a_warning_and_missing_dmarc_warns() -> None:
    none = check(all_published(dmarc=txt("v=DMARC1; p=none; rua=mailto:d@example.com")))
    assert none.all_verified
    assert [(d.code, d.severity) for d in none.diagnostics] == [("dmarc_policy_none", "warning")]

    missing = check(all_published(dmarc=DnsAnswer(outcome="nxdomain")))
    assert not missing.all_verified
    assert [r.status for r in missing.missing_records if r.kind == RecordKind.DMARC] == ["missing"]
    assert ("dmarc_missing", "warning") in [(d.code, d.severity) for d in missing.diagnostics]

    twice = check(all_published(dmarc=txt("v=DMARC1; p=reject", "v=DMARC1; p=none")))
    assert "dmarc_multiple_records" in codes(twice)
    invalid = check(all_published(dmarc=txt("v=DMARC1; p=maybe")))
    assert next(r for r in invalid.records if r.kind == RecordKind.DMARC).status == "mismatch"


def test_alignment_of_the_from_domain() -> None:
    answers = all_published()
    same = evaluate(DOMAIN, EXPECTED, DnsSnapshot(answers=answers), "news.example.com")
    assert (same.alignment.spf_aligned, same.alignment.dkim_aligned) == (True, True)
    assert same.alignment.spf_domain == "bounces.example.com"

    other = evaluate(DOMAIN, EXPECTED, DnsSnapshot(answers=answers), "example.net")
    assert (other.alignment.spf_aligned, other.alignment.dkim_aligned) == (False, False)
    assert ("from_not_aligned", "error") in [(d.code, d.severity) for d in other.diagnostics]


def test_the_alignment_says_the_return_path_is_the_mail_from_only_of_providers_set_up_with_it() -> None:
    result = evaluate(DOMAIN, EXPECTED, DnsSnapshot(answers=all_published()), "example.net")

    message = next(d.message for d in result.diagnostics if d.code == "from_not_aligned")
    assert "return-path domain bounces.example.com" in message
    assert "envelope MAIL FROM only with providers set up to use it as custom MAIL FROM / return-path" in message
    assert set(result.model_dump(mode="json")["alignment"]) == {
        "from_domain",
        "spf_domain",
        "dkim_domain",
        "spf_aligned",
        "dkim_aligned",
    }
    described = Alignment.model_json_schema()["properties"]["spf_domain"]["description"]
    assert "custom MAIL FROM" in described


def test_status_moves_with_checks_and_regressions_are_named() -> None:
    good = check(all_published())
    bad = check(all_published(dkim=DnsAnswer(outcome="nxdomain")))

    assert status_after_check("pending", bad) == "pending"
    assert status_after_check("pending", good) == "verified"
    assert status_after_check("verified", bad) == "failing"
    assert status_after_check("failing", good) == "verified"
    assert status_after_check("failed", bad) == "failed"
    assert status_after_check("failed", good) == "verified"
    assert status_after_timeout("pending") == "failed"
    assert status_after_timeout("verified") == "verified"
    assert regressed_records(good, bad) == [RecordKind.DKIM]
    assert regressed_records(None, bad) == []
    assert regressed_records(bad, bad) == []


def test_lookup_errors_on_a_verified_domain_flag_no_regression() -> None:
    good = check(all_published())
    unsure = check(all_published(dkim=DnsAnswer(outcome="error", error="timeout after 5s")))
    unsure_and_bad = check(all_published(dkim=DnsAnswer(outcome="error"), tracking=DnsAnswer(outcome="nxdomain")))

    assert unsure.inconclusive
    assert status_after_check("verified", unsure) == "verified"
    assert regressed_records(good, unsure) == []
    assert status_after_check("pending", unsure) == "pending"
    assert not unsure_and_bad.inconclusive
    assert status_after_check("verified", unsure_and_bad) == "failing"
    assert regressed_records(good, unsure_and_bad) == [RecordKind.TRACKING]


SUBDOMAIN = "mail.example.com"
SUBDOMAIN_EXPECTED = expected_records(SUBDOMAIN, "mtc1", KEY, RecordSettings())


def check_subdomain(own_dmarc: DnsAnswer, org_dmarc: DnsAnswer | None) -> DomainCheck:
    answers = {record.kind: published(record) for record in SUBDOMAIN_EXPECTED}
    answers[RecordKind.DMARC] = own_dmarc
    return evaluate(SUBDOMAIN, SUBDOMAIN_EXPECTED, DnsSnapshot(answers=answers, org_dmarc=org_dmarc))


def dmarc_of(result: DomainCheck) -> tuple[str, list[str], str | None]:
    dmarc = next(r for r in result.records if r.kind == RecordKind.DMARC)
    return dmarc.status, dmarc.found, dmarc.detail


def test_the_organizational_domain_is_asked_only_when_a_subdomain_has_no_dmarc_record() -> None:
    nothing = DnsAnswer(outcome="nxdomain")
    assert org_dmarc_host(SUBDOMAIN, nothing) == "_dmarc.example.com"
    assert org_dmarc_host("news.shop.co.uk", txt("some other TXT")) == "_dmarc.shop.co.uk"
    assert org_dmarc_host(DOMAIN, nothing) is None  # already the organizational domain
    assert org_dmarc_host(SUBDOMAIN, txt("v=DMARC1; p=reject")) is None
    assert org_dmarc_host(SUBDOMAIN, txt("v=DMARC1; p=bogus")) is None  # a record of its own, even a bad one
    assert org_dmarc_host(SUBDOMAIN, DnsAnswer(outcome="error", error="timeout")) is None


def test_a_subdomain_without_dmarc_inherits_the_organizational_domains_record() -> None:
    result = check_subdomain(DnsAnswer(outcome="nxdomain"), txt("v=DMARC1; p=reject; rua=mailto:d@example.com"))

    assert result.all_verified
    status, found, detail = dmarc_of(result)
    assert (status, found) == ("verified", ["v=DMARC1; p=reject; rua=mailto:d@example.com"])
    assert "inherited from the organizational domain" in (detail or "")
    assert "_dmarc.example.com" in (detail or "")
    assert codes(result) == set()


def test_an_inherited_subdomain_policy_of_none_verifies_with_a_warning() -> None:
    none = check_subdomain(DnsAnswer(outcome="no_answer"), txt("v=DMARC1; p=none"))
    sp_none = check_subdomain(DnsAnswer(outcome="nxdomain"), txt("v=DMARC1; p=reject; sp=none"))
    sp_reject = check_subdomain(DnsAnswer(outcome="nxdomain"), txt("v=DMARC1; p=none; sp=reject"))

    assert none.all_verified
    assert [(d.code, d.severity) for d in none.diagnostics] == [("dmarc_policy_none", "warning")]
    assert "_dmarc.example.com" in none.diagnostics[0].message
    assert sp_none.all_verified
    assert codes(sp_none) == {"dmarc_policy_none"}
    assert sp_reject.all_verified
    assert codes(sp_reject) == set()


def test_a_subdomain_with_no_usable_dmarc_anywhere_is_missing_with_a_warning() -> None:
    for org in (DnsAnswer(outcome="nxdomain"), txt("v=DMARC1; p=reject", "v=DMARC1; p=none"), txt("v=DMARC1")):
        result = check_subdomain(DnsAnswer(outcome="nxdomain"), org)

        assert not result.all_verified
        status, found, detail = dmarc_of(result)
        assert (status, found) == ("missing", [])
        assert "NXDOMAIN" in (detail or "")
        assert "_dmarc.example.com" in (detail or "")
        missing = next(d for d in result.diagnostics if d.code == "dmarc_missing")
        assert (missing.severity, missing.record) == ("warning", RecordKind.DMARC)


def test_a_failed_organizational_lookup_is_an_error_and_a_record_of_its_own_wins() -> None:
    failed = check_subdomain(DnsAnswer(outcome="nxdomain"), DnsAnswer(outcome="error", error="timeout after 5s"))
    own = check_subdomain(txt("v=DMARC1; p=quarantine"), txt("v=DMARC1; p=none"))

    status, _, detail = dmarc_of(failed)
    assert status == "error"
    assert "timeout" in (detail or "")
    assert "dmarc_missing" not in codes(failed)
    assert failed.inconclusive
    assert dmarc_of(own) == ("verified", ["v=DMARC1; p=quarantine"], None)
    assert codes(own) == set()
