"""Checking sending domains against a real authoritative DNS server on loopback (dnslib)."""

from __future__ import annotations

import base64

from temporalio.client import Client

from activities.sending_domains.activities import SendingDomainActivities
from activities.sending_domains.contracts import CheckSendingDomainInput, MarkTimedOutInput
from domain.sending_domains.names import organizational_domain
from domain.sending_domains.records import RecordKind
from domain.sending_domains.runtime import CheckRequest
from mauntic.secrets import SecretBox
from store.models import SendingDomain
from store.sending_domains import dkim_private_key_pem, get_sending_domain, verified_domain
from store.workspaces import NewWorkspace
from tests.dns_server import DnsTestServer, publish
from tests.sending_domain_fixtures import Sessions, checker_for, new_domain_row, record

WEAK_512_BIT_KEY = base64.b64encode(
    bytes.fromhex("305c300d06092a864886f70d0101010500034b003048024100") + b"\xc1" * 64 + bytes.fromhex("0203010001")
).decode()


def activities(sessions: Sessions, dns: DnsTestServer, client: Client, timeout: float = 2.0) -> SendingDomainActivities:
    return SendingDomainActivities(sessions, checker_for(dns, timeout), client, "unused-queue")


async def reload(sessions: Sessions, row: SendingDomain) -> SendingDomain:
    async with sessions() as session:
        found = await get_sending_domain(session, row.workspace_id, row.id)
    assert found is not None
    return found


async def check(sessions: Sessions, row: SendingDomain, dns: DnsTestServer, client: Client) -> SendingDomain:
    await activities(sessions, dns, client).check(
        CheckSendingDomainInput(workspace_id=row.workspace_id, domain_id=row.id)
    )
    return await reload(sessions, row)


def missing_kinds(row: SendingDomain) -> dict[str, str]:
    return {r["kind"]: r["status"] for r in row.last_check["missingRecords"]}


def diagnostic_codes(row: SendingDomain) -> set[str]:
    return {d["code"] for d in row.last_check["diagnostics"]}


async def test_published_records_verify_with_the_dkim_key_split_in_two_strings(
    sessions: Sessions, workspace: NewWorkspace, box: SecretBox, dns: DnsTestServer, temporal_client: Client
) -> None:
    row = await new_domain_row(sessions, workspace.workspace.id, box)
    assert len(record(row, RecordKind.DKIM)["strings"]) == 2
    publish(dns.zone, row.records)

    checked = await check(sessions, row, dns, temporal_client)

    assert checked.status == "verified"
    assert checked.verified_at is not None
    assert checked.checked_at is not None
    assert checked.last_check["allVerified"] is True
    assert checked.last_check["missingRecords"] == []
    dkim = next(r for r in checked.last_check["records"] if r["kind"] == "dkim")
    assert dkim["found"] == [record(row, RecordKind.DKIM)["value"]]  # joined back from its two strings
    assert f"_dmarc.{organizational_domain(row.domain)}" not in {name for name, _, _ in dns.zone.queries}
    async with sessions() as session:
        signing = await verified_domain(session, row.workspace_id, row.domain)
    assert signing is not None
    assert signing.id == row.id
    assert dkim_private_key_pem(signing, box).startswith(b"-----BEGIN PRIVATE KEY-----")


async def test_nothing_published_is_nxdomain_everywhere_and_stays_pending(
    sessions: Sessions, workspace: NewWorkspace, box: SecretBox, dns: DnsTestServer, temporal_client: Client
) -> None:
    row = await new_domain_row(sessions, workspace.workspace.id, box)

    checked = await check(sessions, row, dns, temporal_client)

    assert checked.status == "pending"
    assert missing_kinds(checked) == dict.fromkeys([k.value for k in RecordKind], "missing")
    assert all("NXDOMAIN" in r["detail"] for r in checked.last_check["missingRecords"])
    assert "dmarc_missing" in diagnostic_codes(checked)
    async with sessions() as session:
        assert await verified_domain(session, row.workspace_id, row.domain) is None


async def test_missing_and_wrong_records_show_expected_and_found(
    sessions: Sessions, workspace: NewWorkspace, box: SecretBox, dns: DnsTestServer, temporal_client: Client
) -> None:
    row = await new_domain_row(sessions, workspace.workspace.id, box)
    publish(dns.zone, [r for r in row.records if r["kind"] not in ("tracking", "dkim", "spf")])
    dns.zone.add_txt(row.domain, "v=spf1 include:_spf.google.com ~all")
    dns.zone.add_txt(record(row, RecordKind.DKIM)["host"], "v=DKIM1; k=rsa; p=" + WEAK_512_BIT_KEY)

    checked = await check(sessions, row, dns, temporal_client)

    assert missing_kinds(checked) == {"spf": "mismatch", "dkim": "mismatch", "tracking": "missing"}
    spf = next(r for r in checked.last_check["missingRecords"] if r["kind"] == "spf")
    assert spf["expected"] == "v=spf1 include:spf.mauntic.net ~all"
    assert spf["found"] == ["v=spf1 include:_spf.google.com ~all"]
    assert "dkim_key_too_short" in diagnostic_codes(checked)
    assert checked.status == "pending"


