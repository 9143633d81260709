"""``SignalsService``: sign-ins, the profile reader (``SignalsReader``), people's own data, watch-list tags."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from shared.clock import utcnow
from shared.errors import InvalidInput
from shared.signals import geo
from shared.signals.errors import DeviceNotFound, ProfileChanged, SessionAlreadyExists, TagNotSet
from shared.signals.fold import Limits, RawProfile, fold_sign_in, local_time
from shared.signals.models import (
    ActivityProfile,
    AttemptKind,
    BindingFact,
    ClientInfo,
    Device,
    IpReputation,
    LastLocation,
    Network,
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
from shared.signals.ports import AccountDirectory, IpReputationList, Memberships, SignalsStore, SignInDecider
from shared.signals.settings import SignalsSettings
from shared.writes import ConflictingWrite, GuardedWrite

Clock = Callable[[], datetime]
ATTEMPTS = 5  # optimistic retries of a list rewrite (a user's own sign-ins rarely race)


def index_key(kind: AttemptKind, dimension: str, key: str) -> str:
    """The cross-user bucket index of ``kind`` attempts by ``dimension`` (CELL / PREFIX): sign-ins keep the
    original ``CELL#<cell>`` keys, other kinds have their own (``CELL#<cell>#REAL_NAME``)."""
    return f"{dimension}#{key}" if kind is AttemptKind.SIGN_IN else f"{dimension}#{key}#{kind.value}"


class InvalidWindow(InvalidInput):
    code = "INVALID_WINDOW"
    default_message = "The window must be positive and no longer than the signals' longest window."


