"""Which contact each ingested message is about, decided for a whole request at once.

The rules are those of `store.contacts.resolve_contact`, applied message by message in request order, but over
in-memory maps filled by one query, so a batch of a hundred messages costs a handful of statements instead of
hundreds. The planner only decides; the store applies its plan (new contacts, external ids, identities).

- userId wins: a known userId names its contact.
- Otherwise a known anonymousId names its contact, unless that contact is already someone else (it has another
  external id): then this userId is a new person.
- Otherwise a new contact. A contact without an external id takes the userId as one.
- Every id a message came with is remembered as an identity of the contact it resolved to.
- A contact created elsewhere with an external id but no identity row yet is found by that external id.
- alias(previousId, userId): the userId's contact, or else the contact previousId names (which then gains the
  userId), or else a new one. previousId becomes another name of it when it names nobody yet (under both kinds:
  it may be an old userId or an anonymousId).
- Automatic merges (the policy's `auto_merge`, `ContactPlanner(auto_merge=...)`): a message whose userId names a
  contact U while its anonymousId (an alias's previousId) names another contact A that has no external id of its
  own (an anonymous visitor who just logged in) plans a merge of A into U (`ContactPlan.merges`, merged -> survivor).
  Never when A carries an external id (two users), nor when a unique email or phone the request knows of differs
  between them; a contact is planned into one merge at most, and never both merged and survivor. The store writes
  the merge and the ContactMerge activity checks conflicts again under row locks.
- An identify carrying `traits.email` / `traits.phone` (`resolve(..., keyed=...)`), by the workspace merge policy:
  when userId and anonymousId name nobody, the policy's match groups may name a contact by those values (one
  already known by another userId is not this person); and no value the policy makes unique may belong to
  another contact than the one resolved: such a message is refused (`Refusal`), with nothing planned for it.
  Within a request a value stays with the contact that held it first (a swap of emails is refused, not raced).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.ids import new_id

USER = "user"
ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class KnownContact:
    id: str
    external_id: str | None
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class NewIdentity:
    kind: str
    value: str
    contact_id: str


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    reason: str


@dataclass
class KeyedIndex:
    """The workspace policy's view of keyed identifiers (email, phone): which are unique, the match groups, and
    key -> contacts holding it, as stored (`domain.identity.identifiers.key_of`)."""

    unique: frozenset[str] = frozenset()
    groups: list[list[str]] = field(default_factory=list)
    holders: dict[str, dict[str, set[str]]] = field(default_factory=dict)


@dataclass
class ContactPlan:
    new_contacts: dict[str, str | None] = field(default_factory=dict)  # id -> external id
    gained_external_ids: dict[str, str] = field(default_factory=dict)  # existing contact id -> external id
    new_identities: list[NewIdentity] = field(default_factory=list)
    merges: dict[str, str] = field(default_factory=dict)  # merged contact id -> survivor id, in planning order


class ContactPlanner:
    def __init__(
        self,
        contacts: list[KnownContact],
        users: dict[str, str] | None = None,
        anonymous: dict[str, str] | None = None,
        keyed: KeyedIndex | None = None,
        auto_merge: bool = True,
    ) -> None:
        """`contacts`: every contact the identities point to, plus those found by external id.
        `users` / `anonymous`: identity value -> contact id, as stored. `auto_merge`: the workspace policy's."""
        self._users = dict(users or {})
        self._anonymous = dict(anonymous or {})
        self._external = {c.id: c.external_id for c in contacts}
        self._timezones = {c.id: c.timezone for c in contacts if c.timezone}
        self._by_external = {c.external_id: c.id for c in contacts if c.external_id}
        self._memo: dict[tuple[str | None, str | None], str] = {}
        self._keyed = keyed or KeyedIndex()
        self._auto_merge = auto_merge
        self.plan = ContactPlan()

    def resolve(self, user_id: str | None, anonymous_id: str | None) -> str:
        found = self.resolve_keyed(user_id, anonymous_id, {})
        return found if isinstance(found, str) else self._create()  # without keyed identifiers, never a refusal

    def resolve_keyed(self, user_id: str | None, anonymous_id: str | None, keyed: dict[str, str]) -> str | Refusal:
        """`keyed`: identifier -> key (email, phone) the message's traits give the contact."""
        key = (user_id, anonymous_id)
        known = None if keyed else self._memo.get(key)
        if known is not None:
            return known
        by_user, linked = self._user(user_id)
        by_anon = self._anonymous.get(anonymous_id) if anonymous_id else None
        contact = by_user
        if contact is None and by_anon is not None and (not user_id or self._is_free_for(by_anon, user_id)):
            contact = by_anon
        if contact is None and keyed:
            contact = self._match(user_id, keyed)
        if keyed:
            refusal = self._conflict(contact, keyed)
            if refusal is not None:
                return refusal
        if contact is None:
            contact = self._create()
        if by_user is not None and by_anon is not None:
            self._merge(by_anon, by_user)
        for name, value in keyed.items():
            self._keyed.holders.setdefault(name, {}).setdefault(value, set()).add(contact)
        if user_id:
            self._take_external_id(contact, user_id)
            if not linked:
                self._link(USER, user_id, contact)
        if anonymous_id and by_anon is None:
            self._link(ANONYMOUS, anonymous_id, contact)
        if not keyed:
            self._memo[key] = contact
        return contact

    def _match(self, user_id: str | None, keyed: dict[str, str]) -> str | None:
        """The first match group all of whose identifiers the message carries and one contact holds (the newest:
        ids are time-ordered), skipping contacts known as another user (external_id is unique)."""
        for group in self._keyed.groups:
            if any(name not in keyed for name in group):
                continue  # external_id / anonymous_id groups: those ids named nobody already
            found: set[str] | None = None
            for name in group:
                holders = self._keyed.holders.get(name, {}).get(keyed[name], set())
                found = set(holders) if found is None else found & holders
            candidates = [c for c in found or () if not user_id or self._is_free_for(c, user_id)]
            if candidates:
                return max(candidates)
        return None

    def _conflict(self, contact: str | None, keyed: dict[str, str]) -> Refusal | None:
        for name, value in keyed.items():
            if name not in self._keyed.unique:
                continue
            others = self._keyed.holders.get(name, {}).get(value, set()) - {contact}
            if others:
                owner = min(others)
                return Refusal(
                    "identifier_conflict",
                    f"{name} {value!r} belongs to contact {owner}"
                    + (f", not to {contact}, the contact this message names" if contact else ""),
                )
        return None

    def alias(self, previous_id: str, user_id: str) -> str:
        contact, linked = self._user(user_id)
        previous_user, _ = self._user(previous_id)
        previous_anon = self._anonymous.get(previous_id)
        if contact is None:
            if previous_user is not None:
                contact = previous_user
            elif previous_anon is not None and self._is_free_for(previous_anon, user_id):
                contact = previous_anon
            else:
                contact = self._create()
            self._take_external_id(contact, user_id)
        if not linked:
            self._link(USER, user_id, contact)
        for previous in (previous_user, previous_anon):
            if previous is not None:
                self._merge(previous, contact)
        if previous_user is None and previous_anon is None:
            self._link(USER, previous_id, contact)
            self._link(ANONYMOUS, previous_id, contact)
        return contact

    def _merge(self, merged: str, survivor: str) -> None:
        """Plan `merged` (a contact without external id) into `survivor`, when the policy and identifiers allow."""
        merges = self.plan.merges
        if not self._auto_merge or merged == survivor or self._external.get(merged) is not None:
            return
        if merged in merges or survivor in merges or merged in merges.values():
            return
        for name in self._keyed.unique:
            held = self._keyed.holders.get(name, {})
            mine = {key for key, holders in held.items() if survivor in holders}
            theirs = {key for key, holders in held.items() if merged in holders}
            if mine and theirs and mine != theirs:
                return
        merges[merged] = survivor

    def has_timezone(self, contact_id: str) -> bool:
        """As stored before this request (new contacts have none)."""
        return contact_id in self._timezones

    def _is_free_for(self, contact: str, user_id: str) -> bool:
        """Whether an anonymous contact may be this user: it is nobody yet, or already them."""
        return self._external.get(contact) in (None, user_id)

    def _user(self, user_id: str | None) -> tuple[str | None, bool]:
        """(contact, whether an identity row already says so)."""
        if not user_id:
            return None, False
        by_identity = self._users.get(user_id)
        if by_identity is not None:
            return by_identity, True
        return self._by_external.get(user_id), False

    def _create(self) -> str:
        contact = new_id("ct")
        self._external[contact] = None
        self.plan.new_contacts[contact] = None
        return contact

    def _take_external_id(self, contact: str, user_id: str) -> None:
        if self._external.get(contact) is not None or user_id in self._by_external:
            return
        self._external[contact] = user_id
        self._by_external[user_id] = contact
        if contact in self.plan.new_contacts:
            self.plan.new_contacts[contact] = user_id
        else:
            self.plan.gained_external_ids[contact] = user_id

    def _link(self, kind: str, value: str, contact: str) -> None:
        names = self._users if kind == USER else self._anonymous
        if value in names:
            return
        names[value] = contact
        self.plan.new_identities.append(NewIdentity(kind, value, contact))
