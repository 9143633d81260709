"""In-memory fakes of the verification ports, with the same write semantics as the DynamoDB store."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.errors import AlreadyExists
from shared.ledger.errors import PhoneInUse, SecurityAuthenticationRequired
from shared.ledger.models import Account
from shared.types import Money
from shared.verification.errors import ExemptionExhausted, StaleState, VerificationInvalid
from shared.verification.models import (
    DeviceInfo,
    FaceEvidence,
    History,
    Operation,
    PasswordRecord,
    PhoneChange,
    PhoneConfirmationRecord,
    Profile,
    TokenGrant,
    Verification,
)
from shared.verification.policy import Policy
from shared.verification.risk import IpInfo, ip_prefix
from shared.verification.services import VerificationDeps
from shared.writes import GuardedWrite
from tests.fakes.ledger import FakeWrite, check_all, commit_all
from training.policy_doc import content_version

REPO = Path(__file__).resolve().parents[2]
POLICY_FILE = REPO / "shared" / "verification" / "policy.json"


def policy(**changes: Any) -> Policy:
    """The committed policy with top-level ``changes`` (a dict replaces a section's keys one level down); a
    changed document gets its content version, as ``make calibrate`` / ``make train`` stamp it."""
    base = Policy.model_validate_json(POLICY_FILE.read_text()).model_dump(mode="json")
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    base = Policy.model_validate(base).model_dump(mode="json")
    if changes:
        base["version"] = content_version(base)
    return Policy.model_validate(base)


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class InMemoryVerificationStore:
    def __init__(self) -> None:
        self.verifications: dict[str, Verification] = {}
        self.histories: dict[str, History] = {}
        self.counters: dict[str, tuple[str, int, int]] = {}  # owner -> (epoch, amount, count)
        self.tokens: dict[str, tuple[TokenGrant, datetime | None]] = {}
        self.passwords: dict[str, PasswordRecord] = {}
        self.phone_changes: dict[str, tuple[PhoneChange, bool]] = {}
        self.lock = threading.RLock()
        self.commits = 0

    # --- reads ------------------------------------------------------------------------------------------
    def get(self, verification_id: str) -> Verification | None:
        return self.verifications.get(verification_id)

    def list_by_owner(self, owner: str, limit: int, cursor: str | None) -> tuple[list[Verification], str | None]:
        rows = sorted((v for v in self.verifications.values() if v.owner == owner),
                      key=lambda v: v.created_at, reverse=True)
        start = int(cursor) if cursor else 0
        page = rows[start:start + limit]
        return page, str(start + limit) if start + limit < len(rows) else None

    def history(self, owner: str) -> History:
        h = self.histories.get(owner, History(owner=owner))
        epoch, amount, count = self.counters.get(owner, (h.exempt_epoch, 0, 0))
        return h.model_copy(update={"exempt_epoch": epoch, "exempt_amount": amount, "exempt_count": count})

    def password(self, owner: str) -> PasswordRecord | None:
        return self.passwords.get(owner)

    def phone_change(self, owner: str) -> PhoneChange | None:
        change = self.phone_changes.get(owner)
        return change[0] if change and not change[1] else None

    def phone_confirmation(self, owner: str) -> PhoneConfirmationRecord | None:
        change = self.phone_changes.get(owner)
        if change is None:
            return None
        c, done = change
        return PhoneConfirmationRecord(change_id=c.change_id, tries=c.tries, max_tries=c.max_tries, done=done,
                                       confirm_request=c.confirm_request)

    def token(self, token_hash: str) -> TokenGrant | None:
        entry = self.tokens.get(token_hash)
        return entry[0] if entry else None

    # --- writes -----------------------------------------------------------------------------------------
    def commit(self, writes: Sequence[GuardedWrite]) -> None:
        with self.lock:
            check_all(writes)
            commit_all(writes)
            self.commits += 1

    def _write(self, check: Any, commit: Any, error: Any) -> GuardedWrite:
        return GuardedWrite(FakeWrite(check=check, commit=commit), lambda _old: error())

    def w_put_verification(self, v: Verification) -> GuardedWrite:
        return self._write(lambda: v.verification_id not in self.verifications,
                           lambda: self.verifications.__setitem__(v.verification_id, v), AlreadyExists)

    def w_replace_verification(self, v: Verification, expected_version: int, open_at: datetime | None = None,
                               otp_valid_at: datetime | None = None) -> GuardedWrite:
        def check() -> bool:
            cur = self.verifications.get(v.verification_id)
            if cur is None or cur.version != expected_version:
                return False
            if open_at is not None and (cur.status.value != "OPEN" or cur.expires_at <= open_at):
                return False
            return not (otp_valid_at is not None and (cur.otp_expires_at is None or cur.otp_expires_at <= otp_valid_at))

        return self._write(check, lambda: self.verifications.__setitem__(v.verification_id, v), StaleState)

    def w_put_history(self, h: History, expected_version: int, reset_counters: bool = False) -> GuardedWrite:
        def commit() -> None:
            self.histories[h.owner] = h
            if reset_counters:
                self.counters[h.owner] = (h.exempt_epoch, h.exempt_amount, h.exempt_count)

        return self._write(lambda: self.histories.get(h.owner, History(owner=h.owner)).version == expected_version,
                           commit, StaleState)

    def w_count_exemption(self, owner: str, epoch: str, amount: int, cumulative_limit: int | None = None,
                          count_limit: int | None = None) -> GuardedWrite:
        def check() -> bool:
            if cumulative_limit is None or count_limit is None:
                return True
            cur_epoch, spent, count = self.counters.get(owner, (History(owner=owner).exempt_epoch, 0, 0))
            return cur_epoch == epoch and count < count_limit and spent + amount <= cumulative_limit

        def commit() -> None:
            cur_epoch, spent, count = self.counters.get(owner, (epoch, 0, 0))
            self.counters[owner] = (cur_epoch, spent + amount, count + 1)

        return self._write(check, commit, ExemptionExhausted)

    def w_put_token(self, token_hash: str, grant: TokenGrant) -> GuardedWrite:
        return self._write(lambda: token_hash not in self.tokens,
                           lambda: self.tokens.__setitem__(token_hash, (grant, None)), AlreadyExists)

    def w_consume_token(self, token_hash: str, owner: str, operation: Operation, now: datetime,
                        amount: Money | None = None, payee_account_id: str | None = None) -> GuardedWrite:
        def check() -> bool:
            entry = self.tokens.get(token_hash)
            if entry is None or entry[1] is not None:
                return False
            g = entry[0]
            if g.owner != owner or g.operation is not operation or g.expires_at <= now:
                return False
            return operation is not Operation.PAYMENT or (g.amount == amount and g.payee_account_id == payee_account_id)

        def commit() -> None:
            self.tokens[token_hash] = (self.tokens[token_hash][0], now)

        return self._write(check, commit, lambda: VerificationInvalid(operation=operation.value))

    def w_put_password(self, record: PasswordRecord, expected_version: int | None) -> GuardedWrite:
        def check() -> bool:
            cur = self.passwords.get(record.owner)
            return cur is None if expected_version is None else (cur is not None and cur.version == expected_version)

        return self._write(check, lambda: self.passwords.__setitem__(record.owner, record), StaleState)

    def w_put_phone_change(self, change: PhoneChange) -> GuardedWrite:
        return self._write(lambda: True, lambda: self.phone_changes.__setitem__(change.owner, (change, False)),
                           StaleState)

    def w_update_phone_change(self, change: PhoneChange, expected_tries: int, valid_at: datetime | None = None,
                              done: bool = False) -> GuardedWrite:
        def check() -> bool:
            cur = self.phone_changes.get(change.owner)
            return (cur is not None and not cur[1] and cur[0].change_id == change.change_id
                    and cur[0].tries == expected_tries and (valid_at is None or cur[0].expires_at > valid_at))

        return self._write(check, lambda: self.phone_changes.__setitem__(change.owner, (change, done)), StaleState)


class FakeAccounts:
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}

    def add(self, owner: str, phone: str | None = "+8613800000001", created: datetime | None = None) -> Account:
        account = Account(account_id=f"acc_{owner}", owner=owner, currency="CNY", phone=phone,
                          created_at=created or datetime(2024, 1, 1, tzinfo=UTC))
        self.accounts[owner] = account
        return account

    def account(self, owner: str) -> Account | None:
        return self.accounts.get(owner)

    def owner_of(self, account_id: str) -> str | None:
        return next((a.owner for a in self.accounts.values() if a.account_id == account_id), None)

    def require_authenticated(self, account: Account) -> None:
        if account.security_auth_required:
            raise SecurityAuthenticationRequired(account_id=account.account_id)

    def change_phone(self, owner: str, new_phone: str, writes: Sequence[GuardedWrite] = ()) -> Account:
        if any(a.phone == new_phone for a in self.accounts.values()):
            raise PhoneInUse()
        check_all(writes)
        commit_all(writes)
        self.accounts[owner] = self.accounts[owner].model_copy(update={"phone": new_phone})
        return self.accounts[owner]


@dataclass
class FakeProfiles:
    profiles: dict[str, Profile] = field(default_factory=dict)

    def profile(self, owner: str) -> Profile | None:
        return self.profiles.get(owner)


@dataclass
class FakeProfileWriter:
    trusted: list[tuple[str, str]] = field(default_factory=list)
    outcomes: list[tuple[str, bool, bool]] = field(default_factory=list)
    changes: list[tuple[str, str]] = field(default_factory=list)
    fail: bool = False

    def trust(self, owner: str, device_id: str, at: datetime) -> bool:
        self.trusted.append((owner, device_id))
        return True

    def record(self, owner: str, *, passed: bool, strong: bool) -> None:
        if self.fail:
            raise RuntimeError("signals table unavailable")
        self.outcomes.append((owner, passed, strong))

    def sensitive_change(self, owner: str, kind: str) -> None:
        if self.fail:
            raise RuntimeError("signals table unavailable")
        self.changes.append((owner, kind))


@dataclass
class FakeIpReputation:
    categories: dict[str, frozenset[str]] = field(default_factory=dict)

    def lookup(self, ip: str | None) -> IpInfo:
        return IpInfo(prefix=ip_prefix(ip), categories=self.categories.get(ip or "", frozenset()))


@dataclass
class FakeNotifier:
    sent: list[tuple[str, str]] = field(default_factory=list)
    failing: bool = False

    def send_sms(self, phone: str, text: str) -> None:
        if self.failing:
            raise RuntimeError("SMS not sent")
        self.sent.append((phone, text))

    def last_code(self, phone: str) -> str:
        text = next(t for p, t in reversed(self.sent) if p == phone)
        return next(word for word in text.replace(".", " ").split() if word.isdigit() and len(word) == 6)


@dataclass
class FakeModel:
    score: float = 0.999
    version: str = "feasibility-test"
    calls: list[Sequence[float]] = field(default_factory=list)

    def predict(self, features: Sequence[float]) -> tuple[float, str]:
        self.calls.append(list(features))
        return self.score, self.version


@dataclass
class FakePolicies:
    policy: Policy

    def current(self) -> Policy:
        return self.policy


class FakeHasher:
    def keyed_hash(self, purpose: str, value: str) -> str:
        return hmac.new(b"test-key", f"{purpose}\x1f{value}".encode(), hashlib.sha256).hexdigest()


@dataclass
class FakeFace:
    """Enrolled users, and what their captures match: ``matches[owner]`` is the similarity a capture gets."""

    enrolled_users: set[str] = field(default_factory=set)
    similarity: dict[str, float] = field(default_factory=dict)
    liveness_ok: bool = True
    threshold: float = 0.45
    used_challenges: set[str] = field(default_factory=set)

    def enrolled(self, owner: str) -> bool:
        return owner in self.enrolled_users

    def compare(self, owner: str, image: bytes) -> FaceEvidence:
        if owner not in self.enrolled_users:
            return FaceEvidence(enrolled=False)
        s = self.similarity.get(owner, 0.9)
        return FaceEvidence(enrolled=True, similarity=s, threshold=self.threshold, matched=s >= self.threshold,
                            model_version="sface-test")

    def verify_live(self, owner: str, image: bytes, challenge_id: str, frames: Sequence[bytes]) -> FaceEvidence:
        fresh = challenge_id not in self.used_challenges
        self.used_challenges.add(challenge_id)
        evidence = self.compare(owner, image)
        live = self.liveness_ok and fresh
        return evidence.model_copy(update={"matched": bool(evidence.matched and live)})


@dataclass
class FakeCards:
    """``bindings[owner] = (last4, id_number)``: the binding fixture of CONTRACTS.md."""

    bindings: dict[str, tuple[str, str]] = field(default_factory=dict)

    def holds_binding(self, owner: str) -> bool:
        return owner in self.bindings

    def matches(self, owner: str, last4: str, id_number: str) -> bool:
        held = self.bindings.get(owner)
        return held is not None and hmac.compare_digest(held[0], last4) and hmac.compare_digest(held[1], id_number)


@dataclass
class FakeGate:
    required: set[str] = field(default_factory=set)
    cleared: list[tuple[str, str, str]] = field(default_factory=list)

    def is_required(self, owner: str) -> bool:
        return owner in self.required

    def clear(self, owner: str, verification_id: str, method: str) -> bool:
        if owner not in self.required:
            return False
        self.required.discard(owner)
        self.cleared.append((owner, verification_id, method))
        return True


@dataclass
class World:
    """Every fake, wired as ``shared.verification.wiring`` wires the real adapters."""

    policy: Policy = field(default_factory=policy)
    clock: Clock = field(default_factory=Clock)
    store: InMemoryVerificationStore = field(default_factory=InMemoryVerificationStore)
    accounts: FakeAccounts = field(default_factory=FakeAccounts)
    profiles: FakeProfiles = field(default_factory=FakeProfiles)
    devices: FakeProfileWriter = field(default_factory=FakeProfileWriter)
    ip: FakeIpReputation = field(default_factory=FakeIpReputation)
    notifier: FakeNotifier = field(default_factory=FakeNotifier)
    model: FakeModel = field(default_factory=FakeModel)
    face: FakeFace = field(default_factory=FakeFace)
    cards: FakeCards = field(default_factory=FakeCards)
    gate: FakeGate = field(default_factory=FakeGate)

    def __post_init__(self) -> None:
        self.policies = FakePolicies(self.policy)

    def deps(self) -> VerificationDeps:
        return VerificationDeps(store=self.store, policies=self.policies, profiles=self.profiles,
                                profile_writer=self.devices, ip_reputation=self.ip, notifier=self.notifier,
                                model=self.model, hasher=FakeHasher(), face=self.face, cards=self.cards,
                                first_use=self.gate, accounts=self.accounts, clock=self.clock)

    def set_policy(self, p: Policy) -> None:
        self.policies.policy = p

    def user(self, owner: str, phone: str | None = "+8613800000001") -> Account:
        """An account and an activity profile: device ``dev-1`` known (not trusted), ``10.0.0.0/24`` and WIFI
        usual, active yesterday."""
        account = self.accounts.add(owner, phone=phone)
        self.profiles.profiles[owner] = Profile(
            owner=owner, account_created_at=account.created_at, last_activity_at=self.clock.now - timedelta(days=1),
            devices={"dev-1": DeviceInfo(device_id="dev-1", first_seen=account.created_at)},
            ip_prefixes=frozenset({"10.0.0.0/24"}), network_types=frozenset({"WIFI"}), phone=phone)
        return account