class SignalsService:
    """Implements ``SignalsReader`` and ``SignalsWriter`` (``ports.py``) and the sign-in/profile routes."""

    def __init__(self, store: SignalsStore, settings: SignalsSettings, reputation: IpReputationList,
                 accounts: AccountDirectory | None = None, memberships: Memberships | None = None,
                 clock: Clock = utcnow, decider: SignInDecider | None = None) -> None:
        self.store = store
        self.settings = settings
        self.reputation = reputation
        self.accounts = accounts
        self.memberships = memberships
        self.clock = clock
        self.decider = decider
        self.limits = Limits(max_devices=settings.signals_max_devices, max_ip_prefixes=settings.signals_max_ip_prefixes,
                             max_cells=settings.signals_max_cells, window_days=settings.signals_max_window_days)

    # --- SignalsReader ----------------------------------------------------------------------------
    def _raw(self, user_id: str, now: datetime) -> RawProfile:
        today = local_time(now, self.settings.utc_offset).date()
        since = today - timedelta(days=self.settings.signals_max_window_days - 1)
        return self.store.load(user_id, since) or RawProfile()

    def profile(self, user_id: str) -> ActivityProfile:
        now = self.clock()
        raw = self._raw(user_id, now)
        account = self.accounts.of_user(user_id) if self.accounts else None
        groups = self.memberships.group_count(user_id) if self.memberships else 0
        return raw.to_profile(user_id, now, local_time(now, self.settings.utc_offset).date(),
                              account_id=account.account_id if account else None,
                              account_created_at=account.created_at if account else None, group_count=groups,
                              window_days=self.settings.signals_max_window_days,
                              max_bindings=self.settings.signals_max_bindings)

    def _since(self, window: timedelta) -> datetime:
        if window <= timedelta(0) or window > self.settings.max_window:
            raise InvalidWindow(max_days=self.settings.signals_max_window_days)
        return self.clock() - window

    def accounts_on_device(self, device_id: str, window: timedelta) -> list[str]:
        return self.store.device_users(device_id, self._since(window), self.settings.signals_accounts_on_device_limit)

    def _bucket(self, at: datetime) -> datetime:
        size = self.settings.signals_bucket_seconds
        return datetime.fromtimestamp(int(at.timestamp()) // size * size, UTC)

    def _count(self, key: str, window: timedelta) -> int:
        # whole buckets: the first bucket of the window is counted when it starts inside the window
        return self.store.count_buckets(key, self._bucket(self._since(window) + timedelta(
            seconds=self.settings.signals_bucket_seconds - 1)))

    def attempts_in_cell(self, cell: str, window: timedelta, kind: AttemptKind = AttemptKind.SIGN_IN) -> WindowCount:
        if not geo.is_cell(cell):
            raise InvalidInput("Not a geohash cell.", cell=cell[:12])
        return WindowCount(key=cell, window_seconds=int(window.total_seconds()),
                           count=self._count(index_key(kind, "CELL", cell), window))

    def attempts_from_prefix(self, prefix: str, window: timedelta,
                             kind: AttemptKind = AttemptKind.SIGN_IN) -> WindowCount:
        if not geo.is_prefix(prefix):
            raise InvalidInput("Not a /24 (IPv4) or /48 (IPv6) prefix.")
        return WindowCount(key=prefix, window_seconds=int(window.total_seconds()),
                           count=self._count(index_key(kind, "PREFIX", prefix), window))

    def place_of(self, lat: float | None, lon: float | None, source_ip: str | None) -> Place:
        try:
            prefix = geo.ip_prefix(source_ip) if source_ip else None
        except ValueError:
            prefix = None  # the gateway always gives an address; a test event may not
        cell = geo.encode(lat, lon, self.settings.signals_cell_precision) if lat is not None and lon is not None \
            else None
        return Place(cell=cell, ip_prefix=prefix)

    def contacts(self, user_id: str, limit: int) -> list[str]:
        return self.store.contacts(user_id, limit)

    # --- SignalsWriter (indexes and the parts other capabilities own) ----------------------------
    def record_attempt(self, kind: AttemptKind, user_id: str, device_id: str, place: Place,
                       attempt_id: str | None = None) -> None:
        now = self.clock()
        keys = [index_key(kind, dimension, key) for dimension, key in (("CELL", place.cell),
                                                                       ("PREFIX", place.ip_prefix)) if key]
        self.store.record_attempt(user_id, device_id, keys, now, bucket=self._bucket(now),
                                  expires_after=self.settings.max_window + timedelta(days=1),
                                  once=f"{kind.value}#{attempt_id}" if attempt_id else None)

    def real_name_write(self, user_id: str, real_name: RealName) -> GuardedWrite:
        return self.store.real_name_write(user_id, real_name)

    def ip_reputation(self, ip: str) -> IpReputation:
        return self.reputation.lookup(ip)

    # --- sign-ins ---------------------------------------------------------------------------------
    def sign_in(self, user_id: str, device_id: str, network: Network, client: ClientInfo,
                lat: float | None = None, lon: float | None = None, source_ip: str | None = None,
                request_key: str | None = None) -> Session:
        """Record one sign-in. With ``request_key`` (the request's Idempotency-Key) the session id derives from it:
        a retry after a crash past the commit fails the session's put-once and answers the stored session (with
        the same LOGIN decision: its trigger is keyed by the session id) instead of counting a second sign-in."""
        now = self.clock()
        session_id = session_id_for(user_id, request_key) if request_key else f"ses_{uuid.uuid4().hex}"
        place = self.place_of(lat, lon, source_ip)
        prefix, cell = place.ip_prefix, place.cell
        location = None
        if lat is not None and lon is not None:
            fine = geo.encode(lat, lon, self.settings.signals_location_precision)
            c_lat, c_lon = geo.centre(fine)
            location = LastLocation(cell=fine, lat=c_lat, lon=c_lon, at=now)
        fact = SignInFact(user_id=user_id, session_id=session_id, device_id=device_id,
                          network=network, ip_prefix=prefix, cell=cell, location=location, client=client, at=now)
        decision = self._decide(SignInAttempt(user_id=user_id, session_id=fact.session_id, device_id=device_id,
                                              network=network, lat=lat, lon=lon, source_ip=source_ip), now)
        for attempt in range(ATTEMPTS):
            raw = self._raw(user_id, now)
            after = raw.model_copy(deep=True)
            new_device = fold_sign_in(after, fact, self.limits)
            try:
                self.store.record_sign_in(fact, raw.version, after, bucket=self._bucket(now),
                                          expires_after=self.settings.max_window + timedelta(days=1))
            except SessionAlreadyExists:  # our own retry committed meanwhile (its answer was lost)
                replayed = self.store.get_session(user_id, session_id)
                if replayed is None:
                    raise
                return replayed.model_copy(update={"decision": decision})  # the keyed trigger answered the first
            except (ProfileChanged, ConflictingWrite):
                if attempt == ATTEMPTS - 1:
                    raise
                continue
            device = next(d for d in after.devices if d.device_id == device_id)
            return Session(session_id=fact.session_id, user_id=user_id, device_id=device_id,
                           trusted_device=device.trusted, new_device=new_device, created_at=now, decision=decision)
        raise AssertionError("unreachable")

    def _decide(self, attempt: SignInAttempt, now: datetime) -> SignInDecision | None:
        """§4's LOGIN decision for a new or untrusted device, asked before the sign-in is folded in: it sees the
        profile as it was (the device still new, the last location the previous one: impossible travel)."""
        if self.decider is None:
            return None
        device = next((d for d in self._raw(attempt.user_id, now).devices if d.device_id == attempt.device_id), None)
        if device is not None and device.trusted:
            return None
        return self.decider.decide_sign_in(attempt)

    # --- the user's own devices, and trust (§4) ---------------------------------------------------
    def _rewrite_devices(self, user_id: str, device_id: str, change: Callable[[Device], Device | None],
                         request: str | None = None) -> Device:
        for attempt in range(ATTEMPTS):
            raw = self._raw(user_id, self.clock())
            device = next((d for d in raw.devices if d.device_id == device_id), None)
            if device is None:
                raise DeviceNotFound(device_id=device_id[:64])
            changed = change(device)
            if changed is None:
                devices = [d for d in raw.devices if d.device_id != device_id]
            else:
                devices = [changed if d.device_id == device_id else d for d in raw.devices]
            try:
                self.store.replace_devices(user_id, raw.version, devices,
                                           (request, device_id) if request and changed is None else None)
            except (ProfileChanged, ConflictingWrite):
                if attempt == ATTEMPTS - 1:
                    raise
                continue
            return changed or device
        raise AssertionError("unreachable")

    def forget_device(self, user_id: str, device_id: str, request: str | None = None) -> None:
        """The device leaves the user's list: it is no longer trusted, and signs in as a new device next time.
        (The cross-user device index keeps its time-bounded entry: it is a fraud signal, not the user's list.)
        ``request``: the request's tag (``shared.api.idempotency.request_tag``), recorded with the change; the same
        request retried after a crash past its commit answers again (another: ``DeviceNotFound``)."""
        try:
            self._rewrite_devices(user_id, device_id, lambda _d: None, request)
        except DeviceNotFound:
            if request and self.store.forgotten_with(user_id) == (request, device_id):
                return  # this request forgot it; its answer was lost
            raise

    def trust_device(self, user_id: str, device_id: str) -> Device:
        """§4 (adaptive verification) calls this once a strong verification passed on the device."""
        now = self.clock()
        return self._rewrite_devices(user_id, device_id,
                                     lambda d: d.model_copy(update={"trusted": True, "trusted_at": now}))

    def record_sensitive_change(self, user_id: str, change: SensitiveChange) -> None:
        self.store.set_sensitive_change(user_id, change, self.clock())

    def record_verification(self, user_id: str, *, passed: bool, strong: bool) -> None:
        """§4 records each answered challenge: the profile's verification history (read by every capability)."""
        self.store.add_verification(user_id, passed=passed, strong=strong, at=self.clock())
    def record_binding(self, user_id: str, fact: BindingFact) -> None:
        """§6 calls this on every state change of a binding (bound, first use verified, unbound)."""
        self.store.put_binding(user_id, fact)

    def session(self, user_id: str, session_id: str) -> Session | None:
        return self.store.get_session(user_id, session_id)

    # --- watch-list tags (admin) ------------------------------------------------------------------
    def set_tag(self, admin: str, user_id: str, tag: WatchTag, reason: str) -> TagRecord:
        now = self.clock()
        record = TagRecord(tag=tag, set_by=admin, reason=reason, set_at=now)
        self.store.set_tag(user_id, record, TagAudit(user_id=user_id, tag=tag, action="SET", by=admin, reason=reason,
                                                     at=now))
        return record

    def clear_tag(self, admin: str, user_id: str, tag: WatchTag, reason: str, request: str | None = None) -> TagAudit:
        """``request``: the request's tag (``shared.api.idempotency.request_tag``), recorded with the clearing; the
        same request retried after a crash past its commit answers that clearing again (another: ``TagNotSet``)."""
        audit = TagAudit(user_id=user_id, tag=tag, action="CLEARED", by=admin, reason=reason, at=self.clock())
        try:
            self.store.clear_tag(user_id, tag, audit, request)
        except TagNotSet:
            cleared = self.store.cleared_with(user_id, tag) if request else None
            if cleared is not None and cleared[0] == request:
                return cleared[1]  # this request cleared it; its answer was lost
            raise TagNotSet(tag=tag.value) from None
        return audit

    def tag_history(self, user_id: str) -> list[TagAudit]:
        return self.store.tag_history(user_id, self.settings.signals_tag_history_limit)


def session_id_for(user_id: str, request_key: str) -> str:
    """The session id of a sign-in made with ``request_key``: the same request always names the same session."""
    return "ses_" + hashlib.sha256(f"{user_id}\x1f{request_key}".encode()).hexdigest()[:32]
