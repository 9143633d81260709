"""HTTP request/response models of the risk-signal routes, mapped explicitly from entities.

``GET /me/activity-profile`` shows people what is held about them (devices, places as coarse cells,
network prefixes, counts), never the watch-list tags; the admin tag routes show the tag with its audit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from shared.signals.geo import centre
from shared.signals.models import (
    HOURS,
    WEEKDAYS,
    ActivityProfile,
    BindingFact,
    Bindings,
    CellSeen,
    Device,
    LastLocation,
    Network,
    PrefixSeen,
    Session,
    TagAudit,
    TagRecord,
    WatchTag,
)
from shared.types import Reason, UserId, safe_text

DeviceId = Annotated[str, StringConstraints(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9_\-:.]+$")]
AppVersion = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z.\-+_]+$")]
OsName = safe_text(40)


class Geo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False, description="Latitude (WGS 84); kept only as a cell.")
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False, description="Longitude (WGS 84).")


class Client(BaseModel):
    model_config = ConfigDict(extra="forbid")

    os: OsName = Field(description="Operating system and version, e.g. 'Android 14'.")  # type: ignore[valid-type]
    app_version: AppVersion
    emulator: StrictBool = False
    rooted: StrictBool = False


class SignInRequest(BaseModel):
    """What the app sends at every sign-in (on AWS after Cognito authenticated the user)."""

    model_config = ConfigDict(extra="forbid")

    device_id: DeviceId = Field(description="The app's stable installation id (8-128 of A-Z a-z 0-9 _ - : .).")
    network: Network
    geo: Geo | None = None
    client: Client


class DeviceRef(BaseModel):
    device_id: str
    trusted: bool


class SignInDecisionResponse(BaseModel):
    """Adaptive verification's LOGIN decision (§4); reasons and scores in ``GET /verifications/{id}``."""

    verification_id: str
    decision: Literal["VERIFICATION_FREE", "CHALLENGE", "DENY"]
    strength: Literal["STRONG", "WEAK"] | None = None
    methods: list[Literal["SMS_OTP", "PASSWORD", "FACE", "CARD"]] = Field(
        description="Challenge with POST /verifications/{verification_id}/attempts (CHALLENGE only).")
    reasons: list[str]


class SessionResponse(BaseModel):
    """``decision`` only for a new or untrusted device (CONTRACTS.md): adaptive verification's LOGIN decision."""

    session_id: str = Field(description="Send it as X-Session-Id on later calls (with X-Device-Id).")
    device: DeviceRef
    new_device: bool
    decision: SignInDecisionResponse | None = Field(
        default=None, description="Present when the device is new or untrusted: a passed strong verification on "
                                  "it makes it trusted.")

    @classmethod
    def of(cls, s: Session) -> SessionResponse:
        d = s.decision
        decision = None if d is None else SignInDecisionResponse(
            verification_id=d.verification_id, decision=d.decision,  # type: ignore[arg-type]
            strength=d.strength, methods=list(d.methods), reasons=list(d.reasons))  # type: ignore[arg-type]
        return cls(session_id=s.session_id, device=DeviceRef(device_id=s.device_id, trusted=s.trusted_device),
                   new_device=s.new_device, decision=decision)


class DeviceResponse(BaseModel):
    device_id: str
    trusted: bool
    first_seen: datetime
    last_seen: datetime
    sign_ins: int
    os: str | None
    app_version: str | None

    @classmethod
    def of(cls, d: Device) -> DeviceResponse:
        return cls(device_id=d.device_id, trusted=d.trusted, first_seen=d.first_seen, last_seen=d.last_seen,
                   sign_ins=d.sign_ins, os=d.os, app_version=d.app_version)


class PlaceResponse(BaseModel):
    cell: str = Field(description="Geohash cell (about 5 km); the exact point is never stored.")
    lat: float
    lon: float
    first_seen: datetime
    last_seen: datetime
    sign_ins: int

    @classmethod
    def of(cls, c: CellSeen) -> PlaceResponse:
        lat, lon = centre(c.cell)
        return cls(cell=c.cell, lat=lat, lon=lon, first_seen=c.first_seen, last_seen=c.last_seen, sign_ins=c.count)


class LastLocationResponse(BaseModel):
    cell: str
    lat: float
    lon: float
    at: datetime

    @classmethod
    def of(cls, loc: LastLocation) -> LastLocationResponse:
        return cls(cell=loc.cell, lat=loc.lat, lon=loc.lon, at=loc.at)


class NetworkResponse(BaseModel):
    prefix: str = Field(description="The /24 (IPv4) or /48 (IPv6) network; full addresses are never stored.")
    first_seen: datetime
    last_seen: datetime
    sign_ins: int

    @classmethod
    def of(cls, p: PrefixSeen) -> NetworkResponse:
        return cls(prefix=p.prefix, first_seen=p.first_seen, last_seen=p.last_seen, sign_ins=p.count)


class TypeCounts(BaseModel):
    count_out: int
    amount_out: int
    count_in: int
    amount_in: int


