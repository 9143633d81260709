"""Domain entities of adaptive verification (SPEC §4): enums fixed by CONTRACTS.md, the decision and its record.

Nothing here holds a secret in clear: codes, passwords and tokens exist only keyed-hashed (``*_hash``) once they
leave the request that created them; face images and embeddings are never part of an entity.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.types import Money


def new_id(prefix: str) -> str:
    """A record id (``ver_…``, ``pc_…``, ``ep_…``): 128 random bits."""
    return f"{prefix}_{uuid.uuid4().hex}"


def otp_material(scope: str, code: str) -> str:
    """What is hashed for a one-time code: bound to its verification (or phone change), not only the digits."""
    return f"{scope}:{code}"


class Operation(StrEnum):
    LOGIN = "LOGIN"
    PAYMENT = "PAYMENT"
    ACCOUNT_UPDATE = "ACCOUNT_UPDATE"
    BINDING_FIRST_USE = "BINDING_FIRST_USE"


class Decision(StrEnum):
    VERIFICATION_FREE = "VERIFICATION_FREE"
    CHALLENGE = "CHALLENGE"
    DENY = "DENY"


class Strength(StrEnum):
    STRONG = "STRONG"
    WEAK = "WEAK"


class Level(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]

    @classmethod
    def of_rank(cls, rank: int) -> Level:
        return [cls.LOW, cls.MEDIUM, cls.HIGH][max(0, min(2, rank))]


_LEVEL_RANK = {Level.LOW: 0, Level.MEDIUM: 1, Level.HIGH: 2}


class Method(StrEnum):
    SMS_OTP = "SMS_OTP"
    PASSWORD = "PASSWORD"  # noqa: S105 - the method name
    FACE = "FACE"
    CARD = "CARD"

    @property
    def strength(self) -> Strength:
        return Strength.STRONG if self in STRONG_METHODS else Strength.WEAK


STRONG_METHODS = frozenset({Method.FACE, Method.CARD})
WEAK_METHODS = frozenset({Method.SMS_OTP, Method.PASSWORD})


class AttemptResult(StrEnum):
    PASSED = "PASSED"
    FAILED = "FAILED"
    LOCKED = "LOCKED"


class NetworkType(StrEnum):
    """The same values as the risk-signals sign-in (``shared.signals.models.Network``)."""

    WIFI = "WIFI"
    CELLULAR = "CELLULAR"
    UNKNOWN = "UNKNOWN"


class Label(StrEnum):
    FRAUD = "FRAUD"
    LEGITIMATE = "LEGITIMATE"


class Status(StrEnum):
    OPEN = "OPEN"  # a challenge is waiting for an attempt
    PASSED = "PASSED"
    LOCKED = "LOCKED"  # too many wrong tries: void
    FREE = "FREE"  # verification-free: nothing to do
    DENIED = "DENIED"


# --- the trigger ---------------------------------------------------------------------------------------------
class Geo(BaseModel):
    model_config = ConfigDict(frozen=True)

    lat: float
    lon: float


class TriggerContext(BaseModel):
    """What the client and the gateway tell about the operation (no image: a face capture is analysed before)."""

    model_config = ConfigDict(frozen=True)

    device_id: str
    network: NetworkType = NetworkType.UNKNOWN
    geo: Geo | None = None
    amount: Money | None = None
    payee_account_id: str | None = None
    session_id: str | None = None
    header_device_id: str | None = None  # X-Device-Id (the app's device), compared with the context's
    source_ip: str | None = None
    supplied_phone: str | None = None  # what the client supplied as the user's phone, compared with the account
    caller_phone: str | None = None  # the token's verified phone_number claim


class FaceEvidence(BaseModel):
    """The result of comparing a face capture with the user's enrolled face (no image, no embedding)."""

    model_config = ConfigDict(frozen=True)

    enrolled: bool
    similarity: float | None = None
    threshold: float | None = None
    matched: bool | None = None
    model_version: str | None = None
    liveness_passed: bool | None = None  # the FACE method only: the frames followed the challenge


# --- what the decision reads -------------------------------------------------------------------------------
class DeviceInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    device_id: str
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    trusted: bool = False


