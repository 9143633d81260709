"""In-memory fakes of the signals ports: the store folds facts with ``shared.signals.fold`` (the same rules the
DynamoDB store applies with update expressions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from shared.signals.errors import ContactAlreadyCounted, ProfileChanged, SessionAlreadyExists, TagNotSet
from shared.signals.fold import RawProfile, fold_entry
from shared.signals.models import (
    AccountRef,
    BindingFact,
    BindingState,
    LedgerFact,
    RealName,
    SensitiveChange,
    Session,
    SignInFact,
    TagAudit,
    TagRecord,
    WatchTag,
)
from shared.writes import GuardedWrite


class FakeSignalsStore:
    def __init__(self) -> None:
        self.raw: dict[str, RawProfile] = {}
        self.markers: set[str] = set()
        self.contact_pairs: set[tuple[str, str]] = set()
        self.sessions: dict[tuple[str, str], Session] = {}
        self.audits: list[TagAudit] = []
        self.cleared: dict[tuple[str, WatchTag], tuple[str, TagAudit]] = {}  # the last clearing with a request
        self.forgotten: dict[str, tuple[str, str]] = {}  # the last forgetting of a device with a request
        self.device_index: dict[str, dict[str, datetime]] = {}
        self.buckets: dict[str, dict[datetime, int]] = {}
        self.counted_attempts: set[str] = set()
        self.fail_next_contact = False

    def _get(self, user_id: str) -> RawProfile:
        return self.raw.setdefault(user_id, RawProfile())

    def contact_known(self, user_id: str, counterparty_account_id: str) -> bool:
        return (user_id, counterparty_account_id) in self.contact_pairs

    def touch_last_active(self, user_id: str, at: datetime) -> None:
        raw = self._get(user_id)
        if raw.last_active_at is None or raw.last_active_at < at:
            raw.last_active_at = at

    def project_entry(self, fact: LedgerFact, *, local: datetime, spend: bool, new_contact: bool,
                      expires_after: timedelta) -> bool:
        if f"{fact.user_id}#{fact.entry_key}" in self.markers:
            return False
        pair = (fact.user_id, fact.counterparty_account_id)
        if new_contact and (pair in self.contact_pairs or self.fail_next_contact):
            self.fail_next_contact = False
            self.contact_pairs.add((fact.user_id, fact.counterparty_account_id))
            raise ContactAlreadyCounted()
        self.markers.add(f"{fact.user_id}#{fact.entry_key}")
        if new_contact:
            self.contact_pairs.add((fact.user_id, fact.counterparty_account_id))
        fold_entry(self._get(fact.user_id), fact, local=local, spend=spend, new_contact=new_contact)
        return True

    def load(self, user_id: str, since: date) -> RawProfile | None:
        raw = self.raw.get(user_id)
        if raw is None:
            return None
        copy = raw.model_copy(deep=True)
        copy.days = {d: a for d, a in copy.days.items() if d >= since}
        return copy

    def record_sign_in(self, fact: SignInFact, state_version: int, after: RawProfile, *, bucket: datetime,
                       expires_after: timedelta) -> None:
        raw = self._get(fact.user_id)
        if (fact.user_id, fact.session_id) in self.sessions:
            raise SessionAlreadyExists()
        if raw.version != state_version:
            raise ProfileChanged()
        raw.devices, raw.ip_prefixes, raw.cells = after.devices, after.ip_prefixes, after.cells
        raw.last_location, raw.last_login_at = after.last_location, after.last_login_at
        raw.login_count += 1
        raw.networks[fact.network] = raw.networks.get(fact.network, 0) + 1
        raw.version = state_version + 1
        device = next(d for d in after.devices if d.device_id == fact.device_id)
        self.sessions[(fact.user_id, fact.session_id)] = Session(
            session_id=fact.session_id, user_id=fact.user_id, device_id=fact.device_id, trusted_device=device.trusted,
            new_device=device.sign_ins == 1 and device.first_seen == fact.at, created_at=fact.at)
        self.device_index.setdefault(fact.device_id, {})[fact.user_id] = fact.at
        for key in (f"CELL#{fact.cell}" if fact.cell else None, f"PREFIX#{fact.ip_prefix}" if fact.ip_prefix else None):
            if key:
                counts = self.buckets.setdefault(key, {})
                counts[bucket] = counts.get(bucket, 0) + 1

    def replace_devices(self, user_id: str, state_version: int, devices: list,  # type: ignore[type-arg]
                        forgotten: tuple[str, str] | None = None) -> None:
        raw = self._get(user_id)
        if raw.version != state_version:
            raise ProfileChanged()
        raw.devices = list(devices)
        raw.version += 1
        if forgotten:
            self.forgotten[user_id] = forgotten

    def forgotten_with(self, user_id: str) -> tuple[str, str] | None:
        return self.forgotten.get(user_id)

    def get_session(self, user_id: str, session_id: str) -> Session | None:
        return self.sessions.get((user_id, session_id))

    def set_tag(self, user_id: str, record: TagRecord, audit: TagAudit) -> None:
        self._get(user_id).tags[record.tag] = record
        self.audits.append(audit)

    def clear_tag(self, user_id: str, tag: WatchTag, audit: TagAudit, request: str | None = None) -> None:
        if tag not in self._get(user_id).tags:
            raise TagNotSet()
        del self._get(user_id).tags[tag]
        self.audits.append(audit)
        if request:
            self.cleared[(user_id, tag)] = (request, audit)

    def cleared_with(self, user_id: str, tag: WatchTag) -> tuple[str, TagAudit] | None:
        return self.cleared.get((user_id, tag))

    def tag_history(self, user_id: str, limit: int) -> list[TagAudit]:
        return [a for a in reversed(self.audits) if a.user_id == user_id][:limit]

    def set_sensitive_change(self, user_id: str, change: SensitiveChange, at: datetime) -> None:
        self._get(user_id).sensitive_changes[change] = at

    def add_verification(self, user_id: str, *, passed: bool, strong: bool, at: datetime) -> None:
        raw = self._get(user_id)
        h = raw.verification
        raw.verification = h.model_copy(update={
            "attempts": h.attempts + 1, "successes": h.successes + passed, "failures": h.failures + (not passed),
            "last_at": at, "last_passed_at": at if passed else h.last_passed_at,
            "last_strong_at": at if passed and strong else h.last_strong_at})
    def put_binding(self, user_id: str, fact: BindingFact) -> bool:
        facts = self._get(user_id).binding_facts
        stored = next((f for f in facts if f.binding_id == fact.binding_id), None)
        if stored is not None and fact.state is BindingState.ACTIVE and (
                stored.state is BindingState.UNBOUND
                or (stored.first_use_verified_at is not None and fact.first_use_verified_at is None)):
            return False
        facts[:] = [f for f in facts if f.binding_id != fact.binding_id] + [fact]
        return True

    def device_users(self, device_id: str, since: datetime, limit: int) -> list[str]:
        seen = self.device_index.get(device_id, {})
        return [u for u, at in sorted(seen.items(), key=lambda x: x[1], reverse=True) if at >= since][:limit]

    def count_buckets(self, key: str, since: datetime) -> int:
        return sum(n for b, n in self.buckets.get(key, {}).items() if b >= since)

    def record_attempt(self, user_id: str, device_id: str, keys: Sequence[str], at: datetime, *, bucket: datetime,
                       expires_after: timedelta, once: str | None = None) -> None:
        if once is not None:
            if once in self.counted_attempts:
                return
            self.counted_attempts.add(once)
        self.device_index.setdefault(device_id, {})[user_id] = at
        for key in keys:
            counts = self.buckets.setdefault(key, {})
            counts[bucket] = counts.get(bucket, 0) + 1

    def contacts(self, user_id: str, limit: int) -> list[str]:
        return sorted(account for user, account in self.contact_pairs if user == user_id)[:limit]

    def real_name_write(self, user_id: str, real_name: RealName) -> GuardedWrite:
        """A fake write: ``operation`` is the commit (``tests.realname.fakes`` commits it with its own)."""

        def commit() -> None:
            self._get(user_id).real_name = real_name

        return GuardedWrite.failing_with(commit, ProfileChanged)


class FakeAccounts:
    def __init__(self, accounts: list[AccountRef] | None = None) -> None:
        self.accounts = {a.account_id: a for a in accounts or []}

    def by_id(self, account_id: str) -> AccountRef | None:
        return self.accounts.get(account_id)

    def of_user(self, user_id: str) -> AccountRef | None:
        return next((a for a in self.accounts.values() if a.owner == user_id and a.is_customer), None)


class FakeMemberships:
    def __init__(self, counts: dict[str, int] | None = None) -> None:
        self.counts = counts or {}

    def group_count(self, user_id: str) -> int:
        return self.counts.get(user_id, 0)
