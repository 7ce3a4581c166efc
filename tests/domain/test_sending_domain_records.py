"""The records a domain publishes, TXT splitting, SPF lookup counting and DKIM key sizes."""

from __future__ import annotations

import base64

import pytest

from domain.sending_domains.dkim import parse_tags, rsa_key_bits
from domain.sending_domains.records import RecordKind, RecordSettings, expected_records, split_txt
from domain.sending_domains.spf import (
    SPF_LOOKUP_LIMIT,
    count_spf_lookups,
    parse_spf,
    spf_names_to_fetch,
    spf_records,
)

# The 1024-bit public key of RFC 6376 Appendix C (selector "brisbane", example.com).
RFC6376_KEY = (
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq"
    "631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB"
)
KEY_2048 = base64.b64encode(b"\x30" * 294).decode()  # only its length matters for splitting


def test_expected_records_for_a_domain() -> None:
    settings = RecordSettings(
        spf_include="spf.esp.test", return_path_target="rp.esp.test", tracking_target="t.esp.test"
    )
    records = {r.kind: r for r in expected_records("example.com", "mtc1", "KEY", settings)}

    assert records[RecordKind.SPF].host == "example.com"
    assert records[RecordKind.SPF].value == "v=spf1 include:spf.esp.test ~all"
    assert records[RecordKind.DKIM].host == "mtc1._domainkey.example.com"
    assert records[RecordKind.DKIM].value == "v=DKIM1; k=rsa; p=KEY"
    assert records[RecordKind.DMARC].host == "_dmarc.example.com"
    assert records[RecordKind.DMARC].value.startswith("v=DMARC1; p=quarantine")
    assert (records[RecordKind.RETURN_PATH].type, records[RecordKind.RETURN_PATH].host) == (
        "CNAME",
        "bounces.example.com",
    )
    assert records[RecordKind.RETURN_PATH].value == "rp.esp.test"
    assert (records[RecordKind.TRACKING].host, records[RecordKind.TRACKING].value) == (
        "track.example.com",
        "t.esp.test",
    )


def test_a_2048_bit_dkim_value_is_split_into_255_byte_strings() -> None:
    record = next(r for r in expected_records("example.com", "s", KEY_2048, RecordSettings()) if r.kind == "dkim")

    assert len(record.value) > 255
    assert [len(chunk) for chunk in record.strings] == [255, len(record.value) - 255]
    assert "".join(record.strings) == record.value
    assert record.zone_value == f'"{record.strings[0]}" "{record.strings[1]}"'


def test_split_never_cuts_a_multibyte_character() -> None:
    chunks = split_txt("a" * 254 + "é" + "b", limit=255)
    assert chunks == ["a" * 254, "éb"]
    assert all(len(chunk.encode()) <= 255 for chunk in chunks)
    assert split_txt("short") == ["short"]


def test_spf_records_are_told_from_other_txt_records() -> None:
    assert spf_records(["google-site-verification=x", "v=spf1 -all", "V=SPF1 mx ~all", "v=spf10"]) == [
        "v=spf1 -all",
        "V=SPF1 mx ~all",
    ]


def test_spf_terms_that_cost_a_lookup() -> None:
    terms = parse_spf("v=spf1 ip4:192.0.2.0/24 a mx/24 ptr exists:%{i}.x.test include:_spf.a.test -all exp=e.test")
    assert terms.lookups == 5  # a, mx, ptr, exists, include; not ip4, all or exp
    assert terms.targets == ["_spf.a.test"]
    assert parse_spf("v=spf1 redirect=_spf.b.test").targets == ["_spf.b.test"]
    assert parse_spf("v=spf1 -all redirect=_spf.b.test").lookups == 0  # redirect is ignored next to `all`


