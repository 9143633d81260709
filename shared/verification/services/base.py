"""What every verification service shares: its dependencies, the clock, the policy and ownership checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from shared.clock import utcnow
from shared.errors import TooManyAttempts
from shared.observability import logger, metrics
from shared.verification.errors import VerificationNotFound
from shared.verification.models import History, Verification
from shared.verification.ports import (
    Accounts,
    CardBindings,
    FaceMethod,
    FeasibilityModel,
    FirstUseGate,
    IpReputation,
    KeyedHasher,
    Notifier,
    PolicySource,
    ProfileSource,
    ProfileWriter,
    VerificationStore,
)

if TYPE_CHECKING:  # the policy's models are built when a policy is first read
    from shared.verification.policy import Policy

MAX_EVENTS = 50  # history events kept per user (session statistics and success rates read them)
MAX_PREFIXES = 20
STALE_RETRIES = 5


@dataclass(frozen=True)
class VerificationDeps:
    store: VerificationStore
    policies: PolicySource
    profiles: ProfileSource
    profile_writer: ProfileWriter
    ip_reputation: IpReputation
    notifier: Notifier
    model: FeasibilityModel
    hasher: KeyedHasher
    face: FaceMethod
    cards: CardBindings
    first_use: FirstUseGate
    accounts: Accounts
    clock: Callable[[], datetime] = utcnow


class VerificationBase:
    def __init__(self, deps: VerificationDeps) -> None:
        self.deps = deps
        self.store = deps.store

    def now(self) -> datetime:
        return self.deps.clock()

    def policy(self) -> Policy:
        return self.deps.policies.current()

    def owned(self, owner: str, verification_id: str) -> Verification:
        """The caller's verification; another user's is indistinguishable from a missing one (404)."""
        v = self.store.get(verification_id)
        if v is None or v.owner != owner:
            raise VerificationNotFound(verification_id=verification_id)
        return v

    def check_lockout(self, history: History, now: datetime, policy: Policy) -> None:
        """429 while the user is locked out (a verification locked) or over the failures-per-hour limit."""
        if history.locked_until and history.locked_until > now:
            raise TooManyAttempts(retry_after_seconds=_seconds(history.locked_until - now), scope="user_lockout")
        window = [t for t in history.failures if now - t < timedelta(hours=1)]
        limit = policy.challenge.failures_per_hour
        if len(window) >= limit:
            oldest = sorted(window)[len(window) - limit]
            raise TooManyAttempts(retry_after_seconds=_seconds(oldest + timedelta(hours=1) - now),
                                  scope="user_failures", limit=limit)


    def into_profile(self, owner: str, *, passed: bool, strong: bool, device_id: str | None = None) -> None:
        """The outcome (and, after a strong pass, the device's trust) into the activity profile, after this
        capability's own transaction committed. The profile is a read model for every capability: a failed write
        there is logged and counted, never turned into a failed attempt (the history here already holds it, and
        the history's ``strong_devices`` keeps the device trusted for this capability's decisions)."""
        def write() -> None:
            self.deps.profile_writer.record(owner, passed=passed, strong=strong)
            if device_id:
                self.deps.profile_writer.trust(owner, device_id, self.now())

        self._to_profile(write)

    def change_into_profile(self, owner: str, kind: str) -> None:
        """A sensitive change (``PHONE``, ``PASSWORD``) into the activity profile, once it committed here."""
        self._to_profile(lambda: self.deps.profile_writer.sensitive_change(owner, kind))

    @staticmethod
    def _to_profile(write: Callable[[], None]) -> None:
        try:
            write()
        except Exception as exc:  # noqa: BLE001 - any storage error of another capability's table
            logger.warning("activity profile not updated", extra={"error": type(exc).__name__})
            metrics.add_metric(name="VerificationProfileWriteFailed", unit="Count", value=1)


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))


def bounded(items: tuple[datetime, ...], now: datetime, keep: timedelta) -> tuple[datetime, ...]:
    return tuple(t for t in items if now - t < keep)
