"""Risk signals (issue 10): the per-user activity profile and the facts it is folded from.

The ``ActivityProfile`` is the contract that identity scoring (§3), adaptive verification (§4), real-name
trust detection (§5) and bank binding (§6) read through ``SignalsReader`` (``ports.py``). It is built from
what the platform really sees:

* **account**: ``account_created_at`` (from the accounts table), ``real_name`` (reserved: written by §5),
  watch-list ``tags`` (admin, audited: who, why, when), ``sensitive_changes`` (time of the last phone,
  password, card change);
* **ledger activity** (projected from the ledger's DynamoDB stream, exactly once per entry):
  ``last_active_at`` (``days_inactive`` is derived on read), counts and amounts per transaction type and
  direction, counts per local hour of day and per weekday, 30/90-day spend from day buckets,
  ``counterparties`` (distinct customer accounts, counted exactly), ``group_count``;
* **sign-ins and devices** (``POST /sessions``): ``login_count``, a bounded device list (first/last seen,
  trusted flag), recent IP prefixes (/24, /48: never full addresses), recent coarse location cells with the
  last location and its time, counts per network type;
* **verification history**: answered challenges, written by §4 (adaptive verification), which also marks devices
  trusted and records phone and password changes; **bindings**: written by §6 (``record_binding``).

Every list is bounded by configuration (``SignalsSettings``); windows are checked by time on read, never by
DynamoDB TTL (TTL only garbage-collects).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

HOURS = 24
WEEKDAYS = 7  # Monday = 0

# The ledger's transaction types the profile keeps counters for; any other type counts as OTHER (bounded).
TX_TYPES = ("P2P_TRANSFER", "DEPOSIT", "PROXY_TOP_UP", "PROXY_WITHDRAWAL", "PROXY_HOLD", "PROXY_HOLD_RELEASE",
            "PROXY_REVERSAL", "CAMPAIGN_FUNDING", "CAMPAIGN_PAYOUT_FUNDING", "CAMPAIGN_PRIZE", "OTHER")


class Network(StrEnum):
    WIFI = "WIFI"
    CELLULAR = "CELLULAR"
    UNKNOWN = "UNKNOWN"


class WatchTag(StrEnum):
    HIGH_RISK = "HIGH_RISK"
    BLACK = "BLACK"
    GREY = "GREY"
    SENSITIVE = "SENSITIVE"


class SensitiveChange(StrEnum):
    PHONE = "PHONE"
    PASSWORD = "PASSWORD"  # noqa: S105 - the kind of change, not a secret
    CARD = "CARD"


class AttemptKind(StrEnum):
    """What the cross-user area indexes count: sign-ins (``POST /sessions``) and real-name attempts (§5), apart."""

    SIGN_IN = "SIGN_IN"
    REAL_NAME = "REAL_NAME"


class Direction(StrEnum):
    OUT = "OUT"  # money left the user's account (ledger DEBIT)
    IN = "IN"  # money entered it (ledger CREDIT)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- facts the profile is folded from ------------------------------------------------------------
class LedgerFact(_Frozen):
    """One ledger ENTRY seen from its owner's side (what the projector folds in)."""

    user_id: str
    account_id: str
    entry_key: str  # "<account>#<tx>#<D|C>": unique per entry, the put-once marker's key
    transaction_id: str
    type: str
    direction: Direction
    amount: int  # minor units
    counterparty_account_id: str
    counterparty_is_customer: bool  # system accounts (settlement, pots, holds) are not contacts
    at: datetime


class ClientInfo(_Frozen):
    os: str
    app_version: str
    emulator: bool = False
    rooted: bool = False


class SignInFact(_Frozen):
    """One sign-in (``POST /sessions``), already reduced to what is kept (prefix and cell, not IP and lat/lon)."""

    user_id: str
    session_id: str
    device_id: str
    network: Network
    ip_prefix: str | None  # "203.0.113.0/24" / "2001:db8:1::/48"; None when the gateway gave no IP
    cell: str | None  # coarse geohash (area cell, ~5 km) of the reported location
    location: LastLocation | None
    client: ClientInfo
    at: datetime


# --- the profile ---------------------------------------------------------------------------------
class Device(_Frozen):
    device_id: str
    first_seen: datetime
    last_seen: datetime
    sign_ins: int = 0
    trusted: bool = False  # a new device is untrusted; §4 (adaptive verification) decides when it becomes trusted
    trusted_at: datetime | None = None
    os: str | None = None
    app_version: str | None = None
    emulator: bool = False
    rooted: bool = False


