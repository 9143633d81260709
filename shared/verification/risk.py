"""Risk identification (SPEC §4 step 2), pure: personal/account, network and biometric risk, each scored
separately from named signals whose contributions come from the policy, plus the inactive users' per-method risk.

A score is the sum of the contributions of the signals that fired, capped at 1; its level comes from the policy's
``levels``. Every fired signal is a reason, with its contribution, so a decision explains itself.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from shared.verification.models import (
    FaceEvidence,
    Geo,
    History,
    InactiveAssessment,
    MethodRisk,
    NetworkType,
    Operation,
    Profile,
    RiskScore,
    TriggerContext,
)

if TYPE_CHECKING:  # the policy's models are built when a policy is first read
    from shared.verification.policy import Policy

EARTH_RADIUS_KM = 6371.0
INACTIVE_FEATURES = ("days_inactive_log", "account_age_years", "recent_sensitive_change", "new_device",
                     "recent_failures")


@dataclass(frozen=True)
class IpInfo:
    """What IP reputation says about the source address (risk signals' data, or the configured ranges)."""

    prefix: str | None
    categories: frozenset[str] = frozenset()

    @property
    def risky(self) -> bool:
        return bool(self.categories)


def ip_prefix(ip: str | None) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) network of an address: what "a known network" compares."""
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    bits = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{bits}", strict=False))


def distance_km(a: Geo, b: Geo) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _score(fired: Iterable[tuple[str, float]], policy: Policy) -> RiskScore:
    contributions: dict[str, float] = {}
    for name, weight in fired:
        if weight > 0:
            contributions[name] = round(contributions.get(name, 0.0) + weight, 4)
    score = round(min(1.0, sum(contributions.values())), 4)
    return RiskScore(score=score, level=policy.levels.of(score), reasons=tuple(contributions),
                     contributions=contributions)


@dataclass(frozen=True)
class Context:
    """Everything the risk rules read, resolved once per decision."""

    operation: Operation
    ctx: TriggerContext
    profile: Profile | None
    history: History
    ip: IpInfo
    now: datetime

    @property
    def device_known(self) -> bool:
        return self.profile is not None and self.ctx.device_id in self.profile.devices

    @property
    def device_trusted(self) -> bool:
        """Trusted by the profile, or a strong verification passed on it (this capability decides trust)."""
        device = self.profile.devices.get(self.ctx.device_id) if self.profile else None
        return bool(device and device.trusted) or self.ctx.device_id in self.history.strong_devices

    @property
    def last_geo(self) -> tuple[Geo, datetime] | None:
        candidates = []
        if self.profile and self.profile.last_geo and self.profile.last_geo_at:
            candidates.append((self.profile.last_geo, self.profile.last_geo_at))
        if self.history.last_geo and self.history.last_geo_at:
            candidates.append((self.history.last_geo, self.history.last_geo_at))
        return max(candidates, key=lambda c: c[1]) if candidates else None

    @property
    def geo_distance_km(self) -> float | None:
        last = self.last_geo
        return distance_km(last[0], self.ctx.geo) if last and self.ctx.geo else None

    @property
    def known_prefixes(self) -> frozenset[str]:
        return (self.profile.ip_prefixes if self.profile else frozenset()) | frozenset(self.history.ip_prefixes)

    @property
    def known_networks(self) -> frozenset[str]:
        return (self.profile.network_types if self.profile else frozenset()) | frozenset(self.history.network_types)

    @property
    def ip_prefix_known(self) -> bool:
        return self.ip.prefix is not None and self.ip.prefix in self.known_prefixes

    @property
    def network_usual(self) -> bool:
        return self.ctx.network is not NetworkType.UNKNOWN and self.ctx.network.value in self.known_networks

    @property
    def payee_known(self) -> bool:
        payee = self.ctx.payee_account_id
        if not payee:
            return False
        return payee in self.history.verified_payees or bool(self.profile and payee in self.profile.counterparties)

    def days_inactive(self) -> float | None:
        last = self.profile.last_activity_at if self.profile else None
        return max(0.0, (self.now - last).total_seconds() / 86400) if last else None

    def sensitive_change_within(self, hours: float) -> bool:
        changes = list(self.history.sensitive_changes) + list(self.profile.sensitive_changes if self.profile else ())
        return any(0 <= (self.now - t).total_seconds() <= hours * 3600 for t in changes)

    def failures_within(self, hours: float) -> int:
        return sum(1 for t in self.history.failures if (self.now - t).total_seconds() <= hours * 3600)


def account_risk(c: Context, policy: Policy) -> RiskScore:
    """Operator vs owner: the device and the identity data supplied, the account's state, the transaction."""
    return _score([*_identity_signals(c, policy), *_account_signals(c, policy), *_transaction_signals(c, policy)],
                  policy)


def _identity_signals(c: Context, policy: Policy) -> list[tuple[str, float]]:
    w, ctx, profile = policy.signals.account, c.ctx, c.profile
    fired: list[tuple[str, float]] = []
    if profile is None:
        fired.append(("NO_PROFILE", w.NO_PROFILE))
    if not c.device_known:
        fired.append(("NEW_DEVICE", w.NEW_DEVICE))
    elif not c.device_trusted:
        fired.append(("UNTRUSTED_DEVICE", w.UNTRUSTED_DEVICE))
    if ctx.header_device_id is not None and ctx.header_device_id != ctx.device_id:
        fired.append(("DEVICE_MISMATCH", w.DEVICE_MISMATCH))
    supplied = ctx.supplied_phone
    if supplied and profile and profile.phone and supplied != profile.phone:
        fired.append(("PHONE_MISMATCH", w.PHONE_MISMATCH))
    return fired