def test_spf_lookups_are_counted_through_nested_includes() -> None:
    root = "v=spf1 include:one.test include:two.test ~all"
    fetched: dict[str, str | None] = {}
    assert spf_names_to_fetch(root, fetched) == ["one.test", "two.test"]
    fetched.update({"one.test": "v=spf1 include:deep.test a mx -all", "two.test": "v=spf1 ip4:192.0.2.1 -all"})
    assert spf_names_to_fetch(root, fetched) == ["deep.test"]
    fetched["deep.test"] = "v=spf1 a mx ptr exists:x.test include:gone.test -all"
    assert spf_names_to_fetch(root, fetched) == ["gone.test"]
    fetched["gone.test"] = None

    count = count_spf_lookups(root, fetched)

    assert count.lookups == 2 + 3 + 5  # root's includes; one.test's include, a, mx; deep.test's five
    assert count.unresolved == ["gone.test"]
    assert spf_names_to_fetch(root, fetched) == []


def test_an_spf_include_loop_is_counted_once_and_reported() -> None:
    fetched: dict[str, str | None] = {"a.test": "v=spf1 include:b.test -all", "b.test": "v=spf1 include:a.test -all"}
    count = count_spf_lookups("v=spf1 include:a.test -all", fetched)
    assert count.lookups == 3
    assert count.loops == ["a.test"]


def test_a_domain_including_itself_is_a_loop() -> None:
    fetched: dict[str, str | None] = {
        "example.com": "v=spf1 include:a.test -all",
        "a.test": "v=spf1 include:example.com -all",
    }

    direct = count_spf_lookups("v=spf1 include:example.com -all", fetched, "Example.com.")
    through_another = count_spf_lookups("v=spf1 include:a.test -all", fetched, "example.com")

    assert (direct.lookups, direct.loops) == (1, ["example.com"])
    assert (through_another.lookups, through_another.loops) == (2, ["example.com"])


class CountingLookups(dict[str, str | None]):
    """The fetched SPF records, counting how often the counter reads each name."""

    def __init__(self, records: dict[str, str | None]) -> None:
        super().__init__(records)
        self.reads: dict[str, int] = {}

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self.reads[key] = self.reads.get(key, 0) + 1
        return super().get(key, default)


def test_a_name_included_twice_is_walked_once_and_counted_twice() -> None:
    fetched = CountingLookups(
        {
            "a.test": "v=spf1 include:shared.test -all",
            "b.test": "v=spf1 include:shared.test -all",
            "shared.test": "v=spf1 include:leaf.test a -all",
            "leaf.test": "v=spf1 mx -all",
        }
    )

    count = count_spf_lookups("v=spf1 include:a.test include:b.test -all", fetched)

    assert count.lookups == 2 + (1 + 2 + 1) * 2  # root; a and b, each with shared.test and leaf.test
    assert (fetched.reads["shared.test"], fetched.reads["leaf.test"]) == (1, 1)


def test_counting_stops_just_past_the_limit() -> None:
    # 30 levels of two names, each including both names of the next level: 2^30 paths walked in full.
    records: dict[str, str | None] = {
        f"{side}{level}.test": f"v=spf1 include:a{level + 1}.test include:b{level + 1}.test -all"
        for level in range(30)
        for side in "ab"
    }
    fetched = CountingLookups(records)

    count = count_spf_lookups("v=spf1 include:a0.test include:b0.test -all", fetched)

    assert count.lookups == SPF_LOOKUP_LIMIT + 1
    assert sum(fetched.reads.values()) <= SPF_LOOKUP_LIMIT + 1  # down one path until the limit, then no further


def test_dkim_tags_ignore_whitespace_in_values() -> None:
    tags = parse_tags("v=DKIM1; k=rsa;\t p=MIGf MA0G\r\n CSqG ;t=y")
    assert tags == {"v": "DKIM1", "k": "rsa", "p": "MIGfMA0GCSqG", "t": "y"}


def test_rsa_key_bits_of_the_rfc_6376_example_key() -> None:
    assert rsa_key_bits(RFC6376_KEY) == 1024


@pytest.mark.parametrize("garbage", ["", "!!!", base64.b64encode(b"\x30\x82\xff\xff").decode(), "AAAA"])
def test_unreadable_keys_have_no_size(garbage: str) -> None:
    assert rsa_key_bits(garbage) is None
