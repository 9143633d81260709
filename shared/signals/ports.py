"""The interfaces of risk signals: what other capabilities read (``SignalsReader``) and what the services need.

**For other capabilities** (§3 identity scoring, §4 adaptive verification, §5 real-name trust detection):
depend on ``SignalsReader`` only (built by ``shared.signals.wiring.signals_reader(settings)``; fakes in
``tests/signals/fakes.py``). Every method is a read; windows are ``timedelta``s checked against the items'
own times, so an answer never depends on when DynamoDB's TTL last ran. Writers for the reserved parts
(verification history, bindings, real name, device trust) are on ``SignalsWriter``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from shared.signals.fold import RawProfile
from shared.signals.models import (
    AccountRef,
    ActivityProfile,
    AttemptKind,
    BindingFact,
    Device,
    IpReputation,
    LedgerFact,
    Place,
    RealName,
    SensitiveChange,
    Session,
    SignInAttempt,
    SignInDecision,
    SignInFact,
    TagAudit,
    TagRecord,
    WatchTag,
    WindowCount,
)
from shared.writes import GuardedWrite


class SignalsReader(Protocol):
    """The read contract of the signals store (docs/architecture.md, "Risk signals")."""

    def profile(self, user_id: str) -> ActivityProfile:
        """The user's profile as of now (an empty profile, never ``None``, for a user with no history)."""

    def accounts_on_device(self, device_id: str, window: timedelta) -> list[str]:
        """Users (``sub``) who signed in on this device within ``window`` (most recent first, bounded)."""

    def attempts_in_cell(self, cell: str, window: timedelta, kind: AttemptKind = AttemptKind.SIGN_IN) -> WindowCount:
        """Attempts of ``kind`` (all users) in a coarse area cell (geohash, ``settings.signals_cell_precision``)."""

    def attempts_from_prefix(self, prefix: str, window: timedelta,
                             kind: AttemptKind = AttemptKind.SIGN_IN) -> WindowCount:
        """Attempts of ``kind`` (all users) from an IP prefix (/24 IPv4, /48 IPv6)."""

    def ip_reputation(self, ip: str) -> IpReputation:
        """What the configured CIDR lists (proxy/VPN/hosting, known-bad) say about an address."""

    def place_of(self, lat: float | None, lon: float | None, source_ip: str | None) -> Place:
        """The area cell and IP prefix the indexes and the profile's ``cells``/``ip_prefixes`` use for a request."""

    def contacts(self, user_id: str, limit: int) -> list[str]:
        """Account ids of the user's distinct customer counterparties (the ledger's contacts; at most ``limit``)."""


class SignalsWriter(Protocol):
    """Writes other capabilities make to the reserved parts of the profile and the indexes (§4, §5, §6)."""

    def trust_device(self, user_id: str, device_id: str) -> Device: ...
    def record_sensitive_change(self, user_id: str, change: SensitiveChange) -> None: ...
    def record_verification(self, user_id: str, *, passed: bool, strong: bool) -> None:
        """One answered challenge (§4) into the profile's ``verification`` history (counters added atomically)."""
    def record_binding(self, user_id: str, fact: BindingFact) -> None:
        """Record a bank binding's state (§6), keyed by its id: idempotent, and never backwards (an UNBOUND
        binding stays unbound, a passed first-use verification stays passed)."""

    def record_attempt(self, kind: AttemptKind, user_id: str, device_id: str, place: Place,
                       attempt_id: str | None = None) -> None:
        """Count an attempt in the cross-user indexes: the device's accounts, and the cell and prefix buckets of
        ``kind`` (the same indexes ``accounts_on_device`` / ``attempts_in_cell`` / ``attempts_from_prefix``
        read). With ``attempt_id`` (e.g. a real-name session's id) it is counted once: a retry after a crash
        past the count counts nothing again."""

    def real_name_write(self, user_id: str, real_name: RealName) -> GuardedWrite:
        """The profile's ``real_name`` as a write the caller commits in its own transaction (§5 commits it with
        the put-once identity claim, so the profile never disagrees with the real-name record)."""


