"""The training pipeline: reproducible from a seed, ONNX == scikit-learn, committed models match config."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import numpy as np
import onnxruntime as ort
import pytest

from shared.identity.catalog import catalog
from shared.identity.features import FEATURE_NAMES, N_FEATURES, ActivityProfile, build_features
from shared.identity.predictor import REPO_MODEL_DIR, OnnxPredictor
from training.population import MIXTURES, generate
from training.train import expected_calibration_error, fit, to_onnx, train, write_manifest


@pytest.fixture(scope="module")
def small_model():  # type: ignore[no-untyped-def]
    return fit("student", 3000, seed=11)


def test_onnx_and_sklearn_probabilities_agree_within_1e_5(small_model) -> None:  # type: ignore[no-untyped-def]
    model, data = small_model
    session = ort.InferenceSession(to_onnx(model, "student"), providers=["CPUExecutionProvider"])
    X = data["X_test"]
    onnx_p = session.run(["probabilities"], {"features": X})[0][:, 1]
    sk_p = model.predict_proba(X)[:, 1]
    assert np.max(np.abs(onnx_p - sk_p)) < 1e-5


def test_same_seed_same_model_bytes_and_card(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = train("teacher", 1000, 3, tmp_path / "a")
    b = train("teacher", 1000, 3, tmp_path / "b")
    assert a.sha256 == b.sha256 and a.version == b.version
    assert (tmp_path / "a" / "teacher.onnx").read_bytes() == (tmp_path / "b" / "teacher.onnx").read_bytes()
    write_manifest([a], tmp_path / "a")
    card = (tmp_path / "a" / "MODEL_CARD.md").read_text()
    for needle in ("AUC", "ECE", "threshold", a.version, "Synthetic"):
        assert needle in card
    assert json.loads((tmp_path / "a" / "manifest.json").read_text())["teacher"]["features"] == list(FEATURE_NAMES)


def test_generator_is_seeded_and_labels_follow_the_mixture() -> None:
    X1, y1, p1 = generate("student", 500, 5)
    X2, y2, _ = generate("student", 500, 5)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert X1.shape == (500, N_FEATURES) and X1.dtype == np.float32
    positives = [k for k, (_, label) in MIXTURES["student"].items() if label]
    agree = np.mean([(p in positives) == bool(y) for p, y in zip(p1, y1, strict=True)])
    assert 0.95 < agree <= 1.0  # only the documented label noise disagrees


def test_ece_is_zero_for_a_perfectly_calibrated_score() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(200_000)
    y = (rng.random(200_000) < p).astype(int)
    ece, table = expected_calibration_error(y, p)
    assert ece < 0.01 and len(table) == 10
    assert expected_calibration_error(np.zeros(100), np.full(100, 0.9))[0] == pytest.approx(0.9)


def test_committed_models_match_manifest_and_configured_thresholds() -> None:
    manifest = json.loads((REPO_MODEL_DIR / "manifest.json").read_text())
    for name, t in catalog().items():
        entry = manifest[t.model]
        blob = (REPO_MODEL_DIR / entry["file"]).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == entry["sha256"]
        assert t.threshold == entry["threshold"], f"{name}: config threshold differs from the model card"
        assert entry["features"] == list(FEATURE_NAMES)
        assert entry["metrics"]["auc"] > 0.85 and entry["metrics"]["ece"] < 0.05


def test_serving_predictor_uses_the_shared_feature_builder() -> None:
    student = ActivityProfile(birth_date=date(2005, 3, 1), account_opened_on=date(2024, 9, 1), txn_count_90d=140,
                              spend_90d_fen=300_000, spend_by_category_fen={"education": 60_000,
                                                                            "food_delivery": 120_000,
                                                                            "transit": 40_000, "books": 30_000},
                              night_txn_count=40, weekday_daytime_txn_count=40, weekend_txn_count=30,
                              location_pings_90d=600, campus_pings_90d=420, distinct_cities_90d=2,
                              device_count_90d=1, device_price_tier=0)
    senior = ActivityProfile(birth_date=date(1955, 3, 1), account_opened_on=date(2019, 1, 1), txn_count_90d=60,
                             spend_90d_fen=240_000, spend_by_category_fen={"groceries": 110_000, "other": 60_000,
                                                                           "entertainment": 20_000, "transit": 20_000,
                                                                           "food_delivery": 10_000, "travel": 20_000},
                             night_txn_count=2, weekday_daytime_txn_count=30, weekend_txn_count=15,
                             location_pings_90d=600, campus_pings_90d=2, distinct_cities_90d=1, device_count_90d=1)
    predictor = OnnxPredictor()
    as_of = date(2026, 1, 1)
    high = predictor.predict("student", build_features(student, as_of))
    low = predictor.predict("student", build_features(senior, as_of))
    assert high.probability > 0.9 > 0.1 > low.probability
    assert high.model_version.startswith("student-gbt-")
    with pytest.raises(ValueError):
        predictor.predict("student", [0.0] * 3)
