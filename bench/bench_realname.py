"""Real-name (§5) figures beside bench_face's:

* **Cold start of a face function**: a fresh process importing ``CreateRealNameSessionFunction``'s handler with its
  template environment *and* creating the two ONNX sessions (what its first request pays), versus the minimal
  Powertools handler plus ``import onnxruntime`` and the same two ``InferenceSession``s (the floor of any
  function that runs these models). CPU time of the child, median of ``BENCH_ROUNDS`` (default 5). Goal <= 1.2x.
* **Decryption cost per 1:N request**: N envelope-encrypted embeddings (``shared.crypto.EnvelopeCipher``, one
  data key per container) decrypted by a fresh container (one ``Decrypt`` for the data key, then AES-GCM per
  value), beside the 1:N search over the decrypted matrix. KMS is an in-process stand-in (its latency is not
  this code's; one call is paid per distinct data key).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from local_stack.template import REGION, ROOT, Template
from shared.crypto import EnvelopeCipher
from shared.face.encoding import embedding_from_bytes, embedding_to_bytes
from shared.face.matching import search

MODELS = ROOT / "layers" / "model" / "models"
CHILD_HANDLER = """
import importlib, sys, time
c0 = time.process_time()
importlib.import_module(sys.argv[1])
from shared.face.wiring import face_models
face_models(str(sys.argv[2])).warm_up()
print(time.process_time() - c0)
"""
CHILD_FLOOR = """
import importlib, sys, time, json
c0 = time.process_time()
importlib.import_module("bench.baseline.minimal_handler")
import onnxruntime as ort
d = sys.argv[2]
m = json.load(open(d + "/manifest.json"))
o = ort.SessionOptions(); o.intra_op_num_threads = 1; o.inter_op_num_threads = 1
for role in ("face_detector", "face_embedder"):
    ort.InferenceSession(d + "/" + m[role]["file"], sess_options=o, providers=["CPUExecutionProvider"])
print(time.process_time() - c0)
"""


def cold_start(rounds: int) -> tuple[float, float]:
    spec = Template().functions()["CreateRealNameSessionFunction"]
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "AWS_DEFAULT_REGION": REGION,
           "AWS_REGION": REGION, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_LAMBDA_FUNCTION_NAME": "bench", **spec.environment}
    ours, floor = [], []
    for _ in range(rounds):
        for code, out in ((CHILD_HANDLER, ours), (CHILD_FLOOR, floor)):
            res = subprocess.run([sys.executable, "-c", code, spec.module_name, str(MODELS)], env=env,
                                 capture_output=True, text=True, check=True, cwd=ROOT)
            out.append(float(res.stdout.strip().splitlines()[-1]) * 1000)
    return statistics.median(ours), statistics.median(floor)


class _Kms:
    """In-process KMS stand-in: wraps data keys with a fixed AES-GCM key."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.master = AESGCM(os.urandom(32))
        self.calls = 0

    def generate_data_key(self, **_: object) -> dict[str, bytes]:
        self.calls += 1
        key, nonce = os.urandom(32), os.urandom(12)
        return {"Plaintext": key, "CiphertextBlob": nonce + self.master.encrypt(nonce, key, None)}

    def decrypt(self, CiphertextBlob: bytes, **_: object) -> dict[str, bytes]:
        self.calls += 1
        return {"Plaintext": self.master.decrypt(CiphertextBlob[:12], CiphertextBlob[12:], None)}


def decryption(n: int, repeats: int = 3) -> tuple[float, float, int]:
    kms = _Kms()
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((n, 128)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    writer = EnvelopeCipher("bench-key", "bench", client=kms)
    sealed = [writer.encrypt(embedding_to_bytes(v.tolist()), {"kind": "bench", "i": str(i)})
              for i, v in enumerate(vectors)]
    ids = [str(i) for i in range(n)]
    dec_times, search_times, calls = [], [], 0
    for _ in range(repeats):
        reader = EnvelopeCipher("bench-key", "bench", client=kms)  # a fresh container: no cached data key
        before = kms.calls
        t0 = time.perf_counter()
        matrix = np.asarray([embedding_from_bytes(reader.decrypt(s, {"kind": "bench", "i": str(i)}))
                             for i, s in enumerate(sealed)], dtype=np.float32)
        t1 = time.perf_counter()
        search(matrix[0], matrix, ids, threshold=0.45, margin=0.2, model_version="bench")
        t2 = time.perf_counter()
        calls = kms.calls - before
        dec_times.append((t1 - t0) * 1000)
        search_times.append((t2 - t1) * 1000)
    return statistics.median(dec_times), statistics.median(search_times), calls


def main() -> None:
    rounds = max(3, int(os.environ.get("BENCH_ROUNDS", "5")))
    ours, floor = cold_start(rounds)
    print(f"cold start (CPU, median of {rounds}): CreateRealNameSessionFunction import + ONNX sessions "
          f"{ours:.0f} ms vs minimal handler + onnxruntime + sessions {floor:.0f} ms: "
          f"{ours / floor:.2f}x (goal <= 1.2x)")
    print(json.dumps({"cold_start_ms": round(ours), "floor_ms": round(floor), "ratio": round(ours / floor, 3)}))
    for n in (1_000, 10_000):
        dec, srch, calls = decryption(n)
        print(f"1:N over {n:>6} sealed embeddings: decrypt {dec:8.1f} ms ({dec / n * 1000:.1f} us each, "
              f"{calls} KMS call), search {srch:6.2f} ms")


if __name__ == "__main__":
    main()
