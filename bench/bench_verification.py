"""Adaptive verification (SPEC §4): decision latency against a bare request of the same shape, and the feasibility
model per row against the same model in scikit-learn. Every ratio is measured in one run, interleaved.

* ``engine``: ``DecisionService.outcome`` (profile and history reads on in-memory fakes, IP ranges, the feature
  builder, the real ONNX model, every rule) vs the bare path of the same shape: the same trigger context and
  decision record built with no risk work (µs per decision, ratio of medians).
* ``api``: ``POST /verifications`` (idempotency, the profile from the ledger's account and entries, the history,
  the ONNX model, the record put) vs ``POST /bench/verifications`` (``bench/baseline/verification_template.yaml``:
  the same request model, headers, idempotency middleware, one record put, the same response model; no risk
  work), over HTTP with keep-alive, alternating, fresh Idempotency-Key each (ms p50/p95, ratio of p50s).
* ``model``: the feasibility model (a freshly fitted one, ``training.feasibility.fit``) on one row per call and
  per row in a batch of 1,000: onnxruntime vs scikit-learn ``predict_proba``.

``BENCH_N`` (default 200) sets the HTTP samples of each kind.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one BLAS thread, as a Lambda below 1769 MB has

import numpy as np

from bench.bench_api_latency import Client, pct, quiet_stdout
from local_stack import LocalStack
from shared.signals.adapters import DEFAULT_IP_LISTS, CidrReputation
from shared.types import Money
from shared.verification.adapters import OnnxFeasibilityModel, SignalsIpReputation
from shared.verification.models import (
    Decision,
    Level,
    NetworkType,
    Operation,
    Outcome,
    Risk,
    RiskScore,
    Status,
    TriggerContext,
    Verification,
)
from shared.verification.services import DecisionService

BASELINE = Path(__file__).resolve().parent / "baseline" / "verification_template.yaml"


class IpLists:
    """The risk signals' IP lists, as ``SignalsReader.ip_reputation`` reads them (no table involved)."""

    lists = CidrReputation(DEFAULT_IP_LISTS)

    def ip_reputation(self, ip: str):  # type: ignore[no-untyped-def]
        return self.lists.lookup(ip)


def engine(n: int = 3000) -> None:
    from tests.verification.fakes import World

    world = World()
    world.user("alice")
    deps = world.deps()
    service = DecisionService(deps.__class__(**{**deps.__dict__, "model": OnnxFeasibilityModel(),
                                                "ip_reputation": SignalsIpReputation(IpLists())}))
    ctx = TriggerContext(device_id="dev-1", header_device_id="dev-1", network=NetworkType.WIFI, session_id="s",
                         source_ip="10.0.0.8", amount=Money(amount=68_000, currency="CNY"), payee_account_id="acc_b")
    zero = RiskScore(score=0.0, level=Level.LOW)
    policy = world.policy
    service.outcome("alice", Operation.PAYMENT, ctx, policy, world.store.history("alice"))  # warm the session
    decided, bare = [], []
    for _ in range(n):
        t = time.perf_counter()
        outcome = service.outcome("alice", Operation.PAYMENT, ctx, policy, world.store.history("alice"))
        service.record("alice", Operation.PAYMENT, ctx, outcome, policy)
        decided.append((time.perf_counter() - t) * 1e6)
        t = time.perf_counter()
        now = world.clock()
        Verification(verification_id="ver_x", owner="alice", operation=Operation.PAYMENT, device_id=ctx.device_id,
                     outcome=Outcome(decision=Decision.CHALLENGE, risk=Risk(account=zero, network=zero),
                                     policy_version="bare"),
                     status=Status.OPEN, created_at=now, expires_at=now + timedelta(minutes=10))
        bare.append((time.perf_counter() - t) * 1e6)
    d, b = statistics.median(decided), statistics.median(bare)
    print(f"engine decision      {d:8.1f} µs p50, p95 {pct(decided, 95):.1f} µs   (n={n}; model, rules, record)")
    print(f"bare record          {b:8.1f} µs p50   (same shape, no risk work)")
    print(f"ratio engine/bare p50: {d / b:.2f}")