def _account_signals(c: Context, policy: Policy) -> list[tuple[str, float]]:
    w, p, profile = policy.signals.account, policy.parameters, c.profile
    fired: list[tuple[str, float]] = []
    if profile and profile.account_created_at \
            and (c.now - profile.account_created_at).total_seconds() < p.new_account_days * 86400:
        fired.append(("NEW_ACCOUNT", w.NEW_ACCOUNT))
    if c.sensitive_change_within(p.sensitive_change_hours):
        fired.append(("RECENT_SENSITIVE_CHANGE", w.RECENT_SENSITIVE_CHANGE))
    if profile and profile.watch_tags:
        fired.append(("WATCH_LIST", w.WATCH_LIST))
    failures = c.failures_within(p.failure_window_hours)
    if failures:
        fired.append(("RECENT_FAILURES", w.RECENT_FAILURES * min(3, failures)))
    days = c.days_inactive()
    if days is not None and days >= policy.inactive.cutoff_days:
        fired.append(("INACTIVE", w.INACTIVE))
    return fired


def _transaction_signals(c: Context, policy: Policy) -> list[tuple[str, float]]:
    w, p, ctx, profile = policy.signals.account, policy.parameters, c.ctx, c.profile
    fired: list[tuple[str, float]] = []
    if ctx.amount and profile and profile.txn_count_90d > 0:
        average = profile.txn_amount_90d / profile.txn_count_90d
        if ctx.amount.amount > p.unusual_amount_factor * max(average, 1):
            fired.append(("UNUSUAL_AMOUNT", w.UNUSUAL_AMOUNT))
    if ctx.payee_account_id and not c.payee_known:
        fired.append(("NEW_PAYEE", w.NEW_PAYEE))
    return fired


def network_risk(c: Context, policy: Policy) -> RiskScore:
    w, p = policy.signals.network, policy.parameters
    fired: list[tuple[str, float]] = []
    if not c.device_known:
        fired.append(("NEW_DEVICE", w.NEW_DEVICE))
    for category in sorted(c.ip.categories):
        fired.append((f"IP_{category}", float(getattr(w, f"IP_{category}", w.IP_BAD_REPUTATION))))
    if c.ip.prefix and c.known_prefixes and not c.ip_prefix_known:
        fired.append(("NEW_IP_PREFIX", w.NEW_IP_PREFIX))
    last = c.last_geo
    if last and c.ctx.geo:
        km = distance_km(last[0], c.ctx.geo)
        hours = max((c.now - last[1]).total_seconds() / 3600, 1e-6)
        if km >= p.min_travel_km and km / hours > p.max_travel_kmh:
            fired.append(("IMPOSSIBLE_TRAVEL", w.IMPOSSIBLE_TRAVEL))
    if c.ctx.network is NetworkType.UNKNOWN:
        fired.append(("UNKNOWN_NETWORK", w.UNKNOWN_NETWORK))
    elif c.known_networks and not c.network_usual:
        fired.append(("NEW_NETWORK_TYPE", w.NEW_NETWORK_TYPE))
    return _score(fired, policy)


def biometric_risk(face: FaceEvidence, policy: Policy) -> RiskScore:
    w = policy.signals.biometric
    fired: list[tuple[str, float]] = []
    if not face.enrolled:
        fired.append(("NO_FACE_ENROLLED", w.NO_FACE_ENROLLED))
    elif not face.matched:
        fired.append(("FACE_MISMATCH", w.FACE_MISMATCH))
    elif face.similarity is not None and face.threshold is not None \
            and face.similarity < face.threshold + policy.parameters.weak_match_margin:
        fired.append(("FACE_WEAK_MATCH", w.FACE_WEAK_MATCH))
    return _score(fired, policy)


def inactive_features(c: Context, policy: Policy) -> dict[str, float]:
    days = c.days_inactive() or 0.0
    created = c.profile.account_created_at if c.profile else None
    age_years = min(10.0, (c.now - created).total_seconds() / (365 * 86400)) if created else 0.0
    return {
        "days_inactive_log": math.log1p(days),
        "account_age_years": age_years,
        "recent_sensitive_change": float(c.sensitive_change_within(30 * 24)),
        "new_device": float(not c.device_known),
        "recent_failures": float(min(3, c.failures_within(policy.parameters.failure_window_hours))),
    }


def inactive_assessment(c: Context, policy: Policy) -> InactiveAssessment:
    """Inactive users (days since the last activity >= the cut-off) get a risk per weak method; each method is
    allowed only while its risk is under its calibrated threshold. Active users are not gated here."""
    days = c.days_inactive()
    cutoff = policy.inactive.cutoff_days
    inactive = days is not None and days >= cutoff
    methods: dict[str, MethodRisk] = {}
    if inactive:
        features = inactive_features(c, policy)
        for method, model in policy.inactive.methods.items():
            score = round(model.risk(features), 4)
            methods[method.value] = MethodRisk(score=score, threshold=model.threshold,
                                               allowed=score < model.threshold)
    return InactiveAssessment(days_inactive=None if days is None else round(days, 2), cutoff_days=cutoff,
                              inactive=inactive, methods=methods)
