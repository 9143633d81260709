"""Fit, evaluate, choose the threshold, export to ONNX and write the manifest and model card.

* Model: scikit-learn ``GradientBoostingClassifier`` (shallow trees: the
  features interact — age matters differently on and off campus — and tree
  ensembles export exactly to ONNX's ``TreeEnsembleClassifier``).
* Split: 60% train, 20% validation (threshold choice), 20% test (every reported figure).
* Threshold: the registry query is cheap next to a human review, so on cost
  alone every user with P(identity) > cost(query)/cost(review) = 0.1 should be
  queried. But asking an authoritative registry about a person discloses that
  person to a third party, so we also require that at least
  ``MIN_PRECISION`` of the users we query really hold the identity (data
  minimisation). The threshold is the lowest that meets the precision floor,
  which on a calibrated model is also the cheapest such threshold.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from shared.identity.features import FEATURE_NAMES, N_FEATURES
from training.population import AS_OF, MIXTURES, REAL_NAME_SHARE, generate

COST_QUERY = 0.1   # relative cost of one registry query (fee, latency)
COST_REVIEW = 1.0  # relative cost of one human document review
MIN_PRECISION = 0.9
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
HYPERPARAMETERS = {"n_estimators": 120, "max_depth": 3, "learning_rate": 0.1, "subsample": 0.8}


@dataclass
class Result:
    identity_type: str
    version: str
    file: str
    sha256: str
    seed: int
    n_samples: int
    prevalence: float
    threshold: float
    metrics: dict[str, float]
    calibration: list[dict[str, float]] = field(default_factory=list)
    features: list[str] = field(default_factory=lambda: list(FEATURE_NAMES))
    hyperparameters: dict[str, Any] = field(default_factory=lambda: dict(HYPERPARAMETERS))


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> tuple[float, list[dict[str, float]]]:
    """ECE over ``bins`` equal-width bins (weighted by bin size), plus the reliability table."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    ece, table = 0.0, []
    for b in range(bins):
        mask = idx == b
        if not mask.any():
            continue
        conf, acc, share = float(p[mask].mean()), float(y[mask].mean()), float(mask.mean())
        ece += share * abs(conf - acc)
        table.append({"bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "n": int(mask.sum()),
                      "mean_predicted": round(conf, 4), "observed_rate": round(acc, 4)})
    return ece, table


def choose_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """Lowest threshold on a 0.01 grid whose precision is >= MIN_PRECISION and not below the cost break-even."""
    floor = COST_QUERY / COST_REVIEW
    for t in np.round(np.arange(0.05, 0.96, 0.01), 2):
        above = p > t  # the registry is asked when P(identity) > threshold (§3, strictly greater)
        if t >= floor and above.any() and y[above].mean() >= MIN_PRECISION:
            return float(t)
    return 0.95


def to_onnx(model: GradientBoostingClassifier, identity_type: str) -> bytes:
    # A fixed graph name: skl2onnx would otherwise pick a random one and the bytes would not be reproducible.
    onx = convert_sklearn(model, name=f"identity_{identity_type}",
                          initial_types=[("features", FloatTensorType([None, N_FEATURES]))],
                          options={id(model): {"zipmap": False}}, target_opset=TARGET_OPSET)
    onx.doc_string = "Identity prediction model; see MODEL_CARD.md"
    return bytes(onx.SerializeToString())


def fit(identity_type: str, n: int, seed: int) -> tuple[GradientBoostingClassifier, dict[str, np.ndarray]]:
    X, y, _ = generate(identity_type, n, seed)
    cut1, cut2 = int(n * 0.6), int(n * 0.8)
    data = {"X_train": X[:cut1], "y_train": y[:cut1], "X_val": X[cut1:cut2], "y_val": y[cut1:cut2],
            "X_test": X[cut2:], "y_test": y[cut2:]}
    model = GradientBoostingClassifier(random_state=seed, **HYPERPARAMETERS)
    model.fit(data["X_train"], data["y_train"])
    return model, data


