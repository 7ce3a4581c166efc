"""Liquid templates for subjects and bodies: syntax checks at design time, cached rendering at send time.

Undefined variables render as empty strings, so a contact missing a property gets a blank, not a failed send.
HTML bodies are autoescaped: contact properties are untrusted input.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, ClassVar

from liquid import BoundTemplate, Environment
from liquid.exceptions import LiquidError


class TemplateError(Exception):
    """A template that cannot be compiled or rendered; `message` is fit to show a journey designer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _TenantEnvironment(Environment):
    # Templates are written by tenants: bound the work one render may do.
    loop_iteration_limit: ClassVar[int | None] = 10_000
    output_stream_limit: ClassVar[int | None] = 2_000_000
    local_namespace_limit: ClassVar[int | None] = 100_000


_TEXT_ENV = _TenantEnvironment()
_HTML_ENV = _TenantEnvironment(autoescape=True)


def _at(message: str, source: str, index: int) -> str:
    """`message` with the line it refers to, when the position is known."""
    if index < 0:
        return message
    return f"{message} (line {source.count(chr(10), 0, index) + 1})"


def _describe(error: LiquidError, source: str) -> str:
    token = error.token
    message = str(error.message) if error.message else type(error).__name__
    return _at(message, source, token.start_index if token is not None else -1)


@lru_cache(maxsize=2048)
def _compile(source: str, html: bool) -> BoundTemplate:
    # Keyed by source: a broadcast renders the same few templates for every recipient.
    environment = _HTML_ENV if html else _TEXT_ENV
    try:
        return environment.from_string(source)
    except LiquidError as err:
        raise TemplateError(_describe(err, source)) from err


def check_syntax(template: str) -> str | None:
    """None when `template` compiles and uses only known filters, else a message saying what is wrong."""
    try:
        compiled = _compile(template, False)
    except TemplateError as err:
        return err.message
    # Unknown filters only fail at render time; catch them when the journey is designed instead.
    for name, spans in compiled.analyze().filters.items():
        if name not in _TEXT_ENV.filters:
            return _at(f"unknown filter '{name}'", template, spans[0].index if spans else -1)
    return None


def render(template: str, context: Mapping[str, Any], *, html: bool = False) -> str:
    """Render `template` with `context`; `html=True` escapes every interpolated value."""
    compiled = _compile(template, html)
    try:
        return str(compiled.render(**context))
    except LiquidError as err:
        raise TemplateError(_describe(err, template)) from err


def render_html(template: str, context: Mapping[str, Any]) -> str:
    return render(template, context, html=True)


def render_text(template: str, context: Mapping[str, Any]) -> str:
    return render(template, context, html=False)
