"""The verification policy: one versioned configuration document (rules, thresholds, method table, model
threshold, challenge limits). Loaded with Powertools Parameters (``adapters.policy_source``): AppConfig on AWS,
the file ``policy.json`` next to this module (in the SharedLayer) locally. Changing the document changes the
decisions; no code does.

The document is validated here: a malformed document fails the function's first request with a clear error
(a deployment error, never the client's), and every decision records ``version``.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.verification.models import Level, Method, Operation

Weight = Annotated[float, Field(ge=0, le=1)]


class _Doc(BaseModel):
    # Built on first use: only the functions that decide or challenge ever validate a policy document.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class ModelPolicy(_Doc):
    name: str = "feasibility"
    threshold: float = Field(gt=0, lt=1)


class Levels(_Doc):
    """Score (in [0, 1]) at and above which a risk is MEDIUM / HIGH."""

    medium: float = Field(gt=0, lt=1)
    high: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.high <= self.medium:
            raise ValueError("levels.high must be above levels.medium")
        return self

    def of(self, score: float) -> Level:
        return Level.HIGH if score >= self.high else Level.MEDIUM if score >= self.medium else Level.LOW


class AccountSignals(_Doc):
    """Contribution of each personal/account signal to the account risk score (capped at 1)."""

    NO_PROFILE: Weight = 0.3
    NEW_DEVICE: Weight = 0.25
    UNTRUSTED_DEVICE: Weight = 0.1
    DEVICE_MISMATCH: Weight = 0.35
    PHONE_MISMATCH: Weight = 0.3
    NEW_ACCOUNT: Weight = 0.15
    RECENT_SENSITIVE_CHANGE: Weight = 0.2
    WATCH_LIST: Weight = 0.6
    RECENT_FAILURES: Weight = 0.1  # per failed attempt in the window, at most 3 counted
    INACTIVE: Weight = 0.15
    UNUSUAL_AMOUNT: Weight = 0.2
    NEW_PAYEE: Weight = 0.1


class NetworkSignals(_Doc):
    NEW_DEVICE: Weight = 0.2
    IP_PROXY: Weight = 0.4
    IP_VPN: Weight = 0.3
    IP_HOSTING: Weight = 0.4
    IP_TOR: Weight = 0.6
    IP_BAD_REPUTATION: Weight = 0.5
    # the risk signals' lists (shared/signals/ip_lists.json) name these two categories
    IP_PROXY_VPN: Weight = 0.4
    IP_KNOWN_BAD: Weight = 0.5
    NEW_IP_PREFIX: Weight = 0.1
    IMPOSSIBLE_TRAVEL: Weight = 0.6
    NEW_NETWORK_TYPE: Weight = 0.05
    UNKNOWN_NETWORK: Weight = 0.05


class BiometricSignals(_Doc):
    NO_FACE_ENROLLED: Weight = 0.5
    FACE_MISMATCH: Weight = 1.0
    FACE_WEAK_MATCH: Weight = 0.4  # matched, but within ``weak_match_margin`` of the threshold


class Signals(_Doc):
    account: AccountSignals = AccountSignals()
    network: NetworkSignals = NetworkSignals()
    biometric: BiometricSignals = BiometricSignals()


class Parameters(_Doc):
    new_account_days: float = Field(default=7, ge=0)
    sensitive_change_hours: float = Field(default=72, ge=0)
    failure_window_hours: float = Field(default=24, gt=0)
    max_travel_kmh: float = Field(default=900, gt=0)  # faster than a plane between two sightings: impossible
    min_travel_km: float = Field(default=100, ge=0)  # closer than this is never "travel" (geolocation noise)
    unusual_amount_factor: float = Field(default=5, gt=1)  # x the user's average transaction
    weak_match_margin: float = Field(default=0.05, ge=0, lt=1)
    recent_days: float = Field(default=30, gt=0)  # "recently" for the session statistics


class TrustedDeviceRule(_Doc):
    enabled: bool = True
    strong_within_minutes: float = Field(default=30, gt=0)
    max_amount: int = Field(default=100_000, gt=0)  # for payments


class LowValueRule(_Doc):
    """PSD2-style low-value exemption: below the per-transaction limit while the amount and count exempted since
    the last verification stay within the cumulative limits."""

    enabled: bool = True
    per_transaction_limit: int = Field(default=23_000, gt=0)
    cumulative_limit: int = Field(default=77_000, gt=0)
    count_limit: int = Field(default=5, ge=1)


class TrustedPayeeRule(_Doc):
    enabled: bool = True
    max_amount: int = Field(default=200_000, gt=0)


class UsualContextRule(_Doc):
    enabled: bool = True
    radius_km: float = Field(default=50, gt=0)
    max_amount: int = Field(default=50_000, gt=0)


class Exemptions(_Doc):
    # ACCOUNT_UPDATE changes an authenticator and BINDING_FIRST_USE enrols a binding: never exempt (invariant in
    # code, whatever this list says).
    operations: tuple[Operation, ...] = (Operation.LOGIN, Operation.PAYMENT)
    max_risk_level: Level = Level.LOW  # no exemption when any risk is above this
    trusted_device: TrustedDeviceRule = TrustedDeviceRule()
    low_value: LowValueRule = LowValueRule()
    trusted_payee: TrustedPayeeRule = TrustedPayeeRule()
    usual_context: UsualContextRule = UsualContextRule()


class MethodRiskModel(_Doc):
    """Risk level of one weak method for an inactive user: sigmoid(intercept + sum(coefficient * feature)) over
    ``shared.verification.risk.INACTIVE_FEATURES``; the method is allowed while the risk is under ``threshold``.
    Written by the calibration (``make calibrate``)."""

    intercept: float
    coefficients: dict[str, float]
    threshold: float = Field(ge=0, le=1)
    target_pass_through: float = Field(ge=0, le=1)

    def risk(self, features: dict[str, float]) -> float:
        z = self.intercept + sum(c * features.get(k, 0.0) for k, c in self.coefficients.items())
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


class Inactive(_Doc):
    cutoff_days: float = Field(gt=0)
    methods: dict[Method, MethodRiskModel]
    calibrated_on: str = ""

    @model_validator(mode="after")
    def _weak_only(self) -> Self:
        if any(m.strength.value == "STRONG" for m in self.methods):
            raise ValueError("inactive.methods lists weak methods only")
        return self


class BothHigh(StrEnum):
    DENY = "DENY"
    STRONGEST = "STRONGEST"


class Payment(_Doc):
    inline_threshold: int = Field(default=500_000, gt=0)  # POST /transfers at or above runs the decision


class PasswordLimits(_Doc):
    min_length: int = Field(default=6, ge=6, le=64)
    max_failures: int = Field(default=5, ge=1, le=20)  # then locked
    base_delay_seconds: float = Field(default=1, ge=0)  # after the n-th failure: base * 2^(n-1), capped
    max_delay_seconds: float = Field(default=300, ge=0)
    lock_seconds: int = Field(default=24 * 3600, gt=0)
    scrypt_n: int = Field(default=2**14, ge=2**10)
    scrypt_r: int = Field(default=8, ge=1)
    scrypt_p: int = Field(default=1, ge=1)


class Challenge(_Doc):
    verification_ttl_seconds: int = Field(default=600, gt=0, le=3600)
    otp_ttl_seconds: int = Field(default=300, gt=0, le=300)  # SPEC: a code is valid at most 5 minutes
    max_tries: int = Field(default=5, ge=1, le=5)  # wrong tries per verification, then LOCKED
    failures_per_hour: int = Field(default=10, ge=1)  # across the user's verifications
    lockout_seconds: int = Field(default=900, gt=0)  # after a verification locks
    otp_resend_interval_seconds: int = Field(default=30, ge=0)
    otp_sends_per_hour: int = Field(default=5, ge=1)
    token_ttl_seconds: int = Field(default=300, gt=0, le=300)  # SPEC: <= 5 minutes
    password: PasswordLimits = PasswordLimits()


class Policy(_Doc):
    version: str = Field(min_length=1, max_length=64)
    model: ModelPolicy
    levels: Levels
    signals: Signals = Signals()
    parameters: Parameters = Parameters()
    exemptions: Exemptions = Exemptions()
    methods: dict[Operation, tuple[Method, ...]]
    strong_from_level: Level = Level.HIGH  # a strong method is required at this overall level
    sms_otp_max_level: Level = Level.MEDIUM  # NIST SP 800-63B restricted: SMS OTP alone only up to this level
    both_high: BothHigh = BothHigh.DENY  # account and network HIGH: deny, or the strongest method only
    strongest: tuple[Method, ...] = (Method.FACE, Method.CARD)
    inactive: Inactive
    payment: Payment = Payment()
    challenge: Challenge = Challenge()

    @model_validator(mode="after")
    def _complete(self) -> Self:
        missing = [op for op in Operation if not self.methods.get(op)]
        if missing:
            raise ValueError(f"methods: no method listed for {', '.join(missing)}")
        weak_first_use = [m for m in self.methods[Operation.BINDING_FIRST_USE] if m.strength.value == "WEAK"]
        if weak_first_use:
            raise ValueError("methods.BINDING_FIRST_USE: strong methods only (SPEC §6)")
        if not self.strongest or any(m.strength.value == "WEAK" for m in self.strongest):
            raise ValueError("strongest: strong methods only")
        return self
