"""The pure chain verifier names each kind of tampering."""

from __future__ import annotations

import dataclasses

from domain.audit.chain import GENESIS, StoredEntry, canonical, entry_hash, verify
from domain.audit.masking import REDACTED, masked


def _chain(n: int) -> list[StoredEntry]:
    entries, prev = [], GENESIS
    for seq in range(1, n + 1):
        document = canonical({"seq": seq, "action": "contact.update", "target_id": f"ct_{seq}"})
        digest = entry_hash(prev, document)
        entries.append(StoredEntry(seq=seq, document=document, prev_hash=prev, hash=digest))
        prev = digest
    return entries


def test_an_intact_chain_verifies() -> None:
    chain = _chain(5)
    report = verify(chain, head_seq=5, head_hash=chain[-1].hash)
    assert report.ok
    assert report.entries == 5


def test_a_modified_entry_is_named() -> None:
    chain = _chain(5)
    chain[2] = dataclasses.replace(chain[2], document=chain[2].document.replace("ct_3", "ct_x"))
    problems = verify(chain).problems
    assert [(p.kind, p.seq) for p in problems] == [("modified", 3)]


def test_a_deleted_entry_is_named() -> None:
    chain = _chain(5)
    del chain[1]
    problems = verify(chain).problems
    assert [(p.kind, p.seq) for p in problems] == [("deleted", 2)]


def test_a_deleted_last_entry_is_caught_by_the_head() -> None:
    chain = _chain(5)
    head = chain[-1].hash
    problems = verify(chain[:-1], head_seq=5, head_hash=head).problems
    assert [(p.kind, p.seq) for p in problems] == [("deleted", 5)]


def test_swapped_entries_are_named_reordered() -> None:
    chain = _chain(4)
    a, b = chain[1], chain[2]
    chain[1] = dataclasses.replace(b, seq=2)
    chain[2] = dataclasses.replace(a, seq=3)
    problems = verify(chain).problems
    assert [(p.kind, p.seq) for p in problems] == [("reordered", 2), ("reordered", 3)]


def test_a_changed_column_is_named() -> None:
    chain = _chain(2)
    doc_columns = {"action": "contact.update"}
    chain = [dataclasses.replace(e, columns=dict(doc_columns)) for e in chain]
    chain[0] = dataclasses.replace(chain[0], columns={"action": "contact.delete"})
    assert [(p.kind, p.seq) for p in verify(chain).problems] == [("modified", 1)]


def test_secrets_are_redacted_and_contacts_masked() -> None:
    value = {"key_hash": "abc", "config": {"api_key": "k"}, "email": "jane@example.com", "phone": "+14155550123"}
    assert masked(value) == {
        "key_hash": REDACTED,
        "config": {"api_key": REDACTED},
        "email": "j***@example.com",
        "phone": "+1********23",
    }
