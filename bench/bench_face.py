"""Face (SPEC §5): the pipeline's overhead over the two models, and 1:N search over a numpy floor.

1. **Per selfie**: ``FaceService.analyze_selfie`` (decode with limits and EXIF, letterbox, YuNet, output
   decoding + NMS, gates, Umeyama alignment, blur measure, SFace, L2 normalisation) vs the two models' raw
   inference on the same inputs (the 640x640 letterboxed tensor and the 112x112 aligned tensor, prepared
   outside the timed region), interleaved photo by photo, median per photo, summed over the package photos.
   Goal <= 1.3x (CPU time; wall printed beside it).
2. **1:N search**: ``matching.search`` (normalise the probe, scores, best, best of another identity,
   threshold and margin, the audit record) over N = 1k, 10k, 100k L2-normalised float32 candidates vs the
   plain numpy floor ``candidates @ probe``, interleaved. Goal <= 1.5x. The candidates' decryption (envelope
   encryption, per request) comes with the HTTP flow and is not part of this figure.
"""

from __future__ import annotations

import os

# One BLAS thread, set before numpy loads: a Lambda below 1769 MB has one vCPU, and on this shared 2-core
# machine a second OpenBLAS thread turned a 10k-row product from 0.05 ms into 12-16 ms at random.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import io
import statistics
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

from shared.face import imaging, matching
from shared.face.service import FaceService
from shared.face.settings import FaceSettings
from shared.face.wiring import face_models
from training.face_data import PHOTOS, ensure_photos

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _measure(fn: Callable[[], object]) -> tuple[float, float]:
    w0, c0 = _clock()
    fn()
    w1, c1 = _clock()
    return (w1 - w0) * 1000, (c1 - c0) * 1000


def per_selfie() -> tuple[float, float]:
    service = FaceService(face_models(), FaceSettings())
    models = service.models
    files = ensure_photos()
    cases = []
    for photo in PHOTOS:
        data = files[photo.name].read_bytes()
        if photo.name == "astronaut":  # a PNG of 0.8 MB: phones send JPEG
            buffer = io.BytesIO()
            Image.open(io.BytesIO(data)).convert("RGB").save(buffer, format="JPEG", quality=90)
            data = buffer.getvalue()
        decoded = service.decode_selfie(data)
        tensor, _ = imaging.letterbox(decoded.image)
        face = service.analyze(decoded).face
        aligned = imaging.to_embedder_input(imaging.align(decoded.image, np.asarray(face.landmarks)))
        cases.append((photo.name, data, tensor, aligned))

    def raw(t: np.ndarray, a: np.ndarray) -> None:
        models.detect(t)
        models.embed(a)

    for _, data, tensor, aligned in cases:  # warm-up
        raw(tensor, aligned)
        service.analyze_selfie(data)
    samples: dict[str, dict[str, list[tuple[float, float]]]] = {c[0]: {"raw": [], "pipe": []} for c in cases}
    for r in range(ROUNDS):
        for name, data, tensor, aligned in cases:
            order = [("raw", lambda t=tensor, a=aligned: raw(t, a)),
                     ("pipe", lambda d=data: service.analyze_selfie(d))]
            for kind, fn in order if r % 2 else order[::-1]:
                samples[name][kind].append(_measure(fn))
    print(f"per selfie, median of {ROUNDS} rounds (ms): raw = YuNet + SFace inference; pipeline = analyze_selfie")
    print(f"  {'photo':14} {'bytes':>8} {'size':>11} {'raw wall':>9} {'pipe wall':>10} {'raw cpu':>8} {'pipe cpu':>9}")
    totals = {"raw": [0.0, 0.0], "pipe": [0.0, 0.0]}
    for name, data, _, _ in cases:
        row = {}
        for kind in ("raw", "pipe"):
            wall = statistics.median(s[0] for s in samples[name][kind])
            cpu = statistics.median(s[1] for s in samples[name][kind])
            totals[kind][0] += wall
            totals[kind][1] += cpu
            row[kind] = (wall, cpu)
        size = Image.open(io.BytesIO(data)).size
        print(f"  {name:14} {len(data):8} {size[0]:>5}x{size[1]:<5} {row['raw'][0]:9.1f} {row['pipe'][0]:10.1f} "
              f"{row['raw'][1]:8.1f} {row['pipe'][1]:9.1f}")
    wall_ratio = totals["pipe"][0] / totals["raw"][0]
    cpu_ratio = totals["pipe"][1] / totals["raw"][1]
    n = len(cases)
    print(f"  mean per selfie: raw {totals['raw'][1] / n:.1f} ms CPU, pipeline {totals['pipe'][1] / n:.1f} ms CPU")
    print(f"  ratio pipeline / raw inference: CPU {cpu_ratio:.2f}x, wall {wall_ratio:.2f}x  (goal <= 1.3x) "
          f"{'OK' if cpu_ratio <= 1.3 else 'OVER'}")
    return cpu_ratio, wall_ratio


def search_scaling() -> dict[int, float]:
    rng = np.random.default_rng(7)
    probe = rng.normal(size=128).astype(np.float32)
    probe /= np.linalg.norm(probe)
    ratios = {}
    print("1:N search, median of interleaved samples (us): floor = candidates @ probe")
    for n in (1_000, 10_000, 100_000):
        cands = rng.normal(size=(n, 128)).astype(np.float32)
        cands /= np.linalg.norm(cands, axis=1, keepdims=True)
        ids = [f"id{i // 2}" for i in range(n)]  # two enrolled photos per identity

        def ours(c: np.ndarray = cands, i: list[str] = ids) -> object:
            return matching.search(probe, c, i, threshold=0.47, margin=0.2, model_version="bench")

        def floor(c: np.ndarray = cands) -> object:
            return c @ probe

        reps = max(50, 200_000 // n)
        for _ in range(20):
            ours()
            floor()
        a, b = [], []
        for k in range(reps):
            for kind, fn in ((("ours", ours), ("floor", floor)) if k % 2 else (("floor", floor), ("ours", ours))):
                t = time.perf_counter_ns()
                fn()
                (a if kind == "ours" else b).append(time.perf_counter_ns() - t)
        ours_us, floor_us = statistics.median(a) / 1000, statistics.median(b) / 1000
        ratios[n] = ours_us / floor_us
        print(f"  N={n:>7,}: search {ours_us:8.1f} us, floor {floor_us:8.1f} us, ratio {ratios[n]:.2f}x "
              f"(goal <= 1.5x) {'OK' if ratios[n] <= 1.5 else 'OVER'}")
    return ratios


def main() -> None:
    print(f"onnxruntime threads: {FaceSettings().face_onnx_threads}; "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    per_selfie()
    search_scaling()


if __name__ == "__main__":
    main()
