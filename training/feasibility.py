"""The feasibility model of adaptive verification (SPEC §4 step 1): P(skipping verification is safe).

``python -m training.feasibility [--seed 7] [--n 40000] [--feedback labels.jsonl] [--out layers/model/models]``
(part of ``make train``) generates a synthetic population of verification triggers, fits a gradient-boosted
classifier, exports it to ONNX (float32, no ZipMap), chooses the threshold and writes the manifest entry, the
model card (``FEASIBILITY_MODEL_CARD.md``) and the policy document's model threshold.

Synthetic triggers (nothing is real user data). Each trigger is the owner's own (label 1, "safe to skip") or an
account-takeover attempt (label 0), with overlapping distributions so the model has a real job:

| signal | owner | takeover |
| --- | --- | --- |
| device known / trusted | 0.92 / 0.80 of known | 0.15 / 0.30 of known (on the owner's device: 0.95 / 0.80) |
| X-Device-Id agrees | 0.99 | 0.80 |
| passed in session / recently | Poisson(0.4) / Poisson(4) | Poisson(0.05) / Poisson(1.5) |
| minutes since a strong verification | log-normal, median 2 days | log-normal, median 25 days |
| amount (yuan) | log-normal, median 60 | log-normal, median 900 |
| payee known | 0.65 | 0.10 |
| place known / distance | 0.75 / median 3 km | 0.45 / median 400 km (on device: 0.75 / 5 km) |
| usual network / IP prefix known | 0.90 / 0.80 | 0.45 / 0.15 (on device: 0.85 / 0.75) |
| IP on a risky range | 0.02 | 0.30 (on device: 0.05) |
| days inactive | log-normal, median 2 | log-normal, median 40 |
| failed attempts in 24 h | Poisson(0.1) | Poisson(1.5) |
| watch-listed | 0.005 | 0.05 |

30% of takeovers run on the owner's own device and network (remote-access malware, a borrowed unlocked phone):
they look like the owner except for what they do (on device: passed recently Poisson(3), strong verification
median 5 days ago, amount median 300 yuan, payee known 0.30, inactive median 5 days, failures Poisson(0.4)).
0.2% of labels are flipped (a family member paying). The prevalence of takeovers (15%) is that of triggers that
reach the decision, not of all traffic. Labelled feedback (``POST /admin/verification-decisions/
{id}/feedback``: FRAUD -> 0, LEGITIMATE -> 1, exported with ``export-feedback``) is added to the training split
with weight ``FEEDBACK_WEIGHT``.

Threshold: the lowest on a 0.005 grid at which at most ``MAX_TAKEOVER_PASS`` (2%) of the validation split's
takeovers score at or above it (the model's fraud pass-through); the policy's exemption rules must hold as well,
so the model alone never skips a verification.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from shared.types import Money
from shared.verification.features import FEATURE_NAMES, N_FEATURES, SessionStats, build_features
from shared.verification.models import DeviceInfo, Operation, Profile, TriggerContext
from training.policy_doc import POLICY, read_policy, write_policy
from training.train import TARGET_OPSET, expected_calibration_error

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
MODEL = "feasibility"
PREVALENCE_TAKEOVER = 0.15
ON_DEVICE_SHARE = 0.3
LABEL_NOISE = 0.002
MAX_TAKEOVER_PASS = 0.02
FEEDBACK_WEIGHT = 5.0
HYPERPARAMETERS = {"n_estimators": 150, "max_depth": 3, "learning_rate": 0.1, "subsample": 0.8}
REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "layers" / "model" / "models"
OPERATIONS = (Operation.LOGIN, Operation.PAYMENT, Operation.ACCOUNT_UPDATE, Operation.BINDING_FIRST_USE)


@dataclass
class Result:
    version: str
    file: str
    sha256: str
    seed: int
    n_samples: int
    prevalence_safe: float
    threshold: float
    metrics: dict[str, float]
    feedback_rows: int = 0
    calibration: list[dict[str, float]] = field(default_factory=list)
    features: list[str] = field(default_factory=lambda: list(FEATURE_NAMES))
    hyperparameters: dict[str, Any] = field(default_factory=lambda: dict(HYPERPARAMETERS))


def _lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    return np.exp(np.log(median) + sigma * rng.standard_normal(n))


def raw_population(n: int, seed: int) -> tuple[list[dict[str, Any]], np.ndarray]:
    """``n`` raw triggers and their labels (1: the owner, safe to skip)."""
    rng = np.random.default_rng(seed)
    takeover = rng.random(n) < PREVALENCE_TAKEOVER
    # A share of takeovers run on the owner's own device and network (remote-access malware, a borrowed unlocked
    # phone): they look like the owner except for what they do.
    on_device = takeover & (rng.random(n) < ON_DEVICE_SHARE)

    def pick(p_owner: float, p_takeover: float, p_on_device: float | None = None) -> np.ndarray:
        p = np.where(takeover, p_takeover, p_owner)
        if p_on_device is not None:
            p = np.where(on_device, p_on_device, p)
        return rng.random(n) < p

    def lognormal(owner: float, attacker: float, sigma: float, on_dev: float | None = None) -> np.ndarray:
        out = np.where(takeover, _lognormal(rng, attacker, sigma, n), _lognormal(rng, owner, sigma, n))
        return out if on_dev is None else np.where(on_device, _lognormal(rng, on_dev, sigma, n), out)

    def poisson(owner: float, attacker: float, on_dev: float | None = None) -> np.ndarray:
        lam = np.where(takeover, attacker, owner)
        return rng.poisson(lam if on_dev is None else np.where(on_device, on_dev, lam))

    known = pick(0.92, 0.15, 0.95)
    trusted = known & pick(0.80, 0.30, 0.80)
    header_agrees = pick(0.99, 0.80, 0.99)
    passed_session = poisson(0.4, 0.05, 0.2)
    failed_session = poisson(0.05, 0.4, 0.2)
    passed_recent = poisson(4.0, 1.5, 3.0)
    failed_recent = poisson(0.3, 1.2, 0.6)
    strong_ever = pick(0.85, 0.5, 0.8)
    minutes_strong = lognormal(2 * 1440, 25 * 1440, 1.2, 5 * 1440)
    operation = rng.choice(len(OPERATIONS), size=n, p=[0.35, 0.45, 0.12, 0.08])
    has_amount = operation == 1
    amount_yuan = lognormal(60, 900, 1.1, 300)
    payee = has_amount & pick(0.65, 0.10, 0.30)
    geo_given = pick(0.8, 0.7)
    geo_known = geo_given & pick(0.75, 0.45, 0.75)
    distance = np.where(on_device, _lognormal(rng, 5, 1.3, n), lognormal(3, 400, 1.3))
    network_usual = pick(0.90, 0.45, 0.85)
    prefix_known = pick(0.80, 0.15, 0.75)
    ip_risky = pick(0.02, 0.30, 0.05)
    account_age = lognormal(700, 500, 1.0)
    inactive = np.minimum(lognormal(2, 40, 1.2, 5), account_age)
    failures_24h = poisson(0.1, 1.5, 0.4)
    watch = pick(0.005, 0.05)
    phone_supplied = pick(0.6, 0.6)
    phone_agrees = pick(0.995, 0.7)
    device_age = np.minimum(lognormal(200, 60, 1.0), account_age)

    rows = []
    for i in range(n):
        rows.append({
            "operation": OPERATIONS[int(operation[i])].value,
            "passed_in_session": int(passed_session[i]),
            "attempts_in_session": int(passed_session[i] + failed_session[i]),
            "passed_recent": int(passed_recent[i]),
            "attempts_recent": int(passed_recent[i] + failed_recent[i]),
            "minutes_since_strong": float(minutes_strong[i]) if strong_ever[i] else None,
            "device_known": bool(known[i]), "device_trusted": bool(trusted[i]),
            "device_age_days": float(device_age[i]),
            "header_agrees": bool(header_agrees[i]),
            "phone_supplied": bool(phone_supplied[i]), "phone_agrees": bool(phone_agrees[i]),
            "amount_fen": int(max(1, round(amount_yuan[i] * 100))) if has_amount[i] else None,
            "payee_known": bool(payee[i]),
            "geo_distance_km": float(distance[i]) if geo_known[i] else None,
            "network_usual": bool(network_usual[i]), "ip_prefix_known": bool(prefix_known[i]),
            "ip_risky": bool(ip_risky[i]),
            "account_age_days": float(account_age[i]), "days_inactive": float(inactive[i]),
            "recent_failures": int(failures_24h[i]), "watch_listed": bool(watch[i]),
        })
    labels = (~takeover).astype(np.int64)
    flip = rng.random(n) < LABEL_NOISE
    labels[flip] = 1 - labels[flip]
    return rows, labels


def features_of(raw: dict[str, Any]) -> list[float]:
    """The serving feature builder applied to a raw synthetic trigger (no training/serving skew)."""
    now = AS_OF
    device = "device-1"
    devices = {device: DeviceInfo(device_id=device, first_seen=now - timedelta(days=raw["device_age_days"]),
                                  trusted=raw["device_trusted"])} if raw["device_known"] else {}
    phone = "+8613800000000"
    profile = Profile(owner="u", account_created_at=now - timedelta(days=raw["account_age_days"]),
                      last_activity_at=now - timedelta(days=raw["days_inactive"]), devices=devices,
                      watch_tags=frozenset({"WATCH"}) if raw["watch_listed"] else frozenset(), phone=phone)
    supplied = (phone if raw["phone_agrees"] else "+8613900000000") if raw["phone_supplied"] else None
    ctx = TriggerContext(device_id=device, header_device_id=device if raw["header_agrees"] else "other",
                         amount=Money(amount=raw["amount_fen"], currency="CNY") if raw["amount_fen"] else None,
                         supplied_phone=supplied)
    checks = [raw["header_agrees"], raw["device_known"]] + ([raw["phone_agrees"]] if supplied else [])
    stats = SessionStats(passed_in_session=raw["passed_in_session"], attempts_in_session=raw["attempts_in_session"],
                         passed_recent=raw["passed_recent"], attempts_recent=raw["attempts_recent"],
                         minutes_since_strong=raw["minutes_since_strong"],
                         identity_match=sum(checks) / len(checks), recent_failures=raw["recent_failures"])
    return build_features(Operation(raw["operation"]), ctx, profile, stats, now, payee_known=raw["payee_known"],
                          geo_distance_km=raw["geo_distance_km"], network_usual=raw["network_usual"],
                          ip_prefix_known=raw["ip_prefix_known"], ip_risky=raw["ip_risky"])


def generate(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rows, y = raw_population(n, seed)
    X = np.asarray([features_of(r) for r in rows], dtype=np.float32)
    return X, y


def load_feedback(path: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """Labelled decisions exported by ``export-feedback`` (JSON lines ``{"features": [...], "label": ...}``)."""
    if path is None:
        return np.zeros((0, N_FEATURES), dtype=np.float32), np.zeros(0, dtype=np.int64)
    X, y = [], []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if len(row["features"]) != N_FEATURES or row["label"] not in ("FRAUD", "LEGITIMATE"):
            raise ValueError(f"feedback row does not fit the model: {line[:80]}")
        X.append(row["features"])
        y.append(1 if row["label"] == "LEGITIMATE" else 0)
    return np.asarray(X, dtype=np.float32).reshape(-1, N_FEATURES), np.asarray(y, dtype=np.int64)


def fit(n: int, seed: int, feedback: Path | None = None) -> tuple[GradientBoostingClassifier, dict[str, np.ndarray]]:
    X, y = generate(n, seed)
    cut1, cut2 = int(n * 0.6), int(n * 0.8)
    Xf, yf = load_feedback(feedback)
    X_train = np.vstack([X[:cut1], Xf])
    y_train = np.concatenate([y[:cut1], yf])
    weights = np.concatenate([np.ones(cut1), np.full(len(yf), FEEDBACK_WEIGHT)])
    model = GradientBoostingClassifier(random_state=seed, **HYPERPARAMETERS)
    model.fit(X_train, y_train, sample_weight=weights)
    return model, {"X_val": X[cut1:cut2], "y_val": y[cut1:cut2], "X_test": X[cut2:], "y_test": y[cut2:],
                   "y_train": y_train, "feedback_rows": np.asarray([len(yf)])}


def choose_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """Lowest threshold (0.005 grid, at least 0.5) at which at most ``MAX_TAKEOVER_PASS`` of the takeovers
    would score as safe: the model's fraud pass-through."""
    takeovers = y == 0
    for t in np.round(np.arange(0.5, 0.996, 0.005), 3):
        if float((p[takeovers] >= t).mean()) <= MAX_TAKEOVER_PASS:
            return float(t)
    return 0.995


