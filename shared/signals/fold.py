"""How facts fold into a profile: the pure rules, shared by the store, the fakes and the training generator.

``RawProfile`` is what the signals table holds for one user before windows are applied (the repository
parses its items into one; the in-memory fake and ``training/`` fold facts into one with the functions
below). ``RawProfile.to_profile`` applies the read-time windows. The DynamoDB store makes the same changes
with update expressions (``ADD`` counters, lists replaced under a version); ``tests/signals`` checks the two
agree on the same facts, and the identity features are built from ``ActivityProfile`` only, so training and
serving see one schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from shared.signals.models import (
    HOURS,
    TX_TYPES,
    WEEKDAYS,
    ActivityProfile,
    BindingFact,
    Bindings,
    CellSeen,
    DayActivity,
    Device,
    Direction,
    LastLocation,
    LedgerFact,
    Network,
    PrefixSeen,
    RealName,
    SensitiveChange,
    SignInFact,
    TagRecord,
    TypeActivity,
    VerificationHistory,
    WatchTag,
)

OTHER_TYPE = "OTHER"


class Limits(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_devices: int = 10
    max_ip_prefixes: int = 10
    max_cells: int = 20
    window_days: int = 90


class RawProfile(BaseModel):
    """The stored state of one user's profile (mutable: the fold changes it in place)."""

    version: int = 0
    last_active_at: datetime | None = None
    by_type: dict[str, TypeActivity] = Field(default_factory=dict)
    hours: list[int] = Field(default_factory=lambda: [0] * HOURS)
    weekdays: list[int] = Field(default_factory=lambda: [0] * WEEKDAYS)
    days: dict[date, DayActivity] = Field(default_factory=dict)
    counterparties: int = 0
    login_count: int = 0
    last_login_at: datetime | None = None
    devices: list[Device] = Field(default_factory=list)
    ip_prefixes: list[PrefixSeen] = Field(default_factory=list)
    cells: list[CellSeen] = Field(default_factory=list)
    last_location: LastLocation | None = None
    networks: dict[Network, int] = Field(default_factory=dict)
    tags: dict[WatchTag, TagRecord] = Field(default_factory=dict)
    sensitive_changes: dict[SensitiveChange, datetime] = Field(default_factory=dict)
    real_name: RealName = Field(default_factory=RealName)
    verification: VerificationHistory = Field(default_factory=VerificationHistory)
    binding_facts: list[BindingFact] = Field(default_factory=list)

    def to_profile(self, user_id: str, as_of: datetime, today: date, *, account_id: str | None = None,
                   account_created_at: datetime | None = None, group_count: int = 0,
                   window_days: int = 90, max_bindings: int = 20) -> ActivityProfile:
        first = today.toordinal() - window_days + 1
        days = tuple(d for _, d in sorted(self.days.items()) if d.day.toordinal() >= first)
        return ActivityProfile(
            user_id=user_id, as_of=as_of, today=today, account_id=account_id, account_created_at=account_created_at,
            real_name=self.real_name, tags=dict(self.tags), sensitive_changes=dict(self.sensitive_changes),
            last_active_at=self.last_active_at, by_type=dict(self.by_type), by_hour=tuple(self.hours),
            by_weekday=tuple(self.weekdays), days=days, counterparties=self.counterparties,
            group_count=group_count, login_count=self.login_count, last_login_at=self.last_login_at,
            devices=tuple(self.devices), ip_prefixes=tuple(self.ip_prefixes), cells=tuple(self.cells),
            last_location=self.last_location, networks=dict(self.networks),
            verification=self.verification, bindings=Bindings.of(self.binding_facts, max_bindings),
        )


def type_key(tx_type: str) -> str:
    """The type a counter is kept under: one of the platform's own (``TX_TYPES``), else OTHER."""
    return tx_type if tx_type in TX_TYPES else OTHER_TYPE


def local_time(at: datetime, utc_offset: timedelta) -> datetime:
    """The wall-clock time of the wallet's market (hour-of-day, weekday and day buckets use it)."""
    return at + utc_offset


