"""CSV records from a stream of byte blocks, each with the byte offset just past it: the offsets a resumed
import starts again from (always a record boundary, quoted newlines included).

The csv module reads one line at a time and never ahead, so the bytes of the lines it has consumed when it yields
a record are exactly that record's. Lines are decoded one by one (UTF-8; a newline byte is never inside a
multi-byte sequence); a line that is not UTF-8 is decoded with surrogate escapes, which the row parser refuses.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MAX_LINE_BYTES = 4 * 1024 * 1024
MAX_FIELD_CHARS = 1024 * 1024
csv.field_size_limit(MAX_FIELD_CHARS)


class ImportFileError(ValueError):
    """The file cannot be read on (a line beyond MAX_LINE_BYTES): the import fails."""


@dataclass
class Record:
    cells: list[str] | None  # None: the record is not valid CSV (`error` says why)
    end: int  # byte offset just past the record
    error: str | None = None


class _Lines:
    def __init__(self, blocks: Iterable[bytes], offset: int) -> None:
        self._blocks = iter(blocks)
        self._pending: list[bytes] = []
        self._carry = b""
        self.offset = offset
        self.invalid = False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        while not self._pending:
            block = next(self._blocks, None)
            if block is None:
                if not self._carry:
                    raise StopIteration
                self._pending, self._carry = [self._carry], b""
                break
            pieces = (self._carry + block).split(b"\n")
            self._carry = pieces.pop()
            if len(self._carry) > MAX_LINE_BYTES:
                raise ImportFileError(f"a line is longer than {MAX_LINE_BYTES} bytes")
            self._pending = [piece + b"\n" for piece in pieces]
            self._pending.reverse()
        line = self._pending.pop()
        self.offset += len(line)
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError:
            self.invalid = True
            return line.decode("utf-8", "surrogateescape")


def records(blocks: Iterable[bytes], offset: int = 0) -> Iterator[Record]:
    """Every record from `offset` on (blank lines skipped); `blocks` start at that offset."""
    lines = _Lines(blocks, offset)
    reader = csv.reader(lines, strict=False)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            lines.invalid = False
            yield Record(None, lines.offset, f"not valid CSV: {exc}")
            continue
        if lines.invalid:
            lines.invalid = False
            yield Record(None, lines.offset, "not valid UTF-8")
            continue
        if cells:
            yield Record(cells, lines.offset)


def header_of(data: bytes) -> tuple[list[str], int] | None:
    """The header's columns and the offset just past it, from the first bytes of a file (None: not complete in
    `data`). A UTF-8 byte order mark is skipped."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    if b"\n" not in data[start:]:
        return None
    for record in records([data[start:]], start):
        if record.end >= len(data) and not data.endswith(b"\n"):
            return None
        if record.cells is None:
            raise ImportFileError(f"the header: {record.error}")
        return [cell.strip() for cell in record.cells], record.end
    return None