def to_onnx(model: GradientBoostingClassifier) -> bytes:
    onx = convert_sklearn(model, name=MODEL, initial_types=[("features", FloatTensorType([None, N_FEATURES]))],
                          options={id(model): {"zipmap": False}}, target_opset=TARGET_OPSET)
    onx.doc_string = "Feasibility of verification-free operations; see FEASIBILITY_MODEL_CARD.md"
    return bytes(onx.SerializeToString())


def train(n: int, seed: int, out_dir: Path, feedback: Path | None = None) -> Result:
    model, d = fit(n, seed, feedback)
    threshold = choose_threshold(d["y_val"], model.predict_proba(d["X_val"])[:, 1])
    y, p = d["y_test"], model.predict_proba(d["X_test"])[:, 1]
    ece, table = expected_calibration_error(y, p)
    above = p >= threshold
    blob = to_onnx(model)
    sha = hashlib.sha256(blob).hexdigest()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{MODEL}.onnx").write_bytes(blob)
    metrics = {
        "auc": roc_auc_score(y, p), "ece": ece, "brier": brier_score_loss(y, p), "log_loss": log_loss(y, p),
        "share_eligible": float(above.mean()),
        "fraud_share_of_eligible": float((y[above] == 0).mean()) if above.any() else 0.0,
        "takeovers_eligible": float((above & (y == 0)).sum() / max(1, (y == 0).sum())),
    }
    return Result(version=f"{MODEL}-gbt-{sha[:12]}", file=f"{MODEL}.onnx", sha256=sha, seed=seed, n_samples=n,
                  prevalence_safe=float(d["y_train"].mean()), threshold=threshold,
                  metrics={k: round(float(v), 4) for k, v in metrics.items()}, calibration=table,
                  feedback_rows=int(d["feedback_rows"][0]))