def train(identity_type: str, n: int, seed: int, out_dir: Path) -> Result:
    model, d = fit(identity_type, n, seed)
    p_val = model.predict_proba(d["X_val"])[:, 1]
    threshold = choose_threshold(d["y_val"], p_val)
    above_val = p_val > threshold
    y, p = d["y_test"], model.predict_proba(d["X_test"])[:, 1]
    ece, table = expected_calibration_error(y, p)
    above = p > threshold
    blob = to_onnx(model, identity_type)
    sha = hashlib.sha256(blob).hexdigest()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{identity_type}.onnx").write_bytes(blob)
    metrics = {
        "auc": roc_auc_score(y, p),
        "ece": ece,
        "brier": brier_score_loss(y, p),
        "log_loss": log_loss(y, p),
        "precision_at_threshold": float(y[above].mean()) if above.any() else 0.0,
        # the floor is met where the threshold is chosen (validation); the test figure is reported as measured
        "precision_at_threshold_validation": float(d["y_val"][above_val].mean()) if above_val.any() else 0.0,
        "recall_at_threshold": float((above & (y == 1)).sum() / max(1, (y == 1).sum())),
        "share_queried": float(above.mean()),
    }
    return Result(identity_type=identity_type, version=f"{identity_type}-gbt-{sha[:12]}",
                  file=f"{identity_type}.onnx", sha256=sha, seed=seed, n_samples=n,
                  prevalence=float(d["y_train"].mean()),
                  threshold=threshold, metrics={k: round(float(v), 4) for k, v in metrics.items()}, calibration=table)


# The face models' section of the card (scripts/build_face_models.py) starts here; retraining keeps it.
FACE_CARD_MARKER = "<!-- face models: generated by scripts/build_face_models.py -->"


def write_manifest(results: list[Result], out_dir: Path) -> None:
    """Write the identity models' manifest entries and card; other entries (the face models) are kept."""
    manifest_path, card_path = out_dir / "manifest.json", out_dir / "MODEL_CARD.md"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    manifest.update({r.identity_type: asdict(r) for r in results})
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    old_card = card_path.read_text() if card_path.is_file() else ""
    face_section = old_card[old_card.index(FACE_CARD_MARKER):] if FACE_CARD_MARKER in old_card else ""
    card_path.write_text(model_card(results) + ("\n" + face_section if face_section else ""))