class Profile(BaseModel):
    """The activity profile as the decision reads it (risk signals, issue 10), plus this capability's history.

    ``None`` fields are unknown, never guessed."""

    model_config = ConfigDict(frozen=True)

    owner: str
    account_created_at: datetime | None = None
    last_activity_at: datetime | None = None
    devices: dict[str, DeviceInfo] = Field(default_factory=dict)
    ip_prefixes: frozenset[str] = frozenset()
    network_types: frozenset[str] = frozenset()
    last_geo: Geo | None = None
    last_geo_at: datetime | None = None
    txn_count_90d: int = 0
    txn_amount_90d: int = 0  # minor units
    counterparties: frozenset[str] = frozenset()
    watch_tags: frozenset[str] = frozenset()
    sensitive_changes: tuple[datetime, ...] = ()
    bindings: int = 0
    phone: str | None = None  # the account's phone (E.164)
    # spent by P2P transfers since the last verification (from the profile; None when it does not say)
    spent_since_verification: int | None = None
    count_since_verification: int | None = None


class HistoryEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    passed: bool
    session_id: str | None = None
    device_id: str | None = None
    strong: bool = False


class History(BaseModel):
    """This capability's own per-user state: outcomes, trusted devices and payees, exemption counters, limits."""

    model_config = ConfigDict(frozen=True)

    owner: str
    version: int = 0
    events: tuple[HistoryEvent, ...] = ()  # newest last, bounded
    last_passed_at: datetime | None = None
    last_strong_at: datetime | None = None
    strong_devices: dict[str, datetime] = Field(default_factory=dict)  # device -> last strong verification on it
    verified_payees: dict[str, datetime] = Field(default_factory=dict)
    exempt_epoch: str = "0"  # changes when a verification passes: the counters restart
    exempt_amount: int = 0
    exempt_count: int = 0
    failures: tuple[datetime, ...] = ()  # failed attempts in the rate-limit window
    otp_sends: tuple[datetime, ...] = ()
    locked_until: datetime | None = None
    last_geo: Geo | None = None
    last_geo_at: datetime | None = None
    ip_prefixes: tuple[str, ...] = ()
    network_types: tuple[str, ...] = ()
    sensitive_changes: tuple[datetime, ...] = ()

    def passed_in_session(self, session_id: str | None) -> tuple[int, int]:
        """(passed, attempted) verifications made with ``session_id``."""
        if not session_id:
            return 0, 0
        mine = [e for e in self.events if e.session_id == session_id]
        return sum(e.passed for e in mine), len(mine)


# --- the decision --------------------------------------------------------------------------------------------
class RiskScore(BaseModel):
    """One identification's score in [0, 1], its level and the contribution of each signal that fired."""

    model_config = ConfigDict(frozen=True)

    score: float
    level: Level
    reasons: tuple[str, ...] = ()
    contributions: dict[str, float] = Field(default_factory=dict)


class Risk(BaseModel):
    model_config = ConfigDict(frozen=True)

    account: RiskScore
    network: RiskScore
    biometric: RiskScore | None = None

    @property
    def highest(self) -> Level:
        levels = [self.account.level, self.network.level] + ([self.biometric.level] if self.biometric else [])
        return max(levels, key=lambda lv: lv.rank)


class Feasibility(BaseModel):
    """The feasibility model's answer: P(skipping verification is safe)."""

    model_config = ConfigDict(frozen=True)

    score: float
    threshold: float
    model_version: str
    features: tuple[float, ...] = ()

    @property
    def holds(self) -> bool:
        return self.score >= self.threshold


class Exemption(BaseModel):
    """Why verification was skipped: the rule that held and the model score that agreed."""

    model_config = ConfigDict(frozen=True)

    rule: str
    model_score: float
    model_threshold: float
    model_version: str
    detail: dict[str, str | int | float] = Field(default_factory=dict)


class MethodRisk(BaseModel):
    model_config = ConfigDict(frozen=True)

    score: float
    threshold: float
    allowed: bool


class InactiveAssessment(BaseModel):
    """The inactive-user rule: days since the last activity against the cut-off; per weak method its risk and
    threshold (from the calibration)."""

    model_config = ConfigDict(frozen=True)

    days_inactive: float | None
    cutoff_days: float
    inactive: bool
    methods: dict[str, MethodRisk] = Field(default_factory=dict)


