"""The policy document (one versioned file, loaded with Powertools Parameters), the feasibility model and the
inactive-user calibration: reproducible, ONNX equal to scikit-learn, committed artefacts equal to their sources."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from shared.types import Money
from shared.verification.adapters import (
    ConfigurationError,
    FileProvider,
    OnnxFeasibilityModel,
    ParametersPolicySource,
    SignalsIpReputation,
)
from shared.verification.features import FEATURE_NAMES, N_FEATURES
from shared.verification.models import Decision, Method, Operation
from shared.verification.policy import Policy
from shared.verification.risk import INACTIVE_FEATURES
from shared.verification.services import DecisionService
from shared.verification.settings import POLICY_FILE
from tests.verification.fakes import World
from tests.verification.test_services import ctx
from training import calibrate, feasibility
from training.policy_doc import content_version

MODELS = Path(__file__).resolve().parents[2] / "layers" / "model" / "models"


# --- the document ------------------------------------------------------------------------------------------
def test_the_committed_policy_is_complete_valid_and_versioned_by_its_content() -> None:
    raw = json.loads(POLICY_FILE.read_text())
    policy = Policy.model_validate(raw)
    assert raw == policy.model_dump(mode="json"), "every default is written out: the file is the whole policy"
    assert policy.version == content_version(raw)


def test_a_policy_change_alone_changes_the_decision(tmp_path: Path) -> None:
    """Only the document changes (a file the provider reads); the same trigger is then decided differently."""
    doc = json.loads(POLICY_FILE.read_text())
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(doc))
    world = World()
    world.user("alice")
    deps = world.deps()
    source = ParametersPolicySource(FileProvider(tmp_path), "policy.json", max_age=0)
    service = DecisionService(deps.__class__(**{**deps.__dict__, "policies": source}))
    trigger = ctx(amount=Money(amount=600_000, currency="CNY"), payee_account_id="acc_bob")
    before, _ = service.trigger("alice", Operation.PAYMENT, trigger)
    assert before.outcome.decision is Decision.CHALLENGE
    doc["exemptions"]["low_value"].update(per_transaction_limit=1_000_000, cumulative_limit=2_000_000)
    doc["version"] = "ops-2026-11-29-raise-low-value"
    path.write_text(json.dumps(doc))
    after, token = service.trigger("alice", Operation.PAYMENT, trigger)
    assert after.outcome.decision is Decision.VERIFICATION_FREE and token is not None
    assert after.outcome.policy_version == "ops-2026-11-29-raise-low-value" != before.outcome.policy_version


def test_a_malformed_policy_is_a_configuration_error_not_a_decision(tmp_path: Path) -> None:
    (tmp_path / "policy.json").write_text(json.dumps({"version": "x", "model": {"threshold": 2}}))
    with pytest.raises(ConfigurationError):
        ParametersPolicySource(FileProvider(tmp_path), "policy.json", 0).current()
    with pytest.raises(ConfigurationError):
        ParametersPolicySource(FileProvider(tmp_path), "missing.json", 0).current()
    doc = json.loads(POLICY_FILE.read_text())
    doc["methods"]["BINDING_FIRST_USE"] = ["SMS_OTP"]  # first use is always strong: refused by validation
    (tmp_path / "policy.json").write_text(json.dumps(doc))
    with pytest.raises(ConfigurationError):
        ParametersPolicySource(FileProvider(tmp_path), "policy.json", 0).current()


def test_ip_reputation_is_the_risk_signals_lists_with_policy_weights_for_each_category() -> None:
    from shared.signals.adapters import DEFAULT_IP_LISTS, CidrReputation
    from shared.verification.policy import NetworkSignals

    class Reader:
        def ip_reputation(self, ip: str):  # type: ignore[no-untyped-def]
            return CidrReputation(DEFAULT_IP_LISTS).lookup(ip)

    ranges = SignalsIpReputation(Reader())  # type: ignore[arg-type]
    assert ranges.lookup("198.51.100.7").categories == {"PROXY_VPN"}
    assert ranges.lookup("203.0.113.9").categories == {"HOSTING"}
    assert ranges.lookup("10.1.2.3").categories == frozenset() and ranges.lookup("10.1.2.3").prefix == "10.1.2.0/24"
    assert ranges.lookup("not-an-ip").prefix is None and ranges.lookup(None).prefix is None
    # every category the lists can name has its own weight in the policy (none falls back silently)
    lists = json.loads(DEFAULT_IP_LISTS.read_text())["lists"]
    assert {f"IP_{c}" for c in lists} <= set(NetworkSignals.model_fields)


# --- the feasibility model -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_model():  # type: ignore[no-untyped-def]
    return feasibility.fit(2500, seed=11)


def test_onnx_and_sklearn_agree_within_1e_5(small_model) -> None:  # type: ignore[no-untyped-def]
    model, data = small_model
    session = ort.InferenceSession(feasibility.to_onnx(model), providers=["CPUExecutionProvider"])
    X = data["X_test"]
    assert X.dtype == np.float32 and X.shape[1] == N_FEATURES
    assert np.max(np.abs(session.run(["probabilities"], {"features": X})[0][:, 1]
                         - model.predict_proba(X)[:, 1])) < 1e-5


def test_same_seed_same_model_bytes_and_card(tmp_path: Path) -> None:
    a = feasibility.train(1500, 3, tmp_path / "a")
    b = feasibility.train(1500, 3, tmp_path / "b")
    assert a.sha256 == b.sha256 and (tmp_path / "a" / "feasibility.onnx").read_bytes() == (
        tmp_path / "b" / "feasibility.onnx").read_bytes()
    card = feasibility.model_card(a)
    for needle in ("AUC", "ECE", "Calibration", a.version, "Synthetic", "threshold"):
        assert needle in card


def test_the_generator_uses_the_serving_feature_builder() -> None:
    rows, y = feasibility.raw_population(200, 5)
    X, y2 = feasibility.generate(200, 5)
    assert np.array_equal(y, y2) and X.shape == (200, N_FEATURES)
    assert list(X[0]) == pytest.approx(feasibility.features_of(rows[0]), abs=1e-6)
    assert 0.75 < y.mean() < 0.95  # takeovers are the minority of triggers


def test_feedback_labels_join_the_training_split(tmp_path: Path) -> None:
    rows = [{"features": [0.0] * N_FEATURES, "label": "FRAUD"}, {"features": [1.0] * N_FEATURES,
                                                                  "label": "LEGITIMATE"}]
    path = tmp_path / "feedback.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    X, y = feasibility.load_feedback(path)
    assert X.shape == (2, N_FEATURES) and list(y) == [0, 1]
    _, data = feasibility.fit(800, 2, feedback=path)
    assert int(data["feedback_rows"][0]) == 2
    path.write_text(json.dumps({"features": [1.0], "label": "FRAUD"}) + "\n")
    with pytest.raises(ValueError):
        feasibility.load_feedback(path)


def test_committed_model_matches_manifest_card_and_policy() -> None:
    entry = json.loads((MODELS / "manifest.json").read_text())["feasibility"]
    blob = (MODELS / entry["file"]).read_bytes()
    assert hashlib.sha256(blob).hexdigest() == entry["sha256"] and entry["features"] == list(FEATURE_NAMES)
    assert entry["metrics"]["auc"] > 0.9 and entry["metrics"]["ece"] < 0.05
    assert Policy.model_validate_json(POLICY_FILE.read_text()).model.threshold == entry["threshold"]
    assert entry["version"] in (MODELS / "FEASIBILITY_MODEL_CARD.md").read_text()
    score, version = OnnxFeasibilityModel().predict([0.0] * N_FEATURES)
    assert 0.0 <= score <= 1.0 and version == entry["version"]
    with pytest.raises(ValueError):
        OnnxFeasibilityModel().predict([0.0] * 3)


# --- the inactive-user calibration ---------------------------------------------------------------------------
def test_calibration_is_reproducible_and_meets_its_targets() -> None:
    _, best1, results, pop, risks = calibrate.calibrate(40_000, 3)
    _, best2, _, _, _ = calibrate.calibrate(40_000, 3)
    assert best1 == best2
    inactive = pop.days >= best1.cutoff
    for method, target in calibrate.TARGETS.items():
        allowed = risks[method][inactive] < best1.thresholds[method]
        assert calibrate.pass_through(pop.p_harm[method][inactive], allowed) <= target + 1e-12
    assert best1.feasible and best1.tail_exceeds
    earlier = [r for r in results if r.cutoff < best1.cutoff]
    assert all(not r.tail_exceeds for r in earlier)  # the first grid point where weak methods miss a target


def test_best_threshold_is_the_largest_prefix_within_the_target() -> None:
    r = np.array([0.1, 0.2, 0.3, 0.4])
    harm = np.array([0.0, 0.0, 0.03, 0.05])
    assert calibrate.best_threshold(r, harm, 0.01) == pytest.approx(0.35)  # the first 3 average 0.01: allowed
    assert calibrate.best_threshold(r, harm, 0.009) == pytest.approx(0.25)
    assert calibrate.best_threshold(r, harm, 1.0) == 1.0
    assert calibrate.best_threshold(r, np.array([0.5, 0.5, 0.5, 0.5]), 0.1) == 0.0


def test_runtime_method_risk_equals_the_fitted_model() -> None:
    models, best, _, pop, _ = calibrate.calibrate(20_000, 4)
    section = calibrate.policy_section(models, best, 4, 20_000)
    doc = json.loads(POLICY_FILE.read_text())
    doc["inactive"] = section
    policy = Policy.model_validate(doc)
    for method in calibrate.TARGETS:
        expected = models[method].predict_proba(pop.X[:50])[:, 1]
        runtime = [policy.inactive.methods[method].risk(dict(zip(INACTIVE_FEATURES, row, strict=True)))
                   for row in pop.X[:50]]
        assert np.max(np.abs(np.asarray(runtime) - expected)) < 1e-4


def test_committed_policy_holds_the_calibration_and_the_report() -> None:
    policy = Policy.model_validate_json(POLICY_FILE.read_text())
    assert set(policy.inactive.methods) == {Method.SMS_OTP, Method.PASSWORD}
    assert policy.inactive.calibrated_on.startswith("training/calibrate.py")
    report = (Path(__file__).resolve().parents[2] / "docs" / "verification_calibration.md").read_text()
    assert f"**Cut-off: {policy.inactive.cutoff_days:g} days**" in report
    for method, model in policy.inactive.methods.items():
        assert f"| {method.value} | {model.target_pass_through:.4f} | {model.threshold:.4f} |" in report
    assert timedelta(days=policy.inactive.cutoff_days) > timedelta(0)


# --- the activity profile as the decision reads it -----------------------------------------------------------
def test_the_activity_profile_maps_to_the_decisions_profile() -> None:
    from datetime import UTC, date, datetime

    from shared.ledger.models import Account
    from shared.signals.models import (
        ActivityProfile,
        DayActivity,
        Device,
        LastLocation,
        Network,
        PrefixSeen,
        SensitiveChange,
        TagRecord,
        VerificationHistory,
        WatchTag,
    )
    from shared.verification.adapters import to_profile

    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    account = Account(account_id="acc_a", owner="a", currency="CNY", phone="+8613800000001",
                      created_at=now - timedelta(days=300))
    ap = ActivityProfile(
        user_id="a", as_of=now, today=date(2026, 11, 29), account_created_at=account.created_at,
        last_active_at=now - timedelta(days=3),
        devices=(Device(device_id="d1", first_seen=now, last_seen=now, trusted=True),
                 Device(device_id="d2", first_seen=now, last_seen=now)),
        ip_prefixes=(PrefixSeen(prefix="10.0.0.0/24", first_seen=now, last_seen=now),),
        networks={Network.WIFI: 2, Network.CELLULAR: 0},
        last_location=LastLocation(cell="wm6n2j", lat=30.57, lon=104.07, at=now - timedelta(hours=1)),
        tags={WatchTag.GREY: TagRecord(tag=WatchTag.GREY, set_by="ops", reason="r", set_at=now)},
        sensitive_changes={SensitiveChange.PHONE: now - timedelta(hours=2)},
        days=(DayActivity(day=date(2026, 11, 27), count=1, spend=5_000, spend_count=1),
              DayActivity(day=date(2026, 11, 28), count=2, spend=7_000, spend_count=2),
              DayActivity(day=date(2026, 11, 29), count=1, spend=1_000, spend_count=1)),
        verification=VerificationHistory(last_passed_at=datetime(2026, 11, 27, 20, 0, tzinfo=UTC)))  # 28th local
    p = to_profile(ap, account, timedelta(hours=8))
    assert p.devices["d1"].trusted and not p.devices["d2"].trusted and p.phone == "+8613800000001"
    assert p.ip_prefixes == {"10.0.0.0/24"} and p.network_types == {"WIFI"}
    assert p.last_geo is not None and p.last_geo.lat == 30.57 and p.last_geo_at == now - timedelta(hours=1)
    assert p.watch_tags == {"GREY"} and p.sensitive_changes == (now - timedelta(hours=2),)
    assert p.last_activity_at == now - timedelta(days=3) and (p.txn_count_90d, p.txn_amount_90d) == (4, 13_000)
    # since the (local) day of the last passed verification, whole days: the 28th and the 29th
    assert (p.spent_since_verification, p.count_since_verification) == (8_000, 3)
    never = to_profile(ap.model_copy(update={"verification": VerificationHistory(), "last_active_at": None}),
                       account, timedelta(hours=8))
    assert never.spent_since_verification == 13_000 and never.last_activity_at == account.created_at


def test_trusting_a_device_the_profile_does_not_list_is_not_an_error() -> None:
    from shared.signals.errors import DeviceNotFound
    from shared.verification.adapters import SignalsProfileWriter

    class Writer:
        recorded: list[tuple[str, bool, bool]] = []

        def trust_device(self, user_id: str, device_id: str):  # type: ignore[no-untyped-def]
            if device_id != "known":
                raise DeviceNotFound()

        def record_verification(self, user_id: str, *, passed: bool, strong: bool) -> None:
            self.recorded.append((user_id, passed, strong))

    writer = SignalsProfileWriter(Writer())  # type: ignore[arg-type]
    assert writer.trust("a", "known", datetime.now()) is True
    assert writer.trust("a", "never-signed-in", datetime.now()) is False
    writer.record("a", passed=True, strong=False)
    assert Writer.recorded == [("a", True, False)]
