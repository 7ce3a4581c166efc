"""Reading a Segment request body: gzip within the size limits, JSON decoding, message size and bounds.

Nothing here writes anything; every failure is a 400 with a stable code.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import orjson
from fastapi import Request

from api.errors import ApiError
from api.validation import normalized_email
from domain.events.fields import Checks, invalid
from domain.events.segment import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES
from domain.json_limits import value_problem


class BadBody(ApiError):
    status_code = 400
    code = "invalid_message"


def too_large(batch: bool) -> BadBody:
    if batch:
        return BadBody(f"a batch request is limited to {MAX_BATCH_BYTES} bytes", code="batch_too_large")
    return BadBody(f"a message is limited to {MAX_MESSAGE_BYTES} bytes", code="message_too_large")


async def read_body(request: Request, *, batch: bool) -> bytes:
    """The (decompressed) body. Its size on the wire was bounded while it was read (api/body_limit.py, the one
    bounded reader, with this module's limits and codes for the ingestion routes); inflating is bounded here."""
    limit = MAX_BATCH_BYTES if batch else MAX_MESSAGE_BYTES
    body = await request.body()
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise BadBody(f"unsupported Content-Encoding {encoding!r} (use gzip)", code="unsupported_encoding")
    decoder = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib, detected from the header
    try:
        plain = decoder.decompress(body, limit + 1)  # never inflate more than the limit (zip bombs)
    except zlib.error as exc:
        raise BadBody("the body is not valid gzip", code="malformed_json") from exc
    if len(plain) > limit:
        raise too_large(batch)
    return plain


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _int_or_float(text: str) -> int | float:
    """Integers beyond 64 bits become floats (as in JavaScript, which is where most events come from)."""
    value = int(text)
    return value if -(2**63) <= value < 2**64 else float(value)


def decode_json(raw: bytes, *, batch: bool = False) -> Any:
    """orjson first; what it refuses (integers beyond 64 bits, lone surrogates) goes through the standard library.
    Its output must then survive orjson (no lone surrogates) to be accepted; in a batch only the envelope must,
    since each message is measured by orjson on its own, and one with a lone surrogate is set aside alone rather
    than costing its batch (Segment's libraries drop a batch answered 400)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        value = json.loads(raw, parse_constant=_reject_constant, parse_int=_int_or_float)
        envelope = {k: v for k, v in value.items() if k != "batch"} if batch and isinstance(value, dict) else value
        orjson.dumps(envelope)
    except (ValueError, RecursionError, OverflowError, TypeError, orjson.JSONEncodeError) as exc:
        raise BadBody(f"the body is not valid JSON: {exc}", code="malformed_json") from None
    return value


def encoded_size(value: object) -> int:
    """Compact UTF-8 JSON size of a message; refuses JSON past the bounds every stored JSON value has (depth,
    keys, string length: domain/json_limits.py, the same as the REST API's), since our JSON columns, the
    response serializer and Temporal payloads go through encoders that recurse."""
    problem = value_problem(value, text=False)
    if problem:
        raise invalid(f"the message cannot be stored: {problem}")
    try:
        return len(orjson.dumps(value))
    except orjson.JSONEncodeError as exc:
        raise invalid(f"the message cannot be stored: {exc}") from None


CHECKS = Checks(measure=encoded_size, normalize_email=normalized_email)
