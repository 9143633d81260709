"""The feasibility model's features: one pure function for serving and training (no skew), no numpy.

The model predicts P(skipping verification is safe) for a trigger from the verification information of the
session (passed in this session and recently, success rate, how well the supplied identity data matches what is
stored) and the trigger's context (trusted device, amount, payee, location, network).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from shared.verification.models import History, Operation, Profile, TriggerContext

FEATURE_NAMES: tuple[str, ...] = (
    "op_login",
    "op_payment",
    "op_account_update",
    "op_binding_first_use",
    "passed_in_session",
    "attempts_in_session",
    "session_success_rate",
    "passed_recent",
    "success_rate_recent",
    "minutes_since_strong_log",
    "identity_match",
    "device_known",
    "device_trusted",
    "device_age_days_log",
    "amount_log",
    "payee_known",
    "geo_known",
    "geo_distance_km_log",
    "network_usual",
    "ip_prefix_known",
    "ip_risky",
    "account_age_days_log",
    "days_inactive_log",
    "recent_failures",
    "watch_listed",
)
N_FEATURES = len(FEATURE_NAMES)
MAX_MINUTES = 30 * 24 * 60  # "never" is a month
MAX_DAYS = 3650.0


@dataclass(frozen=True)
class SessionStats:
    """The verification information of the session and the recent past."""

    passed_in_session: int
    attempts_in_session: int
    passed_recent: int
    attempts_recent: int
    minutes_since_strong: float | None
    identity_match: float  # 0..1: supplied device/phone agree with what is stored
    recent_failures: int

    @property
    def session_success_rate(self) -> float:
        return self.passed_in_session / self.attempts_in_session if self.attempts_in_session else 0.0

    @property
    def success_rate_recent(self) -> float:
        return self.passed_recent / self.attempts_recent if self.attempts_recent else 0.0


def session_stats(history: History, ctx: TriggerContext, profile: Profile | None, now: datetime,
                  recent_days: float, failure_window_hours: float) -> SessionStats:
    passed_s, attempted_s = history.passed_in_session(ctx.session_id)
    recent = [e for e in history.events if (now - e.at).total_seconds() <= recent_days * 86400]
    failures = [t for t in history.failures if (now - t).total_seconds() <= failure_window_hours * 3600]
    minutes = (now - history.last_strong_at).total_seconds() / 60 if history.last_strong_at else None
    return SessionStats(passed_in_session=passed_s, attempts_in_session=attempted_s,
                        passed_recent=sum(e.passed for e in recent), attempts_recent=len(recent),
                        minutes_since_strong=minutes, identity_match=identity_match(ctx, profile),
                        recent_failures=len(failures))


def identity_match(ctx: TriggerContext, profile: Profile | None) -> float:
    """Share of the supplied identity data that agrees with what is stored: the device in the context and in
    ``X-Device-Id``, a device the profile knows, the phone supplied (or the token's claim) and the account's."""
    checks: list[bool] = []
    if ctx.header_device_id is not None:
        checks.append(ctx.header_device_id == ctx.device_id)
    if profile is not None:
        checks.append(ctx.device_id in profile.devices)
        supplied = ctx.supplied_phone or ctx.caller_phone
        if supplied and profile.phone:
            checks.append(supplied == profile.phone)
    return sum(checks) / len(checks) if checks else 0.0


def _log_days(start: datetime | None, now: datetime) -> float:
    if start is None:
        return 0.0
    return math.log1p(max(0.0, min(MAX_DAYS, (now - start).total_seconds() / 86400)))


def build_features(operation: Operation, ctx: TriggerContext, profile: Profile | None, stats: SessionStats,
                   now: datetime, *, payee_known: bool, geo_distance_km: float | None, network_usual: bool,
                   ip_prefix_known: bool, ip_risky: bool) -> list[float]:
    device = profile.devices.get(ctx.device_id) if profile else None
    minutes = MAX_MINUTES if stats.minutes_since_strong is None else min(MAX_MINUTES, stats.minutes_since_strong)
    amount = ctx.amount.amount / 100 if ctx.amount else 0.0
    inactive_from = profile.last_activity_at if profile else None
    values = {
        "op_login": float(operation is Operation.LOGIN),
        "op_payment": float(operation is Operation.PAYMENT),
        "op_account_update": float(operation is Operation.ACCOUNT_UPDATE),
        "op_binding_first_use": float(operation is Operation.BINDING_FIRST_USE),
        "passed_in_session": float(min(stats.passed_in_session, 10)),
        "attempts_in_session": float(min(stats.attempts_in_session, 10)),
        "session_success_rate": stats.session_success_rate,
        "passed_recent": float(min(stats.passed_recent, 50)),
        "success_rate_recent": stats.success_rate_recent,
        "minutes_since_strong_log": math.log1p(max(0.0, minutes)),
        "identity_match": stats.identity_match,
        "device_known": float(device is not None),
        "device_trusted": float(bool(device and device.trusted)),
        "device_age_days_log": _log_days(device.first_seen if device else None, now),
        "amount_log": math.log1p(max(0.0, amount)),
        "payee_known": float(payee_known),
        "geo_known": float(geo_distance_km is not None),
        "geo_distance_km_log": math.log1p(geo_distance_km) if geo_distance_km is not None else 0.0,
        "network_usual": float(network_usual),
        "ip_prefix_known": float(ip_prefix_known),
        "ip_risky": float(ip_risky),
        "account_age_days_log": _log_days(profile.account_created_at if profile else None, now),
        "days_inactive_log": _log_days(inactive_from, now),
        "recent_failures": float(min(stats.recent_failures, 10)),
        "watch_listed": float(bool(profile and profile.watch_tags)),
    }
    return [values[name] for name in FEATURE_NAMES]