class SignInDecider(Protocol):
    """Adaptive verification's LOGIN decision (§4), asked by ``sign_in`` for a new or untrusted device."""

    def decide_sign_in(self, attempt: SignInAttempt) -> SignInDecision: ...


# --- what the services depend on ------------------------------------------------------------------
class AccountDirectory(Protocol):
    """The ledger's accounts, read-only (``adapters.LedgerAccounts`` over ``shared.ledger``'s service)."""

    def by_id(self, account_id: str) -> AccountRef | None: ...
    def of_user(self, user_id: str) -> AccountRef | None: ...


class Memberships(Protocol):
    """How many groups the user belongs to (``adapters.GroupMemberships`` over ``shared.groups``' service)."""

    def group_count(self, user_id: str) -> int: ...


class IpReputationList(Protocol):
    def lookup(self, ip: str) -> IpReputation: ...


class SignalsStore(Protocol):
    """The signals table (``repository.DynamoSignalsStore``; item shapes in its docstring)."""

    # ledger projection (exactly once per entry)
    def contact_known(self, user_id: str, counterparty_account_id: str) -> bool: ...
    def touch_last_active(self, user_id: str, at: datetime) -> None: ...
    def project_entry(self, fact: LedgerFact, *, local: datetime, spend: bool, new_contact: bool,
                      expires_after: timedelta) -> bool:
        """Fold one entry in; False if it was already projected (its marker exists). Raises
        ``ContactAlreadyCounted`` when ``new_contact`` lost a race (retry with ``new_contact=False``)."""

    # profile
    def load(self, user_id: str, since: date) -> RawProfile | None:
        """The stored profile with the day buckets since ``since``; None when nothing is stored."""

    def record_sign_in(self, fact: SignInFact, state_version: int, after: RawProfile, *, bucket: datetime,
                       expires_after: timedelta) -> None:
        """Session put once, the profile's lists replaced under its version, the indexes counted; raises
        ``ProfileChanged`` when another write moved the version (the service re-reads and retries)."""

    def replace_devices(self, user_id: str, state_version: int, devices: Sequence[Device],
                        forgotten: tuple[str, str] | None = None) -> None:
        """``forgotten``: (the forgetting request's tag, the device), recorded with the change (``forgotten_with``)."""

    def forgotten_with(self, user_id: str) -> tuple[str, str] | None:
        """The tag of the request that last forgot one of the user's devices, and that device, if recorded."""

    def get_session(self, user_id: str, session_id: str) -> Session | None: ...

    # watch-list tags and sensitive changes
    def set_tag(self, user_id: str, record: TagRecord, audit: TagAudit) -> None: ...
    def clear_tag(self, user_id: str, tag: WatchTag, audit: TagAudit, request: str | None = None) -> None:
        """Raises ``TagNotSet`` when the tag is not on the user. ``request`` (the clearing request's tag) is recorded
        with the clearing (``cleared_with``)."""

    def cleared_with(self, user_id: str, tag: WatchTag) -> tuple[str, TagAudit] | None:
        """The tag of the request that last cleared the user's tag, and that clearing's audit, if recorded."""

    def tag_history(self, user_id: str, limit: int) -> list[TagAudit]: ...
    def set_sensitive_change(self, user_id: str, change: SensitiveChange, at: datetime) -> None: ...
    def add_verification(self, user_id: str, *, passed: bool, strong: bool, at: datetime) -> None: ...
    def put_binding(self, user_id: str, fact: BindingFact) -> bool:
        """Write the fact unless the stored one is further along (see ``SignalsWriter.record_binding``); False
        when the stored one was kept."""

    def contacts(self, user_id: str, limit: int) -> list[str]: ...
    def real_name_write(self, user_id: str, real_name: RealName) -> GuardedWrite: ...

    # cross-user indexes
    def device_users(self, device_id: str, since: datetime, limit: int) -> list[str]: ...
    def count_buckets(self, key: str, since: datetime) -> int: ...
    def record_attempt(self, user_id: str, device_id: str, keys: Sequence[str], at: datetime, *, bucket: datetime,
                       expires_after: timedelta, once: str | None = None) -> None:
        """The device index entry and one count in each bucket key's ``bucket`` (what a sign-in also writes);
        with ``once``, together with that id's put-once marker, so the same id never counts twice."""
