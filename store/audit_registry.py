"""The audited tables: one entry per ORM model whose rows are critical state (issue 11). A row of one of these
models created, changed or deleted through a Session is audited by store/audit_hook.py without any code at the
write site, so a new route or activity that writes one is covered the day it is written.

Each entry names the target type, the columns left out of diffs (bookkeeping that changes on every write:
timestamps, counters, last-used marks; a change to those alone records nothing), the identifying columns carried
in every diff (a consent change says whose consent and which channel), and, where a change has a name of its own
(a key revoked, a journey paused), the function that names it. What is deliberately not here: the data plane
(events, message log, score ledger, segment memberships, outbox, send counters), which is high-rate and whose
writes are either Core statements or marked `data_plane` (store/audit_hook.py); and append-only logs that are
themselves a history (consent history, segment history)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from store.models import ApiKey, Contact, DeliveryProvider, Journey, SendingDomain, Workspace, WriteKey
from store.models_access import Membership, Role, User
from store.models_calendar import WorkspaceCalendar
from store.models_companies import Company
from store.models_consent import ConsentTopic, ContactConsent, WorkspaceConsentSettings
from store.models_field_policies import FieldPolicyRow
from store.models_identity import ContactMerge, MergePolicyRow
from store.models_imports import ContactImport
from store.models_scoring import ScoreGroupSetting, ScoreRule, ScoreThreshold
from store.models_segments import Segment
from store.models_send import WorkspaceSendPolicyRow
from store.models_webhooks import WebhookEndpoint

Diff = dict[str, Any]
# (before, after) of an update, changed columns only -> the action's verb, or None for "updated"
Namer = Callable[[Diff, Diff], str | None]

ALWAYS_IGNORED = frozenset({"created_at", "updated_at"})


@dataclass(frozen=True)
class Audited:
    target_type: str
    ignore: frozenset[str] = frozenset()
    keep: tuple[str, ...] = ()  # identifying columns, in every diff
    only: frozenset[str] | None = None  # when set, the only columns whose change is audited
    verb: Namer | None = None
    target: Callable[[Any], str] | None = None  # the target id; default: the primary key (joined with ":")
    workspace: Callable[[Any], str | None] | None = None  # default: the row's workspace_id, else the request's
    created: str = "created"

    def skipped(self, column: str) -> bool:
        if column in ALWAYS_IGNORED or column in self.ignore:
            return True
        return self.only is not None and column not in self.only and column not in self.keep


def _set(name: str, before: Diff, after: Diff) -> bool:
    return name in after and before.get(name) is None and after[name] is not None


def _cleared(name: str, before: Diff, after: Diff) -> bool:
    return name in after and before.get(name) is not None and after[name] is None


def _key_verb(before: Diff, after: Diff) -> str | None:
    if _set("revoked_at", before, after):
        return "revoked"
    return "rotated" if "key_hash" in after else None


def _journey_verb(before: Diff, after: Diff) -> str | None:
    status = after.get("status")
    if status == "published" or "published_version" in after:
        return "published"
    if status == "archived":
        return "archived"
    if _set("paused_at", before, after):
        return "paused"
    return "resumed" if _cleared("paused_at", before, after) else None


def _status_verb(verbs: dict[str, str]) -> Namer:
    def verb(before: Diff, after: Diff) -> str | None:
        return verbs.get(str(after.get("status")))

    return verb


REGISTRY: dict[type, Audited] = {
    # email_key and phone_key are derived from email and phone (already in the diff, masked): never shown whole
    Contact: Audited("contact", ignore=frozenset({"email_key", "phone_key"})),
    ContactConsent: Audited("consent", keep=("contact_id", "channel", "topic")),
    ConsentTopic: Audited("consent_topic"),
    WorkspaceConsentSettings: Audited("consent_settings"),
    ContactImport: Audited(
        "import",
        only=frozenset({"status", "filename", "mapping", "error"}),
        verb=_status_verb({"queued": "started", "failed": "failed", "completed": "completed"}),
    ),
    ContactMerge: Audited(
        "merge",
        keep=("survivor_id", "merged_id"),
        only=frozenset({"status", "error"}),
        verb=_status_verb({"completed": "completed", "refused": "refused", "undoing": "undoing", "undone": "undone"}),
    ),
    MergePolicyRow: Audited("merge_policy", target=lambda row: row.workspace_id),
    Company: Audited("company"),
    Journey: Audited("journey", verb=_journey_verb),
    DeliveryProvider: Audited("provider"),
    SendingDomain: Audited("sending_domain", ignore=frozenset({"last_check", "checked_at"})),
    WebhookEndpoint: Audited("webhook_endpoint"),
    Role: Audited("role"),
    User: Audited("user"),
    Membership: Audited("membership", target=lambda row: row.user_id, keep=("user_id",)),
    ApiKey: Audited("api_key", ignore=frozenset({"last_used_at"}), verb=_key_verb),
    WriteKey: Audited("write_key", verb=lambda before, after: "revoked" if _set("revoked_at", before, after) else None),
    FieldPolicyRow: Audited("field_policy", target=lambda row: row.role),
    Segment: Audited("segment", ignore=frozenset({"member_count", "refreshed_at"})),
    ScoreRule: Audited("scoring_rule"),
    ScoreThreshold: Audited("score_threshold"),
    ScoreGroupSetting: Audited("score_group", target=lambda row: row.score_group),
    WorkspaceSendPolicyRow: Audited("send_policy", target=lambda row: row.workspace_id),
    WorkspaceCalendar: Audited("calendar", target=lambda row: row.workspace_id),
    Workspace: Audited("workspace", workspace=lambda row: row.id),
}


@dataclass
class RowChange:
    """A row change queued by the hook; several flushes of one row in a transaction fold into one entry (the
    first `before` of each column, the last `after`)."""

    spec: Audited
    kind: str  # created | updated | deleted
    workspace_id: str
    target_id: str
    actor: str
    request_id: str | None
    before: Diff | None = None
    after: Diff | None = field(default=None)

    @property
    def action(self) -> str:
        verb: str | None = self.kind
        if self.kind == "created":
            verb = self.spec.created
        elif self.kind == "updated" and self.spec.verb is not None:
            verb = self.spec.verb(self.before or {}, self.after or {}) or "updated"
        return f"{self.spec.target_type}.{verb}"
