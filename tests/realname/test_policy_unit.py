"""Risk and trust detection and the policy, on signal snapshots (the signals store's answers faked): each risk
item alone fails the default policy with the fields it demands; trust without risk passes; every variant of the
patent's policy; a policy change alone changes the outcome; the lockout delays (NIST SP 800-63B)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.realname.models import DeviceSignals, IdentityField, SignalsSnapshot
from shared.realname.policy import Policy, PolicyMode
from shared.realname.risk import assess
from shared.realname.settings import DEFAULT_POLICY_FILE

POLICY = Policy.model_validate_json(Path(DEFAULT_POLICY_FILE).read_text())
ID, NAME = IdentityField.ID_NUMBER, IdentityField.NAME

TRUSTED = SignalsSnapshot(source="fake", login_count=12, contacts=4, transactions=30, bindings=1,
                          known_cells=("wx4g0",), known_prefixes=("203.0.113.0/24",),
                          device=DeviceSignals(device_id="d1", known=True, trusted=True, accounts_on_device=1),
                          current_cell="wx4g0", current_prefix="203.0.113.0/24", cell_attempts=3, prefix_attempts=2)


def with_(**changes: object) -> SignalsSnapshot:
    return TRUSTED.model_copy(update=changes)


RISKS = {
    "emulator": (with_(device=DeviceSignals(device_id="d1", emulator=True)), "RISK_ABNORMAL_DEVICE_EMULATOR", (ID,)),
    "rooted": (with_(device=DeviceSignals(device_id="d1", rooted=True)), "RISK_ABNORMAL_DEVICE_ROOTED", (ID,)),
    "many_accounts": (with_(device=DeviceSignals(device_id="d1", accounts_on_device=4)),
                      "RISK_ABNORMAL_DEVICE_MANY_ACCOUNTS", (ID,)),
    "high_risk": (with_(tags=("HIGH_RISK",)), "RISK_TAGGED_USER_HIGH_RISK", (NAME, ID)),
    "black": (with_(tags=("BLACK",)), "RISK_TAGGED_USER_BLACK", (NAME, ID)),
    "grey": (with_(tags=("GREY",)), "RISK_TAGGED_USER_GREY", (NAME, ID)),
    "sensitive": (with_(tags=("SENSITIVE",)), "RISK_TAGGED_USER_SENSITIVE", (NAME, ID)),
    "area_cell": (with_(cell_attempts=201), "RISK_AREA_CLUSTER_CELL_ATTEMPTS", (ID,)),
    "area_ip": (with_(prefix_attempts=101), "RISK_AREA_CLUSTER_IP_PREFIX_ATTEMPTS", (ID,)),
}


def test_trusted_without_risk_passes_and_records_everything() -> None:
    a = assess(TRUSTED, 0, POLICY)
    assert a.passed and a.trusted and not a.risky and a.required_fields == ()
    assert a.policy_version == "2026-11-29.2"
    assert {f.item for f in a.trust} == {"TRUSTED_LOGIN_ACCOUNT", "TRUSTED_TRANSACTIONS", "TRUSTED_BINDING",
                                         "TRUSTED_LOCATION"}
    assert {f.item for f in a.risk} >= {"ABNORMAL_DEVICE", "TAGGED_USER", "BATCH_FACE", "AREA_CLUSTER"}
    assert "POLICY_ANY_RISK_FAILS_PASS" in a.reasons


@pytest.mark.parametrize("name", sorted(RISKS))
def test_each_risk_item_alone_fails_with_the_fields_it_demands(name: str) -> None:
    snapshot, reason, fields = RISKS[name]
    a = assess(snapshot, 0, POLICY)
    assert not a.passed and a.risky and reason in a.reasons
    assert a.required_fields == fields
    assert [r for r in a.reasons if r.startswith("RISK_")] == [reason]


def test_batch_face_is_a_risk_at_the_threshold() -> None:
    assert not assess(TRUSTED, 1, POLICY).risky
    a = assess(TRUSTED, 2, POLICY)
    assert not a.passed and "RISK_BATCH_FACE_SAME_FACE_OTHER_ACCOUNTS" in a.reasons
    assert a.required_fields == (NAME, ID)


@pytest.mark.parametrize(("item", "snapshot"), [
    ("TRUSTED_LOGIN_ACCOUNT", with_(login_count=0, contacts=0)),
    ("TRUSTED_TRANSACTIONS", with_(transactions=1)),
    ("TRUSTED_BINDING", with_(bindings=0)),
    ("TRUSTED_LOCATION", with_(current_cell="zzzzz", current_prefix="198.51.100.0/24")),
])
def test_each_trust_item_is_needed(item: str, snapshot: SignalsSnapshot) -> None:
    a = assess(snapshot, 0, POLICY)
    assert not a.trusted and f"UNTRUSTED_{item}" in a.reasons
    assert a.passed  # the default policy: no risk -> pass, trust recorded only


def test_login_account_is_trusted_by_logins_or_contacts() -> None:
    assert assess(with_(login_count=0, contacts=2), 0, POLICY).trusted
    assert assess(with_(login_count=5, contacts=0), 0, POLICY).trusted


@pytest.mark.parametrize(("mode", "risky", "trusted", "passed"), [
    (PolicyMode.ANY_RISK_FAILS, True, True, False),
    (PolicyMode.ANY_RISK_FAILS, False, False, True),
    (PolicyMode.RISK_AND_UNTRUSTED_FAILS, True, True, True),
    (PolicyMode.RISK_AND_UNTRUSTED_FAILS, True, False, False),
    (PolicyMode.RISK_AND_UNTRUSTED_FAILS, False, False, True),
    (PolicyMode.TRUSTED_PASSES, True, True, True),
    (PolicyMode.TRUSTED_PASSES, False, False, False),
    (PolicyMode.NO_RISK_AND_TRUSTED_PASSES, False, True, True),
    (PolicyMode.NO_RISK_AND_TRUSTED_PASSES, True, True, False),
    (PolicyMode.NO_RISK_AND_TRUSTED_PASSES, False, False, False),
])
def test_policy_variants(mode: PolicyMode, risky: bool, trusted: bool, passed: bool) -> None:
    assert POLICY.model_copy(update={"mode": mode}).decide(risky, trusted) is passed


def test_a_policy_change_alone_changes_the_outcome() -> None:
    snapshot = RISKS["many_accounts"][0]  # trusted user on a shared device
    before = assess(snapshot, 0, POLICY)
    lenient = POLICY.model_copy(update={"mode": PolicyMode.RISK_AND_UNTRUSTED_FAILS, "version": "v-lenient"})
    after = assess(snapshot, 0, lenient)
    assert not before.passed and after.passed and after.policy_version == "v-lenient"
    stricter = POLICY.model_copy(update={"risk": POLICY.risk.model_copy(update={"device_max_accounts": 0})})
    assert not assess(TRUSTED, 0, stricter).passed  # a threshold alone as well


def test_lockout_delays_grow_from_the_fifth_failure() -> None:
    lock = POLICY.lockout
    assert [lock.delay_seconds(n) for n in range(1, 9)] == [0, 0, 0, 0, 30, 60, 120, 240]
    assert lock.delay_seconds(60) == lock.max_delay_seconds


def test_policy_document_is_validated() -> None:
    with pytest.raises(ValueError):
        Policy.model_validate_json('{"version": "x", "mode": "NOPE"}')