# --- ledger entries -------------------------------------------------------------------------------
def fold_entry(raw: RawProfile, fact: LedgerFact, *, local: datetime, spend: bool, new_contact: bool) -> None:
    """One ledger entry (the caller guarantees once per entry: the store's put-once marker)."""
    key = type_key(fact.type)
    t = raw.by_type.get(key) or TypeActivity()
    out = fact.direction is Direction.OUT
    # model_construct: the values are ints already (the fold runs per entry, in training millions of times)
    raw.by_type[key] = TypeActivity.model_construct(
        count_out=t.count_out + out, amount_out=t.amount_out + (fact.amount if out else 0),
        count_in=t.count_in + (not out), amount_in=t.amount_in + (0 if out else fact.amount))
    raw.hours[local.hour] += 1
    raw.weekdays[local.weekday()] += 1
    today = local.date()
    day = raw.days.get(today) or DayActivity(day=today)
    raw.days[today] = DayActivity.model_construct(
        day=today, count=day.count + 1, spend=day.spend + (fact.amount if spend else 0),
        spend_count=day.spend_count + (1 if spend else 0))
    if new_contact:
        raw.counterparties += 1
    if raw.last_active_at is None or fact.at > raw.last_active_at:
        raw.last_active_at = fact.at


# --- sign-ins -------------------------------------------------------------------------------------
def devices_after(devices: Sequence[Device], fact: SignInFact, limit: int) -> tuple[list[Device], bool]:
    """The device list after a sign-in (most recent first, at most ``limit``) and whether the device is new."""
    known = next((d for d in devices if d.device_id == fact.device_id), None)
    c = fact.client
    if known is None:
        device = Device(device_id=fact.device_id, first_seen=fact.at, last_seen=fact.at, sign_ins=1,
                        trusted=False, os=c.os, app_version=c.app_version, emulator=c.emulator, rooted=c.rooted)
    else:
        device = known.model_copy(update={"last_seen": max(known.last_seen, fact.at), "sign_ins": known.sign_ins + 1,
                                          "os": c.os, "app_version": c.app_version,
                                          "emulator": known.emulator or c.emulator, "rooted": known.rooted or c.rooted})
    rest = [d for d in devices if d.device_id != fact.device_id]
    ordered = sorted([device, *rest], key=lambda d: d.last_seen, reverse=True)
    return ordered[:limit], known is None


def prefixes_after(prefixes: Sequence[PrefixSeen], prefix: str | None, at: datetime, limit: int) -> list[PrefixSeen]:
    if prefix is None:
        return list(prefixes)
    known = next((p for p in prefixes if p.prefix == prefix), None)
    entry = PrefixSeen(prefix=prefix, first_seen=at, last_seen=at, count=1) if known is None else \
        known.model_copy(update={"last_seen": max(known.last_seen, at), "count": known.count + 1})
    ordered = sorted([entry, *(p for p in prefixes if p.prefix != prefix)], key=lambda p: p.last_seen, reverse=True)
    return ordered[:limit]


def cells_after(cells: Sequence[CellSeen], cell: str | None, at: datetime, limit: int) -> list[CellSeen]:
    if cell is None:
        return list(cells)
    known = next((c for c in cells if c.cell == cell), None)
    entry = CellSeen(cell=cell, first_seen=at, last_seen=at, count=1) if known is None else \
        known.model_copy(update={"last_seen": max(known.last_seen, at), "count": known.count + 1})
    ordered = sorted([entry, *(c for c in cells if c.cell != cell)], key=lambda c: c.last_seen, reverse=True)
    return ordered[:limit]


def fold_sign_in(raw: RawProfile, fact: SignInFact, limits: Limits) -> bool:
    """One sign-in (once per session id). Returns whether the device was new to the user."""
    raw.devices, new_device = devices_after(raw.devices, fact, limits.max_devices)
    raw.ip_prefixes = prefixes_after(raw.ip_prefixes, fact.ip_prefix, fact.at, limits.max_ip_prefixes)
    raw.cells = cells_after(raw.cells, fact.cell, fact.at, limits.max_cells)
    if fact.location is not None and (raw.last_location is None or fact.at >= raw.last_location.at):
        raw.last_location = fact.location
    raw.login_count += 1
    raw.last_login_at = fact.at if raw.last_login_at is None else max(raw.last_login_at, fact.at)
    raw.networks[fact.network] = raw.networks.get(fact.network, 0) + 1
    raw.version += 1
    return new_device
