"""The decision (SPEC §4 steps 1-3), pure: verification-free check, risk identification, method selection.

    decide(operation, context, policy, feasibility, enrolled, face) -> Outcome

1. Verification-free: the operation may be exempted (LOGIN, PAYMENT by default; never ACCOUNT_UPDATE, which
   changes an authenticator, nor BINDING_FIRST_USE, which enrols a binding), no risk is above the policy's
   exemption level, the user is not inactive, the feasibility model's score clears its threshold AND one
   exemption rule holds (first in order: trusted device with a recent strong verification, trusted payee,
   low value with counters, usual context). The rule and the score are recorded.
2. Risk: account, network and (with a face capture) biometric scores, separately, with their reasons.
3. Methods: account and network both HIGH -> DENY or the strongest method, by policy. A strong method is
   required for BINDING_FIRST_USE, at the policy's ``strong_from_level``, when the face did not match, and when
   no weak method is left. Weak methods: SMS OTP only up to ``sms_otp_max_level`` (NIST SP 800-63B restricted
   authenticator); for inactive users each weak method only while its risk is under its threshold. Only
   enrolled methods are offered; none left -> DENY.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from shared.verification.models import (
    STRONG_METHODS,
    Decision,
    Exemption,
    FaceEvidence,
    Feasibility,
    InactiveAssessment,
    Level,
    Method,
    Operation,
    Outcome,
    Risk,
    Strength,
)
from shared.verification.risk import Context, account_risk, biometric_risk, inactive_assessment, network_risk

if TYPE_CHECKING:  # the policy's models are built when a policy is first read
    from shared.verification.policy import Policy

NEVER_EXEMPT = frozenset({Operation.ACCOUNT_UPDATE, Operation.BINDING_FIRST_USE})


def assess_risk(c: Context, policy: Policy, face: FaceEvidence | None) -> Risk:
    return Risk(account=account_risk(c, policy), network=network_risk(c, policy),
                biometric=biometric_risk(face, policy) if face is not None else None)


def exemption_for(operation: Operation, c: Context, policy: Policy, feasibility: Feasibility | None, risk: Risk,
                  inactive: InactiveAssessment) -> tuple[Exemption | None, str]:
    """The exemption that holds, or None and the reason none does."""
    rules = policy.exemptions
    if operation in NEVER_EXEMPT or operation not in rules.operations:
        return None, "OPERATION_NOT_EXEMPTIBLE"
    if risk.highest.rank > rules.max_risk_level.rank:
        return None, "RISK_ABOVE_EXEMPTION_LEVEL"
    if inactive.inactive:
        return None, "INACTIVE_USER"
    if feasibility is None:
        return None, "MODEL_UNAVAILABLE"
    if not feasibility.holds:
        return None, "MODEL_BELOW_THRESHOLD"
    for rule, detail in _rules(operation, c, policy):
        if detail is not None:
            return Exemption(rule=rule, model_score=round(feasibility.score, 4),
                             model_threshold=feasibility.threshold, model_version=feasibility.model_version,
                             detail=detail), ""
    return None, "NO_EXEMPTION_RULE_HOLDS"


def _rules(operation: Operation, c: Context, policy: Policy) -> list[tuple[str, dict[str, str | int | float] | None]]:
    return [
        ("TRUSTED_DEVICE_RECENT_STRONG", _trusted_device(c, policy)),
        ("TRUSTED_PAYEE", _trusted_payee(operation, c, policy)),
        ("LOW_VALUE", _low_value(operation, c, policy)),
        ("USUAL_CONTEXT", _usual_context(c, policy)),
    ]


def _amount_within(c: Context, limit: int) -> bool:
    return c.ctx.amount is None or c.ctx.amount.amount <= limit


def _trusted_device(c: Context, policy: Policy) -> dict[str, str | int | float] | None:
    rule = policy.exemptions.trusted_device
    last = c.history.strong_devices.get(c.ctx.device_id)
    if not rule.enabled or not c.device_trusted or last is None or not _amount_within(c, rule.max_amount):
        return None
    minutes = (c.now - last).total_seconds() / 60
    if not 0 <= minutes <= rule.strong_within_minutes:
        return None
    return {"minutes_since_strong": round(minutes, 1), "within_minutes": rule.strong_within_minutes}


def _trusted_payee(operation: Operation, c: Context, policy: Policy) -> dict[str, str | int | float] | None:
    rule = policy.exemptions.trusted_payee
    payee = c.ctx.payee_account_id
    if not rule.enabled or operation is not Operation.PAYMENT or not payee or c.ctx.amount is None:
        return None
    if payee not in c.history.verified_payees or not c.device_trusted or not _amount_within(c, rule.max_amount):
        return None
    return {"max_amount": rule.max_amount}


def _low_value(operation: Operation, c: Context, policy: Policy) -> dict[str, str | int | float] | None:
    rule = policy.exemptions.low_value
    if not rule.enabled or operation is not Operation.PAYMENT or c.ctx.amount is None:
        return None
    amount = c.ctx.amount.amount
    profile_spent = (c.profile.spent_since_verification or 0) if c.profile else 0
    profile_count = (c.profile.count_since_verification or 0) if c.profile else 0
    spent, count = c.history.exempt_amount + profile_spent, c.history.exempt_count + profile_count
    if amount >= rule.per_transaction_limit or spent + amount > rule.cumulative_limit or count + 1 > rule.count_limit:
        return None
    return {"amount": amount, "cumulative_after": spent + amount, "count_after": count + 1,
            "per_transaction_limit": rule.per_transaction_limit, "cumulative_limit": rule.cumulative_limit,
            "count_limit": rule.count_limit, "profile_amount": profile_spent, "profile_count": profile_count}


def _usual_context(c: Context, policy: Policy) -> dict[str, str | int | float] | None:
    rule = policy.exemptions.usual_context
    distance = c.geo_distance_km
    if not rule.enabled or not c.device_trusted or not c.network_usual or not c.ip_prefix_known \
            or distance is None or distance > rule.radius_km or not _amount_within(c, rule.max_amount):
        return None
    return {"distance_km": round(distance, 1), "radius_km": rule.radius_km}


def decide(operation: Operation, c: Context, policy: Policy, feasibility: Feasibility | None,
           enrolled: Collection[Method], face: FaceEvidence | None = None) -> Outcome:
    risk = assess_risk(c, policy, face)
    inactive = inactive_assessment(c, policy)
    base = {"risk": risk, "feasibility": feasibility, "inactive": inactive, "policy_version": policy.version}

    exemption, why_not = exemption_for(operation, c, policy, feasibility, risk, inactive)
    if exemption is not None:
        return Outcome(decision=Decision.VERIFICATION_FREE, exemption=exemption,
                       reasons=(f"EXEMPT:{exemption.rule}",), counts_exemption=operation is Operation.PAYMENT,
                       **base)
    reasons = [f"NOT_EXEMPT:{why_not}"]
    table = policy.methods[operation]
    available = [m for m in table if m in enrolled]

    if risk.account.level is Level.HIGH and risk.network.level is Level.HIGH:
        return _both_high(policy, table, enrolled, reasons, base)
    strong_required = _strong_required(operation, risk, policy, reasons)
    weak = [] if strong_required else _weak_methods(available, risk, inactive, policy, reasons)
    if not strong_required and not weak:
        reasons.append("STRONG_REQUIRED:NO_WEAK_METHOD_LEFT")
    strong = [m for m in available if m in STRONG_METHODS]
    methods = weak + strong
    if not methods:
        return Outcome(decision=Decision.DENY, reasons=(*reasons, "NO_ELIGIBLE_METHOD"), **base)
    return Outcome(decision=Decision.CHALLENGE, strength=Strength.WEAK if weak else Strength.STRONG,
                   methods=tuple(methods), reasons=tuple(reasons), **base)


def _both_high(policy: Policy, table: Collection[Method], enrolled: Collection[Method], reasons: list[str],
               base: dict[str, Any]) -> Outcome:
    """Both the account and the network risk HIGH: deny, or the strongest enrolled method alone (by policy)."""
    reasons.append("BOTH_HIGH")
    if policy.both_high == "DENY":  # BothHigh.DENY (the policy module loads on first use)
        return Outcome(decision=Decision.DENY, reasons=(*reasons, "POLICY_DENY"), **base)
    strongest = [m for m in policy.strongest if m in enrolled and m in table]
    if not strongest:
        return Outcome(decision=Decision.DENY, reasons=(*reasons, "NO_STRONG_METHOD_ENROLLED"), **base)
    return Outcome(decision=Decision.CHALLENGE, strength=Strength.STRONG, methods=(strongest[0],),
                   reasons=(*reasons, "STRONGEST_ONLY"), **base)


def _strong_required(operation: Operation, risk: Risk, policy: Policy, reasons: list[str]) -> bool:
    """BINDING_FIRST_USE, a risk at or above the policy's strong level, or a HIGH biometric risk."""
    required = False
    if operation is Operation.BINDING_FIRST_USE:
        required = True
        reasons.append("STRONG_REQUIRED:BINDING_FIRST_USE")
    if risk.highest.rank >= policy.strong_from_level.rank:
        required = True
        reasons.append(f"STRONG_REQUIRED:RISK_{risk.highest.value}")
    if risk.biometric is not None and risk.biometric.level is Level.HIGH:
        required = True
        reasons.append("STRONG_REQUIRED:BIOMETRIC")
    return required


def _weak_methods(available: list[Method], risk: Risk, inactive: InactiveAssessment, policy: Policy,
                  reasons: list[str]) -> list[Method]:
    """The enrolled weak methods still allowed: SMS OTP only up to its risk level (NIST SP 800-63B), and for an
    inactive user each method only under its calibrated threshold."""
    weak: list[Method] = []
    for method in (m for m in available if m not in STRONG_METHODS):
        if method is Method.SMS_OTP and risk.highest.rank > policy.sms_otp_max_level.rank:
            reasons.append("SMS_OTP_RESTRICTED")
            continue
        gate = inactive.methods.get(method.value)
        if inactive.inactive and gate is not None and not gate.allowed:
            reasons.append(f"INACTIVE:{method.value}_OVER_THRESHOLD")
            continue
        if inactive.inactive and gate is None:
            reasons.append(f"INACTIVE:{method.value}_NOT_CALIBRATED")
            continue
        weak.append(method)
    return weak