def api(n: int) -> None:
    with quiet_stdout(), LocalStack(api_port=0, time_scale=0.001, schedules=False) as stack:
        stack.attach(BASELINE)
        client = Client(stack.gateway.url)
        sub = f"bench-{uuid.uuid4().hex[:8]}"
        token = stack.token(sub)
        status, body = client.call("POST", "/accounts", token, {}, str(uuid.uuid4()))
        assert status == 201, body
        trigger = {"operation": "PAYMENT", "context": {"device_id": "dev-bench", "network": "WIFI",
                                                        "amount": {"amount": 680_000, "currency": "CNY"},
                                                        "payee_account_id": "acc_0123456789abcdef0123456789abcdef"}}
        real, bare = [], []
        for i in range(n + 10):
            t = time.perf_counter()
            status, body = client.call("POST", "/verifications", token, trigger, str(uuid.uuid4()))
            r = (time.perf_counter() - t) * 1000
            assert status == 201, body
            t = time.perf_counter()
            status, body = client.call("POST", "/bench/verifications", token, trigger, str(uuid.uuid4()))
            b = (time.perf_counter() - t) * 1000
            assert status == 201, body
            if i >= 10:  # warm-up: cold imports, the ONNX session
                real.append(r)
                bare.append(b)
    rp, bp = statistics.median(real), statistics.median(bare)
    print(f"POST /verifications  {rp:8.2f} ms p50, p95 {pct(real, 95):.2f} ms   (n={len(real)})")
    print(f"bare twin            {bp:8.2f} ms p50, p95 {pct(bare, 95):.2f} ms   (same run, interleaved)")
    print(f"ratio decision/bare p50: {rp / bp:.2f}")


def model(calls: int = 3000, batch: int = 1000) -> None:
    import onnxruntime as ort

    from training import feasibility

    fitted, data = feasibility.fit(4000, seed=5)
    session = ort.InferenceSession(feasibility.to_onnx(fitted), providers=["CPUExecutionProvider"],
                                   sess_options=_one_thread(ort))
    X = data["X_test"]
    rows = [X[i % len(X)][None, :] for i in range(calls)]
    onnx_one, sk_one = [], []
    for row in rows:
        t = time.perf_counter()
        session.run(["probabilities"], {"features": row})
        onnx_one.append((time.perf_counter() - t) * 1e6)
        t = time.perf_counter()
        fitted.predict_proba(row)
        sk_one.append((time.perf_counter() - t) * 1e6)
    block = np.ascontiguousarray(np.resize(X, (batch, X.shape[1])), dtype=np.float32)
    t = time.perf_counter()
    for _ in range(20):
        session.run(["probabilities"], {"features": block})
    onnx_batch = (time.perf_counter() - t) / (20 * batch) * 1e6
    t = time.perf_counter()
    for _ in range(20):
        fitted.predict_proba(block)
    sk_batch = (time.perf_counter() - t) / (20 * batch) * 1e6
    o, s = statistics.median(onnx_one), statistics.median(sk_one)
    print(f"model, one row       onnxruntime {o:7.1f} µs p50  scikit-learn {s:7.1f} µs p50  ratio sk/onnx {s / o:.1f}")
    print(f"model, batch {batch}  onnxruntime {onnx_batch:7.2f} µs/row  scikit-learn {sk_batch:7.2f} µs/row  "
          f"ratio sk/onnx {sk_batch / onnx_batch:.1f}")


def _one_thread(ort: object) -> object:
    options = ort.SessionOptions()  # type: ignore[attr-defined]
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return options


def main() -> None:
    model()
    engine()
    api(int(os.environ.get("BENCH_N", "200")))


if __name__ == "__main__":
    main()
