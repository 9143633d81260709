"""The training pipeline: reproducible from a seed, ONNX == scikit-learn, committed models match config."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import onnxruntime as ort
import pytest

from shared.identity.catalog import catalog
from shared.identity.features import FEATURE_NAMES, N_FEATURES, build_features
from shared.identity.predictor import REPO_MODEL_DIR, OnnxPredictor
from training.population import AS_OF, MIXTURES, PERSONAS, generate, profile_from_history, sample_history
from training.train import MIN_PRECISION, expected_calibration_error, fit, to_onnx, train, write_manifest


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
    """The committed model, served by onnxruntime on features from the shared builder, separates the personas
    it was trained on when they come as profiles folded from histories (what serving reads)."""
    predictor = OnnxPredictor()
    rng = np.random.default_rng(2026)

    def mean_p(persona: str) -> float:
        histories = [sample_history(PERSONAS[persona], rng, AS_OF) for _ in range(40)]
        return float(np.mean([predictor.predict("student", build_features(profile_from_history(h, AS_OF)).values)
                              .probability for h in histories]))

    assert mean_p("university_student") > 0.75 and mean_p("senior") < 0.15
    assert predictor.predict("student", [0.0] * N_FEATURES).model_version.startswith("student-gbt-")
    with pytest.raises(ValueError):
        predictor.predict("student", [0.0] * 3)


def test_the_card_states_the_precision_floor_where_the_threshold_meets_it() -> None:
    """Issue 9 item 10: the card's stated floor and the chosen thresholds agree."""
    manifest = json.loads((REPO_MODEL_DIR / "manifest.json").read_text())
    card = (REPO_MODEL_DIR / "MODEL_CARD.md").read_text()
    assert f"precision >= {MIN_PRECISION}" in card and "P > threshold" in card
    for t in catalog().values():
        metrics = manifest[t.model]["metrics"]
        assert metrics["precision_at_threshold_validation"] >= MIN_PRECISION
        assert f"{metrics['precision_at_threshold_validation']:.3f} on the validation split" in card
        assert f"{metrics['precision_at_threshold']:.3f} on the test split" in card