class Outcome(BaseModel):
    """What the engine decided, with everything needed to explain it later."""

    model_config = ConfigDict(frozen=True)

    decision: Decision
    strength: Strength | None = None
    methods: tuple[Method, ...] = ()
    risk: Risk
    exemption: Exemption | None = None
    feasibility: Feasibility | None = None
    inactive: InactiveAssessment | None = None
    reasons: tuple[str, ...] = ()  # why this decision (rule names), besides the risk reasons
    policy_version: str
    counts_exemption: bool = False  # a PAYMENT exemption that adds to the low-value counters


class Verification(BaseModel):
    """The decision record and, for a challenge, its state. Queryable by owner for audit."""

    model_config = ConfigDict(frozen=True)

    verification_id: str
    owner: str
    operation: Operation
    session_id: str | None = None
    device_id: str
    ip_prefix: str | None = None
    network: NetworkType = NetworkType.UNKNOWN
    geo: Geo | None = None
    amount: Money | None = None
    payee_account_id: str | None = None
    purpose: str | None = None  # e.g. PHONE_CONFIRMATION (an OTP to a new number)
    outcome: Outcome
    status: Status
    tries: int = 0
    max_tries: int = 5
    otp_hash: str | None = None
    otp_expires_at: datetime | None = None
    otp_sends: int = 0
    otp_last_sent_at: datetime | None = None
    otp_request: str | None = None  # the request (``request_tag``) that sent the current code
    passed_method: Method | None = None
    passed_at: datetime | None = None
    attempt_request: str | None = None  # the request that made the last processed attempt
    token_expires_at: datetime | None = None  # the token the pass issued (the token itself only hashed, elsewhere)
    label: Label | None = None
    label_note: str | None = None
    labelled_by: str | None = None
    labelled_at: datetime | None = None
    created_at: datetime
    expires_at: datetime
    version: int = 0

    @property
    def tries_left(self) -> int:
        return max(0, self.max_tries - self.tries)


class TokenGrant(BaseModel):
    """What a verification token allows: one protected call by ``owner`` for ``operation`` (and, for payments,
    exactly this amount to this payee) before ``expires_at``."""

    model_config = ConfigDict(frozen=True)

    owner: str
    operation: Operation
    verification_id: str
    amount: Money | None = None
    payee_account_id: str | None = None
    expires_at: datetime


class IssuedToken(BaseModel):
    """The token in clear: returned once to the client, never stored (only its keyed hash is)."""

    model_config = ConfigDict(frozen=True)

    token: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"IssuedToken(expires_at={self.expires_at.isoformat()})"

    __str__ = __repr__


class PasswordRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    owner: str
    salt: str  # hex
    hash: str  # hex, scrypt
    n: int
    r: int
    p: int
    failures: int = 0
    next_try_at: datetime | None = None
    locked_until: datetime | None = None
    changed_at: datetime
    request: str | None = None  # the request (``request_tag``) that set this password
    replaced: bool = False  # it replaced an earlier password (that request's answer: ``changed``)
    version: int = 0

    def __repr__(self) -> str:
        return f"PasswordRecord(owner={self.owner!r}, failures={self.failures})"

    __str__ = __repr__


class PhoneChange(BaseModel):
    """A pending change of the account's phone: the new number is confirmed by an OTP sent to it."""

    model_config = ConfigDict(frozen=True)

    owner: str
    change_id: str
    new_phone: str
    otp_hash: str
    expires_at: datetime
    tries: int = 0
    max_tries: int = 5
    created_at: datetime
    request: str | None = None  # the request (``request_tag``) that started this change
    confirm_request: str | None = None  # the request that made the last processed confirmation

    def __repr__(self) -> str:
        return f"PhoneChange(change_id={self.change_id!r}, tries={self.tries})"

    __str__ = __repr__


class PhoneConfirmationRecord(BaseModel):
    """What the last processed confirmation of the user's latest phone change left (done or not): a confirmation
    retried after a crash past its commit answers from it."""

    model_config = ConfigDict(frozen=True)

    change_id: str
    tries: int = 0
    max_tries: int = 5
    done: bool = False
    confirm_request: str | None = None
