"""The dead-letter status machine: open -> replayed | discarded, and a new failure opens it again."""

from __future__ import annotations

import pytest

from domain.dead_letters.model import (
    DeadLetterStatus,
    DeadLetterTransitionError,
    discarded,
    failed_again,
    replayed,
)

OPEN, REPLAYED, DISCARDED = DeadLetterStatus.OPEN, DeadLetterStatus.REPLAYED, DeadLetterStatus.DISCARDED


def test_an_open_item_is_replayed_or_discarded() -> None:
    assert replayed(OPEN) is REPLAYED
    assert discarded(OPEN) is DISCARDED


@pytest.mark.parametrize("status", [REPLAYED, DISCARDED])
def test_a_resolved_item_is_neither_replayed_nor_discarded_again(status: DeadLetterStatus) -> None:
    with pytest.raises(DeadLetterTransitionError, match=f"a {status.value} dead letter cannot be replayed"):
        replayed(status)
    with pytest.raises(DeadLetterTransitionError, match="cannot be discarded"):
        discarded(status)


@pytest.mark.parametrize("status", list(DeadLetterStatus))
def test_failing_again_opens_it_whatever_it_was(status: DeadLetterStatus) -> None:
    assert failed_again(status) is OPEN
