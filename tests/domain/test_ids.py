import re

from domain.ids import IdBatch, _encode, new_id, new_ids

ID = re.compile(r"^ct_[0-9a-hjkmnp-tv-z]{26}$")


def test_new_ids_have_the_shape_of_new_id_and_are_distinct() -> None:
    made = new_ids("ct", 1000)
    assert len(made) == len(set(made)) == 1000
    assert all(ID.match(i) for i in [*made, new_id("ct")])
    assert new_ids("ct", 0) == []


def test_new_ids_encode_the_random_bytes_as_encode_does(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    raw = bytes(range(10, 30))
    monkeypatch.setattr("domain.ids.os.urandom", lambda n: raw[:n])
    first, second = new_ids("ct", 2)
    assert first[-16:] == _encode(int.from_bytes(raw[:10], "big"), 16)
    assert second[-16:] == _encode(int.from_bytes(raw[10:20], "big"), 16)


def test_a_batch_hands_out_distinct_ids_across_refills_in_time_order_of_batches() -> None:
    batch = IdBatch("ct", size=3)
    made = [batch() for _ in range(10)]
    assert len(set(made)) == 10
    assert all(ID.match(i) for i in made)
    stamps = [i[3:13] for i in made]
    assert stamps == sorted(stamps)