class SignInsResponse(BaseModel):
    count: int
    last_at: datetime | None
    by_network: dict[str, int]


class ActivityResponse(BaseModel):
    last_active_at: datetime | None
    days_inactive: int | None
    by_type: dict[str, TypeCounts] = Field(description="Ledger entries per transaction type; amounts in fen.")
    by_hour: list[int] = Field(description=f"Entries per local hour of day (UTC+8), {HOURS} values.")
    by_weekday: list[int] = Field(description=f"Entries per local weekday, Monday first, {WEEKDAYS} values.")
    spend_30d: int
    spend_90d: int
    entries_30d: int
    entries_90d: int
    counterparties: int
    groups: int


class VerificationHistoryResponse(BaseModel):
    """Challenges the caller answered (adaptive verification, §4)."""

    attempts: int
    successes: int
    failures: int
    last_passed_at: datetime | None
    last_strong_at: datetime | None
    last_at: datetime | None
class BindingSeen(BaseModel):
    binding_id: str
    bank_name: str
    card_type: str
    state: str = Field(description="ACTIVE or UNBOUND.")
    bound_at: datetime
    first_use_verified_at: datetime | None
    unbound_at: datetime | None

    @classmethod
    def of(cls, f: BindingFact) -> BindingSeen:
        return cls(binding_id=f.binding_id, bank_name=f.bank_name, card_type=f.card_type, state=f.state.value,
                   bound_at=f.bound_at, first_use_verified_at=f.first_use_verified_at, unbound_at=f.unbound_at)


class BindingsResponse(BaseModel):
    """Cards that banks bound to the account (SPEC §6), as the binding saga and unbinding recorded them."""

    active: int
    ever: int
    unbound: int
    last_bound_at: datetime | None
    first_use_pending: bool = Field(description="An active binding awaits its first-use security authentication.")
    items: list[BindingSeen] = Field(description="Most recently bound first (bounded).")

    @classmethod
    def of(cls, b: Bindings) -> BindingsResponse:
        return cls(active=b.count, ever=b.ever, unbound=b.unbound, last_bound_at=b.last_bound_at,
                   first_use_pending=b.first_use_pending, items=[BindingSeen.of(f) for f in b.items])


class ActivityProfileResponse(BaseModel):
    """What the platform holds about the caller's behaviour (watch-list tags are not shown)."""

    as_of: datetime
    account_created_at: datetime | None
    sign_ins: SignInsResponse
    devices: list[DeviceResponse]
    places: list[PlaceResponse]
    last_location: LastLocationResponse | None
    networks: list[NetworkResponse]
    activity: ActivityResponse
    verification: VerificationHistoryResponse
    bindings: BindingsResponse

    @classmethod
    def of(cls, p: ActivityProfile) -> ActivityProfileResponse:
        return cls(
            as_of=p.as_of, account_created_at=p.account_created_at,
            sign_ins=SignInsResponse(count=p.login_count, last_at=p.last_login_at,
                                     by_network={k.value: v for k, v in p.networks.items()}),
            devices=[DeviceResponse.of(d) for d in p.devices], places=[PlaceResponse.of(c) for c in p.cells],
            last_location=LastLocationResponse.of(p.last_location) if p.last_location else None,
            networks=[NetworkResponse.of(x) for x in p.ip_prefixes],
            activity=ActivityResponse(
                last_active_at=p.last_active_at, days_inactive=p.days_inactive,
                by_type={k: TypeCounts(**v.model_dump()) for k, v in p.by_type.items()},
                by_hour=list(p.by_hour), by_weekday=list(p.by_weekday), spend_30d=p.spend(30), spend_90d=p.spend(90),
                entries_30d=p.entry_count(30), entries_90d=p.entry_count(90), counterparties=p.counterparties,
                groups=p.group_count),
            verification=VerificationHistoryResponse(**p.verification.model_dump()),
            bindings=BindingsResponse.of(p.bindings),
        )


class TagRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="Why (kept in the tag's audit trail).")  # type: ignore[valid-type]


class TagResponse(BaseModel):
    user_id: str
    tag: WatchTag
    set_by: str
    reason: str
    set_at: datetime

    @classmethod
    def of(cls, user_id: str, r: TagRecord) -> TagResponse:
        return cls(user_id=user_id, tag=r.tag, set_by=r.set_by, reason=r.reason, set_at=r.set_at)


class TagClearedResponse(BaseModel):
    user_id: str
    tag: WatchTag
    cleared_by: str
    reason: str
    cleared_at: datetime

    @classmethod
    def of(cls, a: TagAudit) -> TagClearedResponse:
        return cls(user_id=a.user_id, tag=a.tag, cleared_by=a.by, reason=a.reason, cleared_at=a.at)


class DeviceForgottenResponse(BaseModel):
    device_id: str
    forgotten: bool = True


__all__ = ["ActivityProfileResponse", "DeviceForgottenResponse", "DeviceId", "SessionResponse", "SignInRequest",
           "TagClearedResponse", "TagRequest", "TagResponse", "UserId"]
