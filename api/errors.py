"""One error base carrying an HTTP status and a stable machine code; every error body has the same shape."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

INVALID_CURSOR = "invalid_cursor"  # a cursor the API did not hand out (api/pagination.py)


class ApiError(Exception):
    status_code = 400
    code = "bad_request"
    challenge: str | None = None  # a 401's WWW-Authenticate, when not the API's own schemes

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: Any = None,
        challenge: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.details = details
        if challenge:
            self.challenge = challenge


class Unauthorized(ApiError):
    status_code = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status_code = 403
    code = "forbidden"


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class Conflict(ApiError):
    status_code = 409
    code = "conflict"


class Unprocessable(ApiError):
    status_code = 422
    code = "validation_error"


class PayloadTooLarge(ApiError):
    status_code = 413
    code = "payload_too_large"


class Unavailable(ApiError):
    status_code = 503
    code = "unavailable"


class ErrorResponse(JSONResponse):
    """Error bodies may echo what the client sent, and JSON lets a client send lone surrogates ("\\ud800") that
    UTF-8 cannot encode: write non-ASCII characters as JSON escapes, which any JSON reader decodes back."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine code, e.g. contact_not_found, validation_error")
    message: str
    details: Any = Field(None, description="For validation_error: a list of {loc, msg, type}")


class ErrorBody(BaseModel):
    """The one shape of every error body."""

    error: ErrorDetail


def _documented(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# Declared on every JSON route at once (api/app.py), so the OpenAPI names every status an operation can answer
# (schemathesis checks that it does); a route's own `responses=` refines a description.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _documented("malformed_json: the body is not JSON (or not UTF-8, or nested past the parser's limit)"),
    401: _documented("unauthorized: missing or invalid API key"),
    403: _documented("forbidden: the role lacks the permission (x-permission) or a field policy forbids it"),
    404: _documented("not found, e.g. contact_not_found"),
    409: _documented("conflict with the current state, e.g. contact_exists"),
    413: _documented("payload_too_large: the body is over the route's limit (nothing was read past it)"),
    422: _documented("validation_error (details name each field), or a route's own code"),
    503: _documented("a dependency (database, Temporal) is unavailable: retry"),
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    return body


def _safe_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        scheme = "Basic" if "write_key" in exc.code else "Bearer"  # ingestion authenticates with HTTP Basic
        headers = {"WWW-Authenticate": exc.challenge or scheme} if exc.status_code == 401 else None
        return ErrorResponse(error_body(exc.code, exc.message, exc.details), exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _safe_errors(exc)
        types = {e["type"] for e in errors}
        code, status = ("malformed_json", 400) if "json_invalid" in types else ("validation_error", 422)
        if INVALID_CURSOR in types:
            code = INVALID_CURSOR
        part = "request body" if all(e["loc"][:1] == ["body"] for e in errors) else "request"
        return ErrorResponse(error_body(code, f"{part} is not valid", errors), status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI's only 400 is a JSON body it could not decode (not UTF-8, nested too deep, an oversized number)
        code = {400: "malformed_json", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return ErrorResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)