async def test_dns_timeouts_are_errors_and_change_nothing(
    sessions: Sessions, workspace: NewWorkspace, box: SecretBox, dns: DnsTestServer, temporal_client: Client
) -> None:
    row = await new_domain_row(sessions, workspace.workspace.id, box)
    publish(dns.zone, row.records)
    dns.zone.silent = True

    await activities(sessions, dns, temporal_client, timeout=0.3).check(
        CheckSendingDomainInput(workspace_id=row.workspace_id, domain_id=row.id)
    )
    checked = await reload(sessions, row)

    assert checked.status == "pending"
    assert set(missing_kinds(checked).values()) == {"error"}
    assert all("timeout" in r["detail"] for r in checked.last_check["missingRecords"])


async def test_spf_over_ten_lookups_through_nested_includes_and_dmarc_p_none(
    sessions: Sessions, workspace: NewWorkspace, box: SecretBox, dns: DnsTestServer, temporal_client: Client
) -> None:
    row = await new_domain_row(sessions, workspace.workspace.id, box)
    publish(dns.zone, [r for r in row.records if r["kind"] not in ("spf", "dmarc")])
    dns.zone.add_txt(row.domain, "v=spf1 include:spf.mauntic.net include:_spf.crm.test mx ~all")
    dns.zone.add_txt("spf.mauntic.net", "v=spf1 ip4:192.0.2.0/24 -all")
    dns.zone.add_txt("_spf.crm.test", "v=spf1 include:_a.crm.test include:_b.crm.test -all")
    dns.zone.add_txt("_a.crm.test", "v=spf1 a mx ptr -all")
    dns.zone.add_txt("_b.crm.test", "v=spf1 ", "include:_c.crm.test exists:x.test -all")  # split strings
    dns.zone.add_txt("_c.crm.test", "v=spf1 a mx -all")
    dns.zone.add_txt(f"_dmarc.{row.domain}", "v=DMARC1; p=none")

    checked = await check(sessions, row, dns, temporal_client)

    assert checked.status == "verified"
    assert checked.last_check["spf_lookups"] == 11  # counting stops past the limit: 3 + 2 + 3 + 2 + 2 in full
    assert {"spf_too_many_lookups", "dmarc_policy_none"} <= diagnostic_codes(checked)
    looked_up = {name for name, qtype, _ in dns.zone.queries if qtype == "TXT"}
    assert {"_spf.crm.test", "_a.crm.test", "_b.crm.test", "_c.crm.test", "spf.mauntic.net"} <= looked_up


async def test_large_answers_come_over_tcp(
    sessions: Sessions, workspace: NewWorkspace, box: SecretBox, dns: DnsTestServer, temporal_client: Client
) -> None:
    row = await new_domain_row(sessions, workspace.workspace.id, box)
    publish(dns.zone, row.records)
    dns.zone.add_txt(record(row, RecordKind.DKIM)["host"], "x" * 250)  # the answer no longer fits 512 bytes

    checked = await check(sessions, row, dns, temporal_client)

    assert checked.status == "verified"
    assert (record(row, RecordKind.DKIM)["host"], "TXT", "tcp") in dns.zone.queries


async def test_a_regression_moves_verified_to_failing_and_is_recorded(
    sessions: Sessions, workspace: NewWorkspace, box: SecretBox, dns: DnsTestServer, temporal_client: Client
) -> None:
    row = await new_domain_row(sessions, workspace.workspace.id, box)
    publish(dns.zone, row.records)
    assert (await check(sessions, row, dns, temporal_client)).status == "verified"
    dns.zone.remove(record(row, RecordKind.DKIM)["host"])

    failing = await check(sessions, row, dns, temporal_client)

    assert failing.status == "failing"
    assert failing.last_check["regression"]["records"] == ["dkim"]
    again = await check(sessions, row, dns, temporal_client)
    assert again.last_check["regression"] == failing.last_check["regression"]  # kept while still failing
    publish(dns.zone, [record(row, RecordKind.DKIM)])
    assert (await check(sessions, row, dns, temporal_client)).status == "verified"


