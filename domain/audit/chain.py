"""The per-workspace hash chain: each entry is a canonical JSON document (sorted keys, no spaces) and
`hash = sha256(prev_hash + document)`. The document is stored verbatim beside the hash, so verification never
depends on how a database's JSON or timestamp types round-trip.

The verifier walks entries in sequence order and names each problem: `modified` (the hash does not match the
document, or a column disagrees with it), `deleted` (a sequence gap, or the chain head is ahead of the last entry),
`reordered` (an intact entry found at another position than the one it was hashed at), `broken` (a link that does
not match, unexplained by the others).

Verification speed (bench/audit.py, target 50,000 entries/s): documents are parsed with orjson (a pure parser,
several times faster than `json` here) and each one once; the columns are compared against the parsed document
only when they differ as a whole, and the entry record is a plain slotted dataclass (a frozen one pays an
`object.__setattr__` per field, per entry)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

GENESIS = "0" * 64
COLUMNS = ("workspace_id", "action", "actor", "target_type", "target_id", "request_id")


def canonical(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(prev_hash: str, document: str) -> str:
    return hashlib.sha256((prev_hash + document).encode()).hexdigest()


@dataclass(slots=True)
class StoredEntry:
    """One row as read back: its columns, the hashed document and the two hashes."""

    seq: int
    document: str
    prev_hash: str
    hash: str
    columns: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    kind: str  # modified | deleted | reordered | broken
    seq: int
    detail: str


@dataclass
class Report:
    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class ChainWalk:
    """The verifier, fed in batches (`feed`) and closed with the stored head (`finish`), so a long chain is
    walked with only one batch of entries alive at a time: holding every entry made the cyclic garbage collector
    rescan a growing heap, which halved the rate between 20,000 and 100,000 entries. A batch is plain rows
    `(seq, document, prev_hash, hash, *COLUMNS)`, as the database returns them: building a record per entry cost
    as much as checking it."""

    def __init__(self) -> None:
        self.report = Report()
        self._prev_seq, self._prev = 0, GENESIS
        self._hashed_at: dict[int, str] = {0: GENESIS}  # the hash of each intact entry, by the seq it was hashed at

    def feed(self, rows: Iterable[Sequence[Any]]) -> None:
        report, hashed_at, problems = self.report, self._hashed_at, self.report.problems
        prev_seq, prev = self._prev_seq, self._prev
        sha256, loads = hashlib.sha256, orjson.loads
        for row in rows:
            seq, document, prev_hash, digest = row[0], row[1], row[2], row[3]
            report.entries += 1
            intact = sha256((prev_hash + document).encode()).hexdigest() == digest
            try:
                doc = loads(document)
            except orjson.JSONDecodeError:
                doc = {}
            if not isinstance(doc, dict):
                doc = {}
            hashed_seq = doc.get("seq")
            if not intact:
                problems.append(Problem("modified", seq, "its hash does not match its content"))
            elif hashed_seq != seq:
                problems.append(Problem("reordered", seq, f"the entry hashed as seq {hashed_seq} is at seq {seq}"))
            else:
                stored, hashed = tuple(row[4:]), tuple(map(doc.get, COLUMNS))
                wrong = [] if stored == hashed else _changed(stored, hashed)
                if wrong:
                    problems.append(Problem("modified", seq, f"column(s) {', '.join(wrong)} were changed"))
                elif seq > prev_seq + 1:
                    missing = f"{prev_seq + 1}" if seq == prev_seq + 2 else f"{prev_seq + 1}..{seq - 1}"
                    problems.append(Problem("deleted", prev_seq + 1, f"entry(ies) {missing} are missing"))
                elif prev_hash != hashed_at.get(seq - 1, prev):
                    problems.append(Problem("broken", seq, "its link to the previous entry does not match"))
            if intact and isinstance(hashed_seq, int):
                hashed_at[hashed_seq] = digest
            prev_seq, prev = seq, digest
        self._prev_seq, self._prev = prev_seq, prev

    def finish(self, *, head_seq: int | None = None, head_hash: str | None = None) -> Report:
        """The report; `head_*` is the chain head as stored, which reveals entries deleted from the end."""
        report, prev_seq, prev = self.report, self._prev_seq, self._prev
        report.head_seq, report.head_hash = prev_seq, prev
        if head_seq is not None and head_seq > prev_seq:
            report.problems.append(
                Problem("deleted", prev_seq + 1, f"the chain head is at seq {head_seq}: the last entries are missing")
            )
        elif head_hash is not None and head_seq == prev_seq and head_hash != prev:
            report.problems.append(Problem("modified", prev_seq, "the last entry does not match the chain head"))
        return report


def verify(entries: Iterable[StoredEntry], *, head_seq: int | None = None, head_hash: str | None = None) -> Report:
    """Walk `entries` (in sequence order) and report every problem; `head_*` is the chain head as stored, which
    reveals entries deleted from the end."""
    walk = ChainWalk()
    walk.feed(_row(entry) for entry in entries)
    return walk.finish(head_seq=head_seq, head_hash=head_hash)


_ABSENT = object()  # a column the caller did not give: not compared


def _row(entry: StoredEntry) -> tuple[Any, ...]:
    return (entry.seq, entry.document, entry.prev_hash, entry.hash, *(entry.columns.get(n, _ABSENT) for n in COLUMNS))


def _changed(stored: tuple[Any, ...], hashed: tuple[Any, ...]) -> list[str]:
    return [name for name, a, b in zip(COLUMNS, stored, hashed, strict=True) if a is not _ABSENT and a != b]
