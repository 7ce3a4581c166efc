"""What a stored text or JSON value may hold: one set of rules for the REST API and ingestion alike.

PostgreSQL `text` cannot hold NUL and UTF-8 cannot encode a lone surrogate ("\\ud800", which JSON lets a client
send): either one fails the INSERT with a 500, so they are refused before anything is written. JSON values are
bounded in nesting depth (pydantic's serializer and the JSON encoders on the way to Temporal recurse, and a row
nested 300 deep made every read of it fail), keys per object and characters per string.
"""

from __future__ import annotations

import re
from typing import Any

MAX_JSON_DEPTH = 32  # levels of objects and arrays, the outermost one included
MAX_JSON_KEYS = 1000  # keys in one object (and items in one array)
MAX_JSON_STRING_CHARS = 32 * 1024  # one string (key or value); a whole Segment message is at most 32 KiB

_UNSAFE = re.compile("[\x00\ud800-\udfff]")
CLIPPED = "[nested too deep]"


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored, or None."""
    match = _UNSAFE.search(value)
    if match is None:
        return None
    return "contains a NUL character" if match.group() == "\x00" else "contains a lone surrogate"


def printable(text: str) -> str:
    """The text with what cannot be stored or encoded written as escapes: a NUL as `\\x00`, a lone surrogate
    as `\\udcff` (for error messages and reasons that quote what a client sent)."""
    return text.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\x00")


def require_storable(value: Any, *, bounded: bool = True) -> Any:
    """`value` itself, or ValueError with `value_problem`'s reason (for pydantic validators)."""
    problem = value_problem(value, bounded=bounded)
    if problem:
        raise ValueError(problem)
    return value


def _path(parts: tuple[str | int, ...]) -> str:
    """Where a value is, printable: a key's NUL or surrogate shows escaped (an error message must encode)."""
    return printable("".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts))


def value_problem(value: object, *, bounded: bool = True, text: bool = True) -> str | None:
    """The first reason a decoded JSON value cannot be stored, with where it is (".plan.tiers[2]"), or None.

    Every string (keys included) must pass `text_problem`; with `bounded`, depth, keys and string length are
    limited too (journey texts are bounded by the request size instead, since an email body may be long).
    Without `text`, strings are not checked for NUL and surrogates (ingestion stores them as JSON, which can).
    """
    stack: list[tuple[object, tuple[str | int, ...], int]] = [(value, (), 1)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item) if text else None
            if problem is None and bounded and len(item) > MAX_JSON_STRING_CHARS:
                problem = f"is longer than {MAX_JSON_STRING_CHARS} characters"
            if problem:
                return f"{_path(where) or 'the value'} {problem}".lstrip(".")
            continue
        if not isinstance(item, dict | list | tuple):
            continue
        if depth > MAX_JSON_DEPTH:
            return f"{_path(where).lstrip('.')} is nested deeper than {MAX_JSON_DEPTH} levels"
        if bounded and len(item) > MAX_JSON_KEYS:
            return f"{_path(where).lstrip('.') or 'the value'} has more than {MAX_JSON_KEYS} entries"
        if isinstance(item, dict):
            for key, child in item.items():
                stack.append((key, (*where, str(key)), depth))
                stack.append((child, (*where, str(key)), depth + 1))
        else:
            stack.extend((child, (*where, index), depth + 1) for index, child in enumerate(item))
    return None


def clipped(value: Any, depth: int = 1) -> Any:
    """The value with whatever lies deeper than MAX_JSON_DEPTH replaced by CLIPPED, so that rows stored before
    the bound existed can still be read and written back."""
    if not isinstance(value, dict | list):
        return value
    if depth > MAX_JSON_DEPTH:
        return CLIPPED
    if isinstance(value, dict):
        return {key: clipped(child, depth + 1) for key, child in value.items()}
    return [clipped(child, depth + 1) for child in value]