async def test_the_window_ending_fails_a_pending_domain_only(
    sessions: Sessions, workspace: NewWorkspace, box: SecretBox, dns: DnsTestServer, temporal_client: Client
) -> None:
    pending = await new_domain_row(sessions, workspace.workspace.id, box)
    verified = await new_domain_row(sessions, workspace.workspace.id, box)
    publish(dns.zone, verified.records)
    await check(sessions, verified, dns, temporal_client)
    acts = activities(sessions, dns, temporal_client)

    failed = await acts.mark_timed_out(MarkTimedOutInput(workspace_id=pending.workspace_id, domain_id=pending.id))
    kept = await acts.mark_timed_out(MarkTimedOutInput(workspace_id=verified.workspace_id, domain_id=verified.id))
    gone = await acts.mark_timed_out(MarkTimedOutInput(workspace_id=pending.workspace_id, domain_id="sd_missing"))

    assert (failed.status, kept.status, gone.status) == ("failed", "verified", None)


async def test_checking_a_deleted_domain_says_so(
    sessions: Sessions, dns: DnsTestServer, temporal_client: Client, workspace: NewWorkspace
) -> None:
    result = await activities(sessions, dns, temporal_client).check(
        CheckSendingDomainInput(workspace_id=workspace.workspace.id, domain_id="sd_gone")
    )
    assert result.exists is False


async def test_check_now_reports_the_whole_check_it_saved_or_that_the_domain_is_gone(
    sessions: Sessions, workspace: NewWorkspace, box: SecretBox, dns: DnsTestServer, temporal_client: Client
) -> None:
    row = await new_domain_row(sessions, workspace.workspace.id, box)
    publish(dns.zone, row.records)
    domains = activities(sessions, dns, temporal_client)

    report = await domains.check_now(
        CheckRequest(workspace_id=row.workspace_id, domain_id=row.id, from_domain="other.example.org")
    )
    gone = await domains.check_now(CheckRequest(workspace_id=row.workspace_id, domain_id="sd_gone"))

    saved = await reload(sessions, row)
    assert (report.exists, report.status, report.checked_at) == (True, "verified", saved.checked_at)
    assert report.check is not None
    assert report.check.model_dump(mode="json", by_alias=True).items() <= saved.last_check.items()
    assert report.check.alignment.from_domain == "other.example.org"
    assert "from_not_aligned" in {d.code for d in report.check.diagnostics}
    assert gone.exists is False
    assert gone.check is None


async def test_a_resolver_outage_does_not_fail_a_verified_domain(
    sessions: Sessions, workspace: NewWorkspace, box: SecretBox, dns: DnsTestServer, temporal_client: Client
) -> None:
    row = await new_domain_row(sessions, workspace.workspace.id, box)
    publish(dns.zone, row.records)
    assert (await check(sessions, row, dns, temporal_client)).status == "verified"
    dns.zone.silent = True

    await activities(sessions, dns, temporal_client, timeout=0.3).check(
        CheckSendingDomainInput(workspace_id=row.workspace_id, domain_id=row.id)
    )
    checked = await reload(sessions, row)

    assert checked.status == "verified"
    assert set(missing_kinds(checked).values()) == {"error"}
    assert "regression" not in checked.last_check


async def test_a_malformed_spf_include_is_reported_not_raised(
    sessions: Sessions, workspace: NewWorkspace, box: SecretBox, dns: DnsTestServer, temporal_client: Client
) -> None:
    row = await new_domain_row(sessions, workspace.workspace.id, box)
    publish(dns.zone, [r for r in row.records if r["kind"] != "spf"])
    dns.zone.add_txt(row.domain, f"v=spf1 include:spf.mauntic.net include:{'x' * 70}.test ~all")

    checked = await check(sessions, row, dns, temporal_client)

    assert checked.status == "verified"
    assert "spf_include_unresolved" in diagnostic_codes(checked)


async def test_a_subdomain_is_covered_by_its_organizational_domains_dmarc_record(
    sessions: Sessions, workspace: NewWorkspace, box: SecretBox, dns: DnsTestServer, temporal_client: Client
) -> None:
    row = await new_domain_row(sessions, workspace.workspace.id, box)
    org_dmarc = f"_dmarc.{organizational_domain(row.domain)}"
    assert org_dmarc != record(row, RecordKind.DMARC)["host"]
    publish(dns.zone, [r for r in row.records if r["kind"] != "dmarc"])
    dns.zone.add_txt(org_dmarc, "v=DMARC1; ", "p=none; rua=mailto:dmarc@example.test")

    checked = await check(sessions, row, dns, temporal_client)

    assert checked.status == "verified"
    dmarc = next(r for r in checked.last_check["records"] if r["kind"] == "dmarc")
    assert dmarc["found"] == ["v=DMARC1; p=none; rua=mailto:dmarc@example.test"]
    assert "inherited from the organizational domain" in dmarc["detail"]
    assert "dmarc_policy_none" in diagnostic_codes(checked)
    assert (org_dmarc, "TXT") in {(name, qtype) for name, qtype, _ in dns.zone.queries}

    dns.zone.remove(org_dmarc)
    failing = await check(sessions, row, dns, temporal_client)

    assert failing.status == "failing"
    assert failing.last_check["regression"]["records"] == ["dmarc"]
    assert "dmarc_missing" in diagnostic_codes(failing)
