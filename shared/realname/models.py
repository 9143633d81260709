"""Domain entities of real-name authentication (frozen pydantic models; no HTTP, no DynamoDB shapes)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class SessionStatus(StrEnum):
    AWAITING_CONFIRMATION = "AWAITING_CONFIRMATION"
    AWAITING_IDENTITY = "AWAITING_IDENTITY"
    VERIFIED = "VERIFIED"
    FAILED = "FAILED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


OPEN = frozenset({SessionStatus.AWAITING_CONFIRMATION, SessionStatus.AWAITING_IDENTITY})


class NextStep(StrEnum):
    CONFIRM_IDENTITY = "CONFIRM_IDENTITY"
    ENTER_IDENTITY = "ENTER_IDENTITY"
    REJECTED = "REJECTED"


class IdentityField(StrEnum):
    NAME = "NAME"
    ID_NUMBER = "ID_NUMBER"


class RiskItem(StrEnum):
    """The patent's risk detection items."""

    ABNORMAL_DEVICE = "ABNORMAL_DEVICE"  # emulator/rooted flags, or a device seen with many accounts
    TAGGED_USER = "TAGGED_USER"  # watch-list tag HIGH_RISK / BLACK / GREY / SENSITIVE
    BATCH_FACE = "BATCH_FACE"  # the same face authenticating across accounts within a window
    AREA_CLUSTER = "AREA_CLUSTER"  # attempts per area cell / IP prefix in a window above a threshold


class TrustItem(StrEnum):
    """The patent's trust detection items (trusted only if all hold)."""

    TRUSTED_LOGIN_ACCOUNT = "TRUSTED_LOGIN_ACCOUNT"  # login count and/or related contacts
    TRUSTED_TRANSACTIONS = "TRUSTED_TRANSACTIONS"  # transaction history
    TRUSTED_BINDING = "TRUSTED_BINDING"  # binding information
    TRUSTED_LOCATION = "TRUSTED_LOCATION"  # current location among the user's usual ones


class Finding(_Frozen):
    """One evaluated risk or trust item: whether it holds, which sub-rule made it hold, the value seen and the
    threshold it was compared with (recorded on every session for audit)."""

    item: str
    hit: bool
    detail: str
    value: float | int | str | None = None
    threshold: float | int | str | None = None


class Assessment(_Frozen):
    """Risk, trust and the policy's decision, with the version of the policy document that made it."""

    policy_version: str
    policy_mode: str
    risk: tuple[Finding, ...]
    trust: tuple[Finding, ...]
    risky: bool
    trusted: bool
    passed: bool
    required_fields: tuple[IdentityField, ...]
    signals_source: str

    @property
    def reasons(self) -> tuple[str, ...]:
        hits = [f"RISK_{f.item}_{f.detail}" for f in self.risk if f.hit]
        trust = [f"TRUST_{f.item}" if f.hit else f"UNTRUSTED_{f.item}" for f in self.trust]
        return (*hits, *trust, f"POLICY_{self.policy_mode}_{'PASS' if self.passed else 'FAIL'}")


class DeviceSignals(_Frozen):
    device_id: str
    known: bool = False
    emulator: bool = False
    rooted: bool = False
    trusted: bool = False
    accounts_on_device: int = 0  # distinct users seen on the device within the policy's window


class SignalsSnapshot(_Frozen):
    """What risk and trust detection read from the signals store for one request (``RiskSignals`` port)."""

    source: str  # which adapter answered (recorded with the session)
    tags: tuple[str, ...] = ()
    login_count: int = 0
    contacts: int = 0
    transactions: int = 0
    bindings: int = 0
    known_cells: tuple[str, ...] = ()
    known_prefixes: tuple[str, ...] = ()
    device: DeviceSignals | None = None
    current_cell: str | None = None
    current_prefix: str | None = None
    cell_attempts: int = 0
    prefix_attempts: int = 0


class RequestContext(_Frozen):
    """The client's context of a real-name request (device from the body, source IP from the gateway)."""

    device_id: str
    lat: float | None = None
    lon: float | None = None
    network: str | None = None
    source_ip: str | None = None


class AuthorityIdentity(_Frozen):
    """An identity as the authoritative identity-photo store knows it (personal data: never log; ``repr`` is
    masked)."""

    identity_ref: str  # the authority's opaque reference
    name: str
    id_number: str
    photo: bytes = Field(repr=False)

    def __repr__(self) -> str:
        return f"AuthorityIdentity(ref={self.identity_ref})"

    __str__ = __repr__


class ProposedIdentity(_Frozen):
    identity_ref: str
    masked_name: str
    masked_id_number: str
    similarity: float
    second_similarity: float | None


class AuditEvent(_Frozen):
    at: datetime
    step: str
    detail: dict[str, object] = Field(default_factory=dict)


class RealNameSession(_Frozen):
    session_id: str
    user_id: str
    device_id: str
    status: SessionStatus
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    challenge_id: str
    model_version: str
    assessment: Assessment | None = None
    proposed: ProposedIdentity | None = None
    required_fields: tuple[IdentityField, ...] = ()
    reasons: tuple[str, ...] = ()
    verified_identity: VerifiedIdentity | None = None
    audit: tuple[AuditEvent, ...] = ()
    last_request: str | None = None
    """The tag of the request that made the last transition (``shared.api.idempotency.request_tag``): the same
    request retried after a crash past its commit answers the session as that request left it."""

    def is_expired(self, now: datetime) -> bool:
        return self.status in OPEN and self.expires_at <= now

    def as_of(self, now: datetime) -> RealNameSession:
        """The session as a reader sees it now: an open session past its expiry is EXPIRED."""
        return self.model_copy(update={"status": SessionStatus.EXPIRED}) if self.is_expired(now) else self


class VerifiedIdentity(_Frozen):
    """An account's real-name identity: keyed hashes for look-up and comparison, masked forms for display."""

    user_id: str
    id_hash: str
    name_hash: str
    masked_name: str
    masked_id_number: str
    verified_at: datetime
    session_id: str
    method: str  # CONFIRMED_PROPOSAL | TYPED_IDENTITY
    policy_version: str


class FailureCounter(_Frozen):
    """Consecutive failures of a user or a device, and the lock they caused (NIST SP 800-63B 5.2.3)."""

    key: str
    failures: int = 0
    locked_until: datetime | None = None


RealNameSession.model_rebuild()