def write_outputs(result: Result, out_dir: Path, policy_path: Path = POLICY) -> None:
    manifest_path = out_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    manifest[MODEL] = asdict(result)
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    (out_dir / "FEASIBILITY_MODEL_CARD.md").write_text(model_card(result))
    if policy_path.is_file():  # the policy's model threshold is the one measured here
        policy = read_policy(policy_path)
        policy["model"] = {"name": MODEL, "threshold": result.threshold}
        write_policy(policy, policy_path)


def model_card(r: Result) -> str:
    m = r.metrics
    lines = [
        "# Feasibility model (adaptive verification, SPEC §4): model card",
        "",
        "Generated by `python -m training.feasibility` (`make train`); do not edit by hand.",
        "",
        "**Intended use.** Predict whether skipping verification is safe for a trigger (login, payment, account "
        "update, first use after a binding), from the verification information of the session and the trigger's "
        "context. A verification is skipped only when the score clears the threshold AND one of the policy's "
        "exemption rules holds AND no risk is above the policy's exemption level; the model alone never skips one, "
        "and ACCOUNT_UPDATE / BINDING_FIRST_USE are never exempt.",
        "",
        "**Data.** Synthetic triggers generated by the script (owners vs account takeovers, distributions in the "
        "module docstring); no real user data. Labelled feedback rows used: "
        f"{r.feedback_rows}.",
        "",
        f"**Model.** scikit-learn GradientBoostingClassifier {json.dumps(r.hyperparameters)}, exported to ONNX "
        f"(float32, opset {TARGET_OPSET}); version `{r.version}` (sha256 `{r.sha256[:16]}…`), seed {r.seed}, "
        f"{r.n_samples} triggers (60/20/20 train/validation/test), P(owner) in training {r.prevalence_safe:.3f}.",
        "",
        "## Quality (test split)",
        "",
        "| metric | value |",
        "| --- | --- |",
        f"| AUC | {m['auc']:.4f} |",
        f"| ECE (10 bins) | {m['ece']:.4f} |",
        f"| Brier | {m['brier']:.4f} |",
        f"| log loss | {m['log_loss']:.4f} |",
        f"| threshold (validation: <= {MAX_TAKEOVER_PASS:.0%} of takeovers eligible) | {r.threshold:.3f} |",
        f"| share of triggers eligible at the threshold | {m['share_eligible']:.4f} |",
        f"| takeovers among eligible | {m['fraud_share_of_eligible']:.4f} |",
        f"| share of takeovers eligible | {m['takeovers_eligible']:.4f} |",
        "",
        "## Calibration (test split)",
        "",
        "| score bin | n | mean predicted | observed P(owner) |",
        "| --- | --- | --- | --- |",
        *(f"| {c['bin']} | {c['n']} | {c['mean_predicted']:.4f} | {c['observed_rate']:.4f} |" for c in r.calibration),
        "",
        "## Features",
        "",
        ", ".join(f"`{f}`" for f in r.features),
        "",
        "**Limits.** Synthetic distributions stand in for real ones: retrain with exported feedback labels "
        "before relying on the figures; the threshold is copied into the policy document (a test keeps them "
        "equal).",
        "",
    ]
    return "\n".join(lines)


