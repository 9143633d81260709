"""Cold start of every handler in template.yaml, as a ratio to a minimal Powertools REST handler.

Each sample is a fresh ``python3.13`` process that imports one handler module
with that function's template environment (plus dummy AWS region/credentials;
no emulator is needed to import). Inside the child we time:

* ``import``: from just before the handler-module import to just after it
  (what Lambda's init phase runs);
* ``init``: ``import`` plus creating the DynamoDB client. The baseline creates
  its client at import; our handlers create theirs lazily on the first request
  (``shared.aws``), which a cold request pays all the same, so ``init`` is the
  like-for-like figure and the one judged against the target;

and, from the parent, the whole-process wall time (interpreter start included).

The baseline (``bench/baseline/minimal_handler.py``) is measured in the same
run, interleaved with the handlers, median of ``BENCH_ROUNDS`` (default 9)
processes each. Target: each handler's ``init`` <= 1.2 x the baseline's.

Also measured: the Tracer question, i.e. the baseline + ``Tracer()`` and one of
our handlers with ``TRACER_ENABLED=true`` versus the default (false).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

from local_stack.template import REGION, ROOT, Template

TARGET = 1.2
BASELINE_MODULE = "bench.baseline.minimal_handler"

# Runs inside the fresh process. The last stdout line is the result.
CHILD = """
import importlib, json, sys, time
t0 = time.perf_counter()
importlib.import_module(sys.argv[1])
t1 = time.perf_counter()
if "shared.aws" in sys.modules:  # our handlers: the client the first request creates
    sys.modules["shared.aws"].dynamodb()
t2 = time.perf_counter()
print(json.dumps({"import": (t1 - t0) * 1000, "init": (t2 - t0) * 1000}))
"""

# What every child gets besides the function's environment: dummy AWS, nothing from this shell.
BASE_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "LANG": "C.UTF-8",
    "PYTHONPATH": str(ROOT),
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
}


@dataclass
class Target:
    label: str
    module: str
    env: dict[str, str]
    samples: dict[str, list[float]] = field(default_factory=lambda: {"import": [], "init": [], "process": []})

    def median(self, metric: str) -> float:
        return statistics.median(self.samples[metric])


def run_child(target: Target) -> dict[str, float]:
    env = {**BASE_ENV, **target.env}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, target.module], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=False)
    wall = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise RuntimeError(f"{target.label}: importing {target.module} failed:\n{proc.stderr[-2000:]}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process"] = wall
    return result


def targets(template: Template) -> tuple[list[Target], Target, Target, Target]:
    """(every template function, baseline, baseline + Tracer, one handler with TRACER_ENABLED=true)."""
    common = template.common_environment()
    baseline = Target("baseline (minimal Powertools)", BASELINE_MODULE, {**common, "BASELINE_TRACER": "false"})
    baseline_tracer = Target("baseline + Tracer()", BASELINE_MODULE, {**common, "BASELINE_TRACER": "true"})
    functions = [
        Target(lid, spec.module_name, {**spec.environment, "AWS_LAMBDA_FUNCTION_NAME": lid})
        for lid, spec in template.functions().items()
    ]
    probe = next((f for f in functions if f.label == "GetMyAccountFunction"), functions[0])
    traced = Target(f"{probe.label} TRACER_ENABLED=true", probe.module, {**probe.env, "TRACER_ENABLED": "true"})
    return functions, baseline, baseline_tracer, traced


def measure(all_targets: list[Target], rounds: int) -> None:
    for target in all_targets:  # warm-up: byte-code caches and the OS page cache, not counted
        run_child(target)
    for r in range(rounds):
        shift = r % len(all_targets)  # rotate the order so no target always runs first
        for target in all_targets[shift:] + all_targets[:shift]:
            for metric, value in run_child(target).items():
                target.samples[metric].append(value)


def main() -> None:
    rounds = max(7, int(os.environ.get("BENCH_ROUNDS", "9")))
    template = Template()
    functions, baseline, baseline_tracer, traced = targets(template)
    all_targets = [baseline, *functions, baseline_tracer, traced]
    print(f"python {sys.version.split()[0]} ({sys.executable}); {os.cpu_count()} cores; "
          f"load {os.getloadavg()[0]:.2f}; {len(functions)} functions from template.yaml; "
          f"median of {rounds} fresh processes each, interleaved")
    started = time.perf_counter()
    measure(all_targets, rounds)

    base_init, base_import, base_proc = (baseline.median(m) for m in ("init", "import", "process"))
    header = (f"{'function':<38} {'import ms':>9} {'init ms':>8} {'ratio':>6} {'process ms':>10} {'ratio':>6}  "
              f"verdict (init <= {TARGET}x)")
    print(header)
    print("-" * len(header))

    def row(t: Target, verdict: str) -> None:
        print(f"{t.label:<38} {t.median('import'):>9.0f} {t.median('init'):>8.0f} "
              f"{t.median('init') / base_init:>5.2f}x {t.median('process'):>10.0f} "
              f"{t.median('process') / base_proc:>5.2f}x  {verdict}")

    row(baseline, "baseline")
    over = []
    for t in functions:
        ok = t.median("init") / base_init <= TARGET
        if not ok:
            over.append(t.label)
        row(t, "PASS" if ok else "OVER TARGET")

    print("\nTracer question (X-Ray SDK import + Tracer()):")
    probe = next(f for f in functions if f.module == traced.module)
    for label, without, with_ in (
        ("baseline", baseline, baseline_tracer),
        (probe.label, probe, traced),
    ):
        a, b = without.median("init"), with_.median("init")
        print(f"  {label:<36} without {a:>5.0f} ms, with {b:>5.0f} ms: +{b - a:.0f} ms ({b / a:.2f}x)")
    print(f"  our handlers run with TRACER_ENABLED={functions[0].env.get('TRACER_ENABLED', 'unset')} by default "
          "(template parameter TracerEnabled); Lambda active tracing stays on.")
    print(f"\nbaseline init {base_init:.0f} ms (import {base_import:.0f} ms, process {base_proc:.0f} ms); "
          f"{'all functions within target' if not over else 'over target: ' + ', '.join(over)}; "
          f"took {time.perf_counter() - started:.0f} s")