class PrefixSeen(_Frozen):
    prefix: str
    first_seen: datetime
    last_seen: datetime
    count: int = 0


class CellSeen(_Frozen):
    cell: str
    first_seen: datetime
    last_seen: datetime
    count: int = 0


class LastLocation(_Frozen):
    """Where the user last signed in: a fine geohash cell (~1 km) and its centre, not the reported point."""

    cell: str
    lat: float
    lon: float
    at: datetime


class TagRecord(_Frozen):
    tag: WatchTag
    set_by: str
    reason: str
    set_at: datetime


class TagAudit(_Frozen):
    """One audited change of a watch-list tag (kept as its own item: who, when, why, what)."""

    user_id: str
    tag: WatchTag
    action: str  # SET | CLEARED
    by: str
    reason: str
    at: datetime


class TypeActivity(_Frozen):
    count_out: int = 0
    amount_out: int = 0
    count_in: int = 0
    amount_in: int = 0

    @property
    def count(self) -> int:
        return self.count_out + self.count_in


class DayActivity(_Frozen):
    """One local calendar day of ledger activity (the rolling windows are sums of these)."""

    day: date
    count: int = 0  # entries of any type and direction
    spend: int = 0  # minor units spent (outgoing entries of a spend type)
    spend_count: int = 0


class VerificationHistory(_Frozen):
    """Reserved for §4 (adaptive verification): written there, read by everyone."""

    attempts: int = 0  # challenge attempts answered (passed or failed)
    successes: int = 0
    failures: int = 0
    last_passed_at: datetime | None = None  # the exemption counters restart here (PSD2: since the last SCA)
    last_strong_at: datetime | None = None
    last_at: datetime | None = None


class BindingState(StrEnum):
    ACTIVE = "ACTIVE"
    UNBOUND = "UNBOUND"


class BindingFact(_Frozen):
    """One bank-initiated binding as §6 recorded it (written by the binding saga and the unbind route through
    ``SignalsWriter.record_binding``: trusted information, not what a client claims). Ids, bank and card type only:
    no card token, last digits, phone or ID number."""

    binding_id: str
    partner_id: str
    bank_name: str
    card_type: str  # DEBIT | CREDIT
    account_id: str
    state: BindingState
    bound_at: datetime
    first_use_verified_at: datetime | None = None  # the strong BINDING_FIRST_USE verification (§4) passed
    unbound_at: datetime | None = None


class Bindings(_Frozen):
    """§6 (bank-initiated binding): the user's bindings, most recently bound first (at most
    ``signals_max_bindings`` listed; the counts cover all of them)."""

    count: int = 0  # active bindings
    ever: int = 0  # every binding recorded, unbound ones included
    unbound: int = 0
    last_bound_at: datetime | None = None
    last_unbound_at: datetime | None = None
    first_use_pending: bool = False  # an active binding whose first-use verification has not passed yet
    items: tuple[BindingFact, ...] = ()

    @classmethod
    def of(cls, facts: list[BindingFact], limit: int) -> Bindings:
        ordered = sorted(facts, key=lambda f: (f.bound_at, f.binding_id), reverse=True)
        active = [f for f in ordered if f.state is BindingState.ACTIVE]
        unbound = [f.unbound_at for f in ordered if f.state is BindingState.UNBOUND and f.unbound_at]
        return cls(count=len(active), ever=len(ordered), unbound=len(ordered) - len(active),
                   last_bound_at=ordered[0].bound_at if ordered else None,
                   last_unbound_at=max(unbound) if unbound else None,
                   first_use_pending=any(f.first_use_verified_at is None for f in active),
                   items=tuple(ordered[:limit]))


class RealName(_Frozen):
    """Written by §5 (real-name authentication) through ``SignalsWriter.real_name_write``, in the transaction
    that verifies the account: status, when, how, and the identity's birth date (from the ID number)."""

    status: str = "NONE"  # NONE | VERIFIED (§5 owns the values)
    verified_at: datetime | None = None
    birth_date: date | None = None
    method: str | None = None  # CONFIRMED_PROPOSAL | TYPED_IDENTITY | SEEDED


