"""SPF records (RFC 7208): finding them among a name's TXT records and counting the DNS lookups they cost.

Evaluating SPF may take at most 10 DNS-querying terms (§4.6.4): the mechanisms include, a, mx, ptr and exists,
and the redirect modifier, counted recursively through included records. The lookups of included records are
done by the caller; this module says which names it still needs (`spf_names_to_fetch`) and counts once they
are known (`count_spf_lookups`). Past the limit the record is a permanent error, so counting stops at 11.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

SPF_LOOKUP_LIMIT = 10
LOOKUP_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})


def is_spf_record(text: str) -> bool:
    lowered = text.strip().lower()
    return lowered == "v=spf1" or lowered.startswith("v=spf1 ")


def spf_records(txt_values: list[str]) -> list[str]:
    return [value.strip() for value in txt_values if is_spf_record(value)]


@dataclass(frozen=True)
class SpfTerms:
    lookups: int = 0  # DNS-querying terms of this record itself
    targets: list[str] = field(default_factory=list)  # names whose SPF records count too (include, redirect)
    includes: list[str] = field(default_factory=list)


def _mechanism(term: str) -> tuple[str, str]:
    body = term[1:] if term[:1] in "+-~?" else term
    for separator in (":", "/"):
        name, found, rest = body.partition(separator)
        if found:
            return name.lower(), rest if separator == ":" else ""
    return body.lower(), ""


def parse_spf(record: str) -> SpfTerms:
    lookups, targets, includes = 0, [], []
    terms = record.split()[1:]
    has_all = any(_mechanism(term)[0] == "all" for term in terms)
    for term in terms:
        name, _, value = term.partition("=")
        if value and name.lower() == "redirect":
            if has_all:
                continue  # RFC 7208 §6.1: redirect is ignored when the record has an `all`
            lookups += 1
            targets.append(_target(value))
            continue
        mechanism, argument = _mechanism(term)
        if mechanism in LOOKUP_MECHANISMS:
            lookups += 1
            if mechanism == "include" and argument:
                targets.append(_target(argument))
                includes.append(_target(argument))
    return SpfTerms(lookups=lookups, targets=[t for t in targets if t], includes=includes)


def _target(domain_spec: str) -> str:
    """The name to fetch, or "" when it holds macros (expanded per message, so unknowable here)."""
    return "" if "%" in domain_spec else domain_spec.lower().rstrip(".")


def spf_names_to_fetch(record: str, fetched: Mapping[str, str | None]) -> list[str]:
    """Names reachable from `record` through include/redirect whose SPF record is not in `fetched` yet."""
    wanted: list[str] = []
    seen: set[str] = set()
    frontier = [record]
    while frontier:
        current = frontier.pop()
        for target in parse_spf(current).targets:
            if target in seen:
                continue
            seen.add(target)
            if target not in fetched:
                wanted.append(target)
            elif (child := fetched[target]) is not None:
                frontier.append(child)
    return wanted


class SpfLookupCount(BaseModel):
    lookups: int  # at most SPF_LOOKUP_LIMIT + 1, which means "over the limit"
    unresolved: list[str] = []  # included names without an SPF record (a permerror for receivers)
    loops: list[str] = []  # names that include themselves, directly or not (the root domain too)


def count_spf_lookups(record: str, fetched: Mapping[str, str | None], domain: str = "") -> SpfLookupCount:
    """DNS-querying terms of `record` (the SPF record of `domain`) and everything it includes, in evaluation order,
    stopping once past the limit (so names further on go unreported); names missing from `fetched` add nothing.
    An included name is walked once: including it again adds the lookups it cost the first time."""
    unresolved: set[str] = set()
    loops: set[str] = set()
    cost: dict[str, int] = {}
    total = 0

    def walk(current: str, chain: tuple[str, ...]) -> int:
        """Adds the lookups of `current` and its includes to `total`; returns how many it added. Every include
        counts a lookup before it is walked, so the walk is at most SPF_LOOKUP_LIMIT deep."""
        nonlocal total
        start = total
        terms = parse_spf(current)
        total += terms.lookups
        for target in terms.targets:
            if total > SPF_LOOKUP_LIMIT:
                break
            if target in chain:
                loops.add(target)
            elif target in cost:
                total += cost[target]
            elif (child := fetched.get(target)) is not None:
                cost[target] = walk(child, (*chain, target))
            elif target in fetched:
                unresolved.add(target)
        return total - start

    root = domain.lower().rstrip(".")
    walk(record, (root,) if root else ())
    return SpfLookupCount(lookups=min(total, SPF_LOOKUP_LIMIT + 1), unresolved=sorted(unresolved), loops=sorted(loops))