def model_card(results: list[Result]) -> str:
    lines = [
        "# Identity prediction models: model card",
        "",
        "Generated by `python -m training` (do not edit by hand; re-run the pipeline).",
        "",
        "**Intended use.** Pre-screen a user's request to be verified as holding a specific identity "
        "(SPEC §3): when P(identity) > the type's threshold, the workflow asks the authoritative registry; "
        "otherwise it goes straight to the document path. The model never grants or refuses an identity by "
        "itself: a registry match or a human reviewer does.",
        "",
        "**Model.** scikit-learn GradientBoostingClassifier "
        f"({', '.join(f'{k}={v}' for k, v in HYPERPARAMETERS.items())}), exported to ONNX (float32 input, "
        f"opsets {TARGET_OPSET}, no ZipMap; output `probabilities[:, 1]`). Served with onnxruntime from the model "
        "layer; features built by `shared/identity/features.py::build_features`, the same function training uses.",
        "",
        f"**Features** ({N_FEATURES}, in order): " + ", ".join(f"`{f}`" for f in FEATURE_NAMES) + ".",
        "",
        "**Training data.** Synthetic only (no real user data): `training/population.py` draws each user's "
        "*history* per persona (sign-ins with device, network, place and IP; P2P payments sent and received, "
        "top-ups and campaign prizes with their times and amounts) and folds it into an activity profile with "
        "`shared.signals.fold`, the rules the ledger stream projector and the sign-in route apply, so every "
        "training row has exactly the served profile's schema (a test compares the features of a user who acted "
        "through the API with those of the same history folded by the generator). Personas are mixed per "
        f"identity type (`MIXTURES`); {REAL_NAME_SHARE:.0%} of users carry a birth date (a real-name identity, "
        f"§5). Snapshot {AS_OF.isoformat()}; 60/20/20 train/validation/test split; every figure below is on the "
        "held-out test split.",
        "",
        "**What changed with issue 10, and why the figures dropped.** The previous models (AUC 0.960 student, "
        "0.980 teacher) used inputs the platform never observes: spending categories of merchants, the share of "
        "location pings inside a campus geofence, a device price tier, and a birth date for 97% of users. They "
        "are gone: every feature is now derived from the projected profile (ledger activity, sign-ins, devices, "
        "places, groups), and age only from a §5 real-name identity, which no user has until §5 lands (so serving "
        "scores everyone with `age_years` missing; half of the training users lack it too, so the model has "
        "learnt that branch). Campus share and categories were the strongest separators of students from young "
        "workers and campus neighbours; without them the model leans on time-of-day shares, payment sizes, P2P "
        "patterns and place counts, and AUC and calibration fall as reported below. These figures are on "
        "synthetic personas: they say the pipeline works, not how well real users separate.",
        "",
        f"**Threshold.** Cost of a registry query vs a human review is {COST_QUERY}:{COST_REVIEW}, so querying pays "
        f"off from P > {COST_QUERY / COST_REVIEW:.2f}; asking a registry about someone discloses them to a third "
        f"party, so we also require precision >= {MIN_PRECISION} among queried users (P strictly greater than "
        "the threshold, as the service and the state machine compare: §3, issue 9 item 10). The threshold is the "
        "lowest on a 0.01 grid meeting both on the validation split; the test-split precision below is reported "
        "as measured and may fall slightly under the floor (the floor is a validation-split target, and a test "
        "checks the card states the test figure it reports). The serving threshold is configuration "
        "(`shared/identity/identity_types.json`) and a test keeps it equal to the value here.",
        "",
        "**Limits.** The populations are synthetic; the real prevalence, drift and fairness across age groups "
        "must be measured on production outcomes (registry matches and review decisions are recorded with the "
        "score, threshold, model version and missing features for that purpose). Users with little history "
        "(new accounts) have most shares missing and score near the prior of the missing branch. Profiles unlike "
        "any persona can score unpredictably: trees do not extrapolate, which is tolerable only because the "
        "score routes and never decides.",
        "",
    ]
    for r in results:
        m = r.metrics
        lines += [
            f"## `{r.identity_type}`: version `{r.version}`",
            "",
            f"- file `{r.file}`, sha256 `{r.sha256[:16]}…`; seed {r.seed}; {r.n_samples} synthetic users; "
            f"positive share {r.prevalence:.3f}",
            f"- positive personas: {', '.join(k for k, (_, lab) in MIXTURES[r.identity_type].items() if lab)}; "
            f"negative: {', '.join(k for k, (_, lab) in MIXTURES[r.identity_type].items() if not lab)}",
            f"- **AUC {m['auc']:.4f}**, **ECE {m['ece']:.4f}** (10 equal-width bins), Brier {m['brier']:.4f}, "
            f"log loss {m['log_loss']:.4f}",
            f"- **threshold {r.threshold:.2f}** (registry asked when P > threshold): precision "
            f"{m['precision_at_threshold_validation']:.3f} on the validation split (floor {MIN_PRECISION}), "
            f"{m['precision_at_threshold']:.3f} on the test split; recall {m['recall_at_threshold']:.3f}, share of "
            f"requests that query the registry {m['share_queried']:.3f}",
            "",
            "| bin | n | mean predicted | observed rate |",
            "|---|---|---|---|",
            *(f"| {c['bin']} | {c['n']} | {c['mean_predicted']:.3f} | {c['observed_rate']:.3f} |"
              for c in r.calibration),
            "",
        ]
    return "\n".join(lines)