def export_feedback(table: str, out: Path) -> int:
    """Labelled decisions of the Verifications table as training rows (features and label; no personal data)."""
    import boto3

    from shared.dynamo import from_item

    client = boto3.client("dynamodb")
    rows, kwargs = [], {"TableName": table, "FilterExpression": "begins_with(pk, :v) AND attribute_exists(label)",
                        "ExpressionAttributeValues": {":v": {"S": "VER#"}}}
    while True:
        page = client.scan(**kwargs)
        for item in page.get("Items", []):
            data = from_item(item)
            features = ((data.get("outcome") or {}).get("feasibility") or {}).get("features")
            if features and len(features) == N_FEATURES:
                rows.append(json.dumps({"features": features, "label": data["label"]}))
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    out.write_text("\n".join(rows) + ("\n" if rows else ""))
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.feasibility", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    p_export = sub.add_parser("export-feedback", help="write labelled decisions as JSON lines")
    p_export.add_argument("--table", required=True)
    p_export.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--n", type=int, default=40_000)
    parser.add_argument("--feedback", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.command == "export-feedback":
        print(f"wrote {export_feedback(args.table, args.out)} labelled rows to {args.out}")
        return 0
    r = train(args.n, args.seed, args.out, args.feedback)
    write_outputs(r, args.out)
    print(f"feasibility: {r.version} AUC={r.metrics['auc']:.4f} ECE={r.metrics['ece']:.4f} "
          f"threshold={r.threshold:.3f} eligible={r.metrics['share_eligible']:.3f} "
          f"fraud-of-eligible={r.metrics['fraud_share_of_eligible']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
