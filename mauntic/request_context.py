"""Who is acting, and in which request: set once per request (the request-id middleware, the authentication
dependency) and read by cross-cutting hooks (the audit log) that would otherwise need both threaded through every
call. Workers set the actor of the work they do (`system:<what>`)."""

from __future__ import annotations

from contextvars import ContextVar

current_request_id: ContextVar[str | None] = ContextVar("mauntic_request_id", default=None)
current_actor: ContextVar[str | None] = ContextVar("mauntic_actor", default=None)
# the authenticated caller's workspace: the audit chain of a row that has no workspace of its own (a user)
current_workspace: ContextVar[str | None] = ContextVar("mauntic_workspace", default=None)
