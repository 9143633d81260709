"""Decision table of the engine (pure): every exemption rule and its limits, every risk signal, the method
selection branches (SMS restriction, strong requirement, inactive users per method, both HIGH, enrolment)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.types import Money
from shared.verification.decision import decide
from shared.verification.models import (
    Decision,
    DeviceInfo,
    FaceEvidence,
    Feasibility,
    Geo,
    History,
    Level,
    Method,
    NetworkType,
    Operation,
    Outcome,
    Profile,
    Strength,
    TriggerContext,
)
from shared.verification.policy import MethodRiskModel, Policy
from shared.verification.risk import Context, IpInfo, distance_km, ip_prefix
from tests.verification.fakes import policy

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SHANGHAI = Geo(lat=31.23, lon=121.47)
BEIJING = Geo(lat=39.90, lon=116.40)  # ~1,070 km from Shanghai
ALL = frozenset(Method)
IP = "10.1.2.3"


def ctx(**kw: Any) -> TriggerContext:
    base: dict[str, Any] = {"device_id": "dev-1", "header_device_id": "dev-1", "network": NetworkType.WIFI,
                            "session_id": "s-1", "source_ip": IP, "geo": SHANGHAI}
    return TriggerContext(**{**base, **kw})


def profile(**kw: Any) -> Profile:
    base: dict[str, Any] = {
        "owner": "u", "account_created_at": NOW - timedelta(days=400), "last_activity_at": NOW - timedelta(days=1),
        "devices": {"dev-1": DeviceInfo(device_id="dev-1", first_seen=NOW - timedelta(days=300), trusted=True)},
        "ip_prefixes": frozenset({ip_prefix(IP)}), "network_types": frozenset({"WIFI"}), "last_geo": SHANGHAI,
        "last_geo_at": NOW - timedelta(hours=2), "txn_count_90d": 30, "txn_amount_90d": 300_000,
        "counterparties": frozenset({"acc_bob"}), "phone": "+8613800000001"}
    return Profile(**{**base, **kw})


def history(**kw: Any) -> History:
    base: dict[str, Any] = {"owner": "u", "strong_devices": {"dev-1": NOW - timedelta(minutes=10)},
                            "last_strong_at": NOW - timedelta(minutes=10)}
    return History(**{**base, **kw})


def run(operation: Operation = Operation.LOGIN, c: TriggerContext | None = None, p: Profile | None = None,
        h: History | None = None, pol: Policy | None = None, score: float | None = 0.999,
        enrolled: frozenset[Method] = ALL, face: FaceEvidence | None = None, ip: IpInfo | None = None,
        no_profile: bool = False) -> Outcome:
    pol = pol or policy()
    c = c or ctx()
    context = Context(operation=operation, ctx=c, profile=None if no_profile else (p or profile()),
                      history=h or history(), ip=ip or IpInfo(prefix=ip_prefix(c.source_ip)), now=NOW)
    feasibility = None if score is None else Feasibility(score=score, threshold=pol.model.threshold,
                                                         model_version="test")
    return decide(operation, context, pol, feasibility, enrolled, face)


def cny(yuan: float) -> Money:
    return Money(amount=int(yuan * 100), currency="CNY")


# --- verification-free: the rules and the model ------------------------------------------------------------
def test_trusted_device_with_a_recent_strong_verification_is_free_and_records_rule_and_score() -> None:
    o = run()
    assert o.decision is Decision.VERIFICATION_FREE and o.methods == ()
    assert o.exemption is not None and o.exemption.rule == "TRUSTED_DEVICE_RECENT_STRONG"
    assert o.exemption.model_score == 0.999 and o.exemption.model_threshold == policy().model.threshold
    assert o.reasons == ("EXEMPT:TRUSTED_DEVICE_RECENT_STRONG",) and o.policy_version == policy().version


def test_a_strong_verification_older_than_the_window_does_not_exempt_by_trusted_device() -> None:
    h = history(strong_devices={"dev-1": NOW - timedelta(minutes=31)})
    o = run(h=h, c=ctx(geo=None))  # no place: the usual-context rule cannot hold either
    assert o.decision is Decision.CHALLENGE and o.reasons[0] == "NOT_EXEMPT:NO_EXEMPTION_RULE_HOLDS"
    assert run(h=h, pol=policy(exemptions={"trusted_device": {"strong_within_minutes": 60}}),
               c=ctx(geo=None)).exemption.rule == "TRUSTED_DEVICE_RECENT_STRONG"  # type: ignore[union-attr]


def test_usual_context_same_device_network_place_and_prefix() -> None:
    h = history(strong_devices={"dev-1": NOW - timedelta(days=3)})
    assert run(h=h).exemption.rule == "USUAL_CONTEXT"  # type: ignore[union-attr]
    far = Geo(lat=SHANGHAI.lat + 1.0, lon=SHANGHAI.lon)  # ~111 km: outside the 50 km radius
    assert run(h=h, c=ctx(geo=far), p=profile(last_geo_at=NOW - timedelta(days=1))).decision is Decision.CHALLENGE
    assert run(h=h, c=ctx(network=NetworkType.CELLULAR)).decision is Decision.CHALLENGE  # not the usual network
    assert run(h=h, c=ctx(source_ip="10.9.9.9")).decision is Decision.CHALLENGE  # unknown prefix


def untrusted() -> tuple[Profile, History]:
    devices = {"dev-1": DeviceInfo(device_id="dev-1", first_seen=NOW - timedelta(days=300), trusted=False)}
    return profile(devices=devices), History(owner="u")


def test_low_value_payment_is_free_within_the_psd2_counters() -> None:
    p, h = untrusted()
    o = run(Operation.PAYMENT, c=ctx(amount=cny(100), payee_account_id="acc_bob"), p=p, h=h)
    assert o.decision is Decision.VERIFICATION_FREE and o.exemption.rule == "LOW_VALUE"  # type: ignore[union-attr]
    assert o.counts_exemption and o.exemption.detail["count_after"] == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(("amount", "spent", "count", "free"), [
    (229.99, 0, 0, True),      # just under the per-transaction limit (230.00)
    (230.00, 0, 0, False),     # at the limit
    (100, 670, 0, True),       # cumulative 770.00 exactly
    (100, 670.01, 0, False),   # cumulative over 770.00
    (10, 0, 4, True),          # the 5th exempted payment
    (10, 0, 5, False),         # a 6th
])
def test_low_value_limits(amount: float, spent: float, count: int, free: bool) -> None:
    p, _ = untrusted()
    h = History(owner="u", exempt_amount=int(spent * 100), exempt_count=count)
    o = run(Operation.PAYMENT, c=ctx(amount=cny(amount), payee_account_id="acc_bob"), p=p, h=h)
    assert (o.decision is Decision.VERIFICATION_FREE) is free, o.reasons


def test_low_value_counts_the_profiles_transfers_since_the_last_verification() -> None:
    p, h = untrusted()
    p = p.model_copy(update={"spent_since_verification": 70_000, "count_since_verification": 1})
    o = run(Operation.PAYMENT, c=ctx(amount=cny(100), payee_account_id="acc_bob"), p=p, h=h)
    assert o.decision is Decision.CHALLENGE  # 700 + 100 > 770


def test_trusted_payee_needs_a_verified_payee_a_trusted_device_and_the_cap() -> None:
    h = history(strong_devices={"dev-1": NOW - timedelta(days=3)}, verified_payees={"acc_bob": NOW - timedelta(days=9)})
    c = ctx(amount=cny(1500), payee_account_id="acc_bob", geo=None)
    assert run(Operation.PAYMENT, c=c, h=h).exemption.rule == "TRUSTED_PAYEE"  # type: ignore[union-attr]
    assert run(Operation.PAYMENT, c=c.model_copy(update={"amount": cny(2000.01)}), h=h).decision is Decision.CHALLENGE
    assert run(Operation.PAYMENT, c=c.model_copy(update={"payee_account_id": "acc_carol"}),
               h=h).decision is Decision.CHALLENGE


def test_the_model_must_agree_with_the_rule() -> None:
    threshold = policy().model.threshold
    o = run(score=threshold - 0.001)
    assert o.decision is Decision.CHALLENGE and o.reasons[0] == "NOT_EXEMPT:MODEL_BELOW_THRESHOLD"
    assert o.feasibility is not None and o.feasibility.score == threshold - 0.001
    assert run(score=threshold).decision is Decision.VERIFICATION_FREE
    assert run(score=None).reasons[0] == "NOT_EXEMPT:MODEL_UNAVAILABLE"  # fails closed


def test_account_update_and_first_use_are_never_exempt_even_if_the_policy_lists_them() -> None:
    generous = policy(exemptions={"operations": ["LOGIN", "PAYMENT", "ACCOUNT_UPDATE", "BINDING_FIRST_USE"]})
    for op in (Operation.ACCOUNT_UPDATE, Operation.BINDING_FIRST_USE):
        o = run(op, pol=generous)
        assert o.decision is Decision.CHALLENGE and o.reasons[0] == "NOT_EXEMPT:OPERATION_NOT_EXEMPTIBLE"


def test_no_exemption_above_the_exemption_risk_level_or_for_inactive_users() -> None:
    o = run(ip=IpInfo(prefix=ip_prefix(IP), categories=frozenset({"VPN"})))
    assert o.risk.network.level is Level.MEDIUM and o.reasons[0] == "NOT_EXEMPT:RISK_ABOVE_EXEMPTION_LEVEL"
    cutoff = policy().inactive.cutoff_days
    o = run(p=profile(last_activity_at=NOW - timedelta(days=cutoff + 1)),
            pol=policy(levels={"medium": 0.5, "high": 0.8}))
    assert o.reasons[0] == "NOT_EXEMPT:INACTIVE_USER"


# --- risk identification: each signal, its contribution -----------------------------------------------------
@pytest.mark.parametrize(("change", "signal"), [
    ({"c": ctx(device_id="dev-2", header_device_id="dev-2")}, "NEW_DEVICE"),
    ({"c": ctx(header_device_id="dev-9")}, "DEVICE_MISMATCH"),
    ({"c": ctx(supplied_phone="+8613900000000")}, "PHONE_MISMATCH"),
    ({"p": profile(account_created_at=NOW - timedelta(days=2))}, "NEW_ACCOUNT"),
    ({"h": history(sensitive_changes=(NOW - timedelta(hours=5),))}, "RECENT_SENSITIVE_CHANGE"),
    ({"p": profile(watch_tags=frozenset({"MULE"}))}, "WATCH_LIST"),
    ({"h": history(failures=(NOW - timedelta(hours=1),))}, "RECENT_FAILURES"),
    ({"p": profile(last_activity_at=NOW - timedelta(days=400))}, "INACTIVE"),
    ({"c": ctx(amount=cny(600), payee_account_id="acc_bob")}, "UNUSUAL_AMOUNT"),
    ({"c": ctx(amount=cny(10), payee_account_id="acc_new")}, "NEW_PAYEE"),
    ({"no_profile": True}, "NO_PROFILE"),
])
def test_account_signals(change: dict[str, Any], signal: str) -> None:
    op = Operation.PAYMENT if "amount" in str(change) else Operation.LOGIN
    o = run(op, **change)
    weight = getattr(policy().signals.account, signal)
    assert signal in o.risk.account.reasons
    assert o.risk.account.contributions[signal] == pytest.approx(weight)
    assert o.risk.account.score == pytest.approx(min(1.0, sum(o.risk.account.contributions.values())))
    assert signal not in run(op).risk.account.reasons


def test_untrusted_known_device_and_failures_scale_to_three() -> None:
    p, _ = untrusted()
    assert run(p=p, h=History(owner="u")).risk.account.contributions["UNTRUSTED_DEVICE"] == 0.1
    h = history(failures=tuple(NOW - timedelta(minutes=i) for i in range(1, 6)))
    assert run(h=h).risk.account.contributions["RECENT_FAILURES"] == pytest.approx(0.3)


@pytest.mark.parametrize(("change", "signal"), [
    ({"c": ctx(device_id="dev-2", header_device_id="dev-2")}, "NEW_DEVICE"),
    ({"ip": IpInfo(prefix=ip_prefix(IP), categories=frozenset({"PROXY"}))}, "IP_PROXY"),
    ({"ip": IpInfo(prefix=ip_prefix(IP), categories=frozenset({"VPN"}))}, "IP_VPN"),
    ({"ip": IpInfo(prefix=ip_prefix(IP), categories=frozenset({"HOSTING"}))}, "IP_HOSTING"),
    ({"ip": IpInfo(prefix=ip_prefix(IP), categories=frozenset({"TOR"}))}, "IP_TOR"),
    # the risk signals' list names (shared/signals/ip_lists.json)
    ({"ip": IpInfo(prefix=ip_prefix(IP), categories=frozenset({"PROXY_VPN"}))}, "IP_PROXY_VPN"),
    ({"ip": IpInfo(prefix=ip_prefix(IP), categories=frozenset({"KNOWN_BAD"}))}, "IP_KNOWN_BAD"),
    ({"ip": IpInfo(prefix=ip_prefix(IP), categories=frozenset({"BAD_REPUTATION"}))}, "IP_BAD_REPUTATION"),
    ({"c": ctx(source_ip="172.16.5.5")}, "NEW_IP_PREFIX"),
    ({"c": ctx(geo=BEIJING), "p": profile(last_geo_at=NOW - timedelta(minutes=30))}, "IMPOSSIBLE_TRAVEL"),
    ({"c": ctx(network=NetworkType.CELLULAR)}, "NEW_NETWORK_TYPE"),
    ({"c": ctx(network=NetworkType.UNKNOWN)}, "UNKNOWN_NETWORK"),
])
def test_network_signals(change: dict[str, Any], signal: str) -> None:
    o = run(**change)
    assert signal in o.risk.network.reasons
    assert o.risk.network.contributions[signal] == pytest.approx(getattr(policy().signals.network, signal))
    assert signal not in run().risk.network.reasons


def test_travel_is_possible_given_the_time() -> None:
    assert distance_km(SHANGHAI, BEIJING) == pytest.approx(1068, rel=0.02)
    slow = profile(last_geo_at=NOW - timedelta(hours=3))  # 1,068 km in 3 h: ~356 km/h, a train
    assert "IMPOSSIBLE_TRAVEL" not in run(c=ctx(geo=BEIJING), p=slow).risk.network.reasons


def test_biometric_risk_only_with_a_face_capture() -> None:
    assert run().risk.biometric is None
    match = FaceEvidence(enrolled=True, similarity=0.8, threshold=0.45, matched=True)
    assert run(face=match).risk.biometric.score == 0  # type: ignore[union-attr]
    weak = match.model_copy(update={"similarity": 0.47})
    assert run(face=weak).risk.biometric.reasons == ("FACE_WEAK_MATCH",)  # type: ignore[union-attr]
    assert run(face=FaceEvidence(enrolled=False)).risk.biometric.reasons == ("NO_FACE_ENROLLED",)  # type: ignore[union-attr]
    mismatch = FaceEvidence(enrolled=True, similarity=0.1, threshold=0.45, matched=False)
    o = run(Operation.PAYMENT, face=mismatch, c=ctx(amount=cny(1), payee_account_id="acc_bob"))
    assert o.risk.biometric.level is Level.HIGH and o.decision is Decision.CHALLENGE  # type: ignore[union-attr]
    assert o.strength is Strength.STRONG and "STRONG_REQUIRED:BIOMETRIC" in o.reasons


def test_levels_come_from_the_policy() -> None:
    vpn = IpInfo(prefix=ip_prefix(IP), categories=frozenset({"VPN"}))
    assert run(ip=vpn).risk.network.level is Level.MEDIUM
    assert run(ip=vpn, pol=policy(levels={"medium": 0.35, "high": 0.6})).risk.network.level is Level.LOW


# --- method selection ---------------------------------------------------------------------------------------
def challenge(**kw: Any) -> Outcome:
    """A LOGIN from an unknown device (no exemption), plus ``kw``."""
    base: dict[str, Any] = {"c": ctx(device_id="dev-new", header_device_id="dev-new", geo=None),
                            "h": History(owner="u")}
    return run(**{**base, **kw})


def test_low_risk_offers_the_weak_methods_first_then_the_strong_ones_in_policy_order() -> None:
    o = run(c=ctx(geo=None), h=History(owner="u"))  # known trusted device, no recent strong: LOW risk
    assert o.risk.highest is Level.LOW and o.decision is Decision.CHALLENGE and o.strength is Strength.WEAK
    assert o.methods == (Method.PASSWORD, Method.SMS_OTP, Method.FACE, Method.CARD)


def test_sms_otp_is_never_offered_alone_above_its_level() -> None:
    vpn = IpInfo(prefix=ip_prefix(IP), categories=frozenset({"VPN"}))
    assert policy().sms_otp_max_level is Level.MEDIUM  # the committed policy: SMS OTP alone up to MEDIUM
    assert Method.SMS_OTP in challenge(ip=vpn).methods
    strict = policy(sms_otp_max_level="LOW")
    medium = challenge(ip=vpn, pol=strict)
    assert medium.risk.highest is Level.MEDIUM
    assert Method.SMS_OTP not in medium.methods and "SMS_OTP_RESTRICTED" in medium.reasons
    assert medium.methods[0] is Method.PASSWORD and medium.strength is Strength.WEAK
    only_sms = challenge(ip=vpn, pol=strict, enrolled=frozenset({Method.SMS_OTP, Method.CARD}))
    assert only_sms.methods == (Method.CARD,) and only_sms.strength is Strength.STRONG
    assert "STRONG_REQUIRED:NO_WEAK_METHOD_LEFT" in only_sms.reasons


def test_high_risk_requires_a_strong_method() -> None:
    o = run(p=profile(watch_tags=frozenset({"MULE"})), h=History(owner="u"), c=ctx(geo=None))
    assert o.risk.account.level is Level.HIGH and o.risk.network.level is not Level.HIGH
    assert o.strength is Strength.STRONG and o.methods == (Method.FACE, Method.CARD)
    assert "STRONG_REQUIRED:RISK_HIGH" in o.reasons


def test_first_use_after_a_binding_always_demands_a_strong_method() -> None:
    o = run(Operation.BINDING_FIRST_USE)
    assert o.decision is Decision.CHALLENGE and o.strength is Strength.STRONG
    assert o.methods == (Method.CARD, Method.FACE) and "STRONG_REQUIRED:BINDING_FIRST_USE" in o.reasons
    none = run(Operation.BINDING_FIRST_USE, enrolled=frozenset({Method.SMS_OTP, Method.PASSWORD}))
    assert none.decision is Decision.DENY and none.reasons[-1] == "NO_ELIGIBLE_METHOD"


def both_high(**kw: Any) -> Outcome:
    return run(p=profile(watch_tags=frozenset({"MULE"})), h=History(owner="u"),
               ip=IpInfo(prefix=ip_prefix(IP), categories=frozenset({"TOR"})), c=ctx(geo=None), **kw)


def test_both_scores_high_deny_or_strongest_by_policy() -> None:
    o = both_high()
    assert (o.risk.account.level, o.risk.network.level) == (Level.HIGH, Level.HIGH)
    assert o.decision is Decision.DENY and o.reasons[-2:] == ("BOTH_HIGH", "POLICY_DENY")
    strongest = both_high(pol=policy(both_high="STRONGEST"))
    assert strongest.decision is Decision.CHALLENGE and strongest.methods == (Method.FACE,)
    card_only = both_high(pol=policy(both_high="STRONGEST"), enrolled=frozenset({Method.CARD, Method.PASSWORD}))
    assert card_only.methods == (Method.CARD,)
    assert both_high(pol=policy(both_high="STRONGEST"),
                     enrolled=frozenset({Method.PASSWORD})).reasons[-1] == "NO_STRONG_METHOD_ENROLLED"


def test_only_enrolled_methods_are_offered_and_none_means_deny() -> None:
    o = run(c=ctx(geo=None), h=History(owner="u"), enrolled=frozenset({Method.SMS_OTP}))
    assert o.methods == (Method.SMS_OTP,)
    assert run(c=ctx(geo=None), h=History(owner="u"), enrolled=frozenset()).decision is Decision.DENY


# --- inactive users: a risk per weak method, each its own threshold --------------------------------------------
def inactive_policy(sms_threshold: float, password_threshold: float) -> Policy:
    """Risk = sigmoid(-4 + 0.5 * ln(1 + days)): ~0.27 at 400 days."""
    def model(t: float) -> dict[str, Any]:
        return MethodRiskModel(intercept=-4.0, coefficients={"days_inactive_log": 0.5}, threshold=t,
                               target_pass_through=0.01).model_dump()
    return policy(inactive={"cutoff_days": 90, "methods": {"SMS_OTP": model(sms_threshold),
                                                           "PASSWORD": model(password_threshold)}},
                  levels={"medium": 0.45, "high": 0.8})


def inactive_run(pol: Policy, days: float) -> Outcome:
    return run(p=profile(last_activity_at=NOW - timedelta(days=days)), h=History(owner="u"), c=ctx(geo=None),
               pol=pol)


def test_inactive_user_keeps_a_weak_method_only_under_its_threshold() -> None:
    pol = inactive_policy(sms_threshold=0.1, password_threshold=0.5)
    o = inactive_run(pol, 400)
    assert o.inactive is not None and o.inactive.inactive and o.inactive.cutoff_days == 90
    sms, pw = o.inactive.methods["SMS_OTP"], o.inactive.methods["PASSWORD"]
    assert sms.score == pytest.approx(pw.score) and 0.26 < sms.score < 0.28
    assert not sms.allowed and pw.allowed
    assert o.methods == (Method.PASSWORD, Method.FACE, Method.CARD) and o.strength is Strength.WEAK
    assert "INACTIVE:SMS_OTP_OVER_THRESHOLD" in o.reasons


def test_inactive_user_over_every_threshold_gets_a_strong_method() -> None:
    o = inactive_run(inactive_policy(0.1, 0.1), 400)
    assert o.strength is Strength.STRONG and o.methods == (Method.FACE, Method.CARD)


def test_below_the_cutoff_a_user_is_not_gated() -> None:
    o = inactive_run(inactive_policy(0.0, 0.0), 89)
    assert o.inactive is not None and not o.inactive.inactive and o.inactive.methods == {}
    assert Method.PASSWORD in o.methods


def test_the_threshold_is_strict() -> None:
    pol = inactive_policy(0.5, 0.5)
    score = inactive_run(pol, 400).inactive.methods["PASSWORD"].score  # type: ignore[union-attr]
    assert not inactive_run(inactive_policy(score, score), 400).inactive.methods["PASSWORD"].allowed  # type: ignore[union-attr]