class ActivityProfile(_Frozen):
    """Everything the platform holds about one user's behaviour (see the module docstring)."""

    user_id: str
    as_of: datetime  # when it was read (UTC): days inactive and account age are relative to this
    today: date  # the local calendar day at ``as_of`` (the day buckets and 30/90-day windows use it)
    # account
    account_id: str | None = None
    account_created_at: datetime | None = None
    real_name: RealName = Field(default_factory=RealName)
    tags: dict[WatchTag, TagRecord] = Field(default_factory=dict)
    sensitive_changes: dict[SensitiveChange, datetime] = Field(default_factory=dict)
    # ledger
    last_active_at: datetime | None = None
    by_type: dict[str, TypeActivity] = Field(default_factory=dict)
    by_hour: tuple[int, ...] = (0,) * HOURS  # entries per local hour of day
    by_weekday: tuple[int, ...] = (0,) * WEEKDAYS  # entries per local weekday
    days: tuple[DayActivity, ...] = ()  # the last 90 days with activity, oldest first
    counterparties: int = 0
    group_count: int = 0
    # sign-ins and devices
    login_count: int = 0
    last_login_at: datetime | None = None
    devices: tuple[Device, ...] = ()  # most recently seen first, at most signals_max_devices
    ip_prefixes: tuple[PrefixSeen, ...] = ()  # most recent first, at most signals_max_ip_prefixes
    cells: tuple[CellSeen, ...] = ()  # most recent first, at most signals_max_cells
    last_location: LastLocation | None = None
    networks: dict[Network, int] = Field(default_factory=dict)
    # reserved for §4 / §6
    verification: VerificationHistory = Field(default_factory=VerificationHistory)
    bindings: Bindings = Field(default_factory=Bindings)

    # --- derived on read -------------------------------------------------------------------------
    @property
    def days_inactive(self) -> int | None:
        if self.last_active_at is None:
            return None
        return max(0, (self.as_of - self.last_active_at).days)

    @property
    def account_age_days(self) -> int | None:
        if self.account_created_at is None:
            return None
        return max(0, (self.as_of - self.account_created_at).days)

    def window(self, days: int) -> tuple[DayActivity, ...]:
        first = self.today.toordinal() - days + 1
        return tuple(d for d in self.days if d.day.toordinal() >= first)

    def spend(self, days: int) -> int:
        return sum(d.spend for d in self.window(days))

    def spend_count(self, days: int) -> int:
        return sum(d.spend_count for d in self.window(days))

    def entry_count(self, days: int) -> int:
        return sum(d.count for d in self.window(days))

    def device(self, device_id: str) -> Device | None:
        return next((d for d in self.devices if d.device_id == device_id), None)



class AccountRef(_Frozen):
    """A ledger account as risk signals see it: who owns it, since when, and whether it is a person's."""

    account_id: str
    owner: str
    created_at: datetime
    is_customer: bool


class SignInDecision(_Frozen):
    """Adaptive verification's ``LOGIN`` decision for a sign-in from a new or untrusted device (§4), as the
    sessions route shows it; the full record is ``GET /verifications/{verification_id}``."""

    verification_id: str
    decision: str  # VERIFICATION_FREE | CHALLENGE | DENY
    strength: str | None = None  # STRONG | WEAK
    methods: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


class SignInAttempt(_Frozen):
    """What a sign-in tells the LOGIN decision (before it is recorded: the decision sees the profile as it was)."""

    user_id: str
    session_id: str
    device_id: str
    network: Network
    lat: float | None = None
    lon: float | None = None
    source_ip: str | None = None


class Session(_Frozen):
    session_id: str
    user_id: str
    device_id: str
    trusted_device: bool
    new_device: bool
    created_at: datetime
    decision: SignInDecision | None = None  # only for a new or untrusted device (CONTRACTS.md: ``decision?``)


class IpReputation(_Frozen):
    """What the configured CIDR lists say about an address (``ip_reputation(ip)``)."""

    ip_prefix: str | None
    categories: tuple[str, ...] = ()  # e.g. ("PROXY_VPN",), ("HOSTING",), ("KNOWN_BAD",)
    list_version: str = ""

    @property
    def anonymising(self) -> bool:
        return bool({"PROXY_VPN", "HOSTING", "TOR"} & set(self.categories))

    @property
    def known_bad(self) -> bool:
        return "KNOWN_BAD" in self.categories


class Place(_Frozen):
    """Where a request comes from, as the indexes key it: the area cell (geohash at the index precision) of the
    reported location and the /24 or /48 prefix of the source address (``SignalsReader.place_of``)."""

    cell: str | None = None
    ip_prefix: str | None = None


class WindowCount(_Frozen):
    """A count of attempts in a time window from a cross-user index (``attempts_in_cell``/``_from_prefix``)."""

    key: str  # the cell or the IP prefix
    window_seconds: int
    count: int  # sign-in attempts recorded under the key in the window (all users)


SignInFact.model_rebuild()
