"""Consecutive failed attempts per user and per device (NIST SP 800-63B 5.2.3, biometrics): after the policy's
limit (5) the next attempts are refused with ``429 TOO_MANY_ATTEMPTS`` and ``Retry-After``, the delay starting
at the base (30 s) and doubling with each further failure; a success clears the user's and device's count."""

from __future__ import annotations

import math
from datetime import datetime

from shared.errors import TooManyAttempts
from shared.realname.policy import Policy
from shared.realname.ports import FailureCounters


def user_key(user_id: str) -> str:
    return f"USER#{user_id}"


def device_key(device_id: str) -> str:
    return f"DEVICE#{device_id}"


class Lockout:
    def __init__(self, counters: FailureCounters) -> None:
        self.counters = counters

    def check(self, user_id: str, device_id: str, now: datetime) -> None:
        """Raise ``TooManyAttempts`` while the user or the device is locked."""
        waits = []
        for key in (user_key(user_id), device_key(device_id)):
            counter = self.counters.get(key)
            if counter.locked_until is not None and counter.locked_until > now:
                waits.append((counter.locked_until - now).total_seconds())
        if waits:
            raise TooManyAttempts(math.ceil(max(waits)))

    def failed(self, user_id: str, device_id: str, now: datetime, policy: Policy, event: str | None = None) -> None:
        """``event``: the failed step of one session (``<session id>:<step>``): a retry of the step after a crash
        past its count counts nothing again."""
        for key in (user_key(user_id), device_key(device_id)):
            self.counters.fail(key, now, policy.lockout.delay_seconds, event)

    def succeeded(self, user_id: str, device_id: str) -> None:
        for key in (user_key(user_id), device_key(device_id)):
            self.counters.succeed(key)
