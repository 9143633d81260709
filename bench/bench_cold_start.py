"""Cold start of every handler in template.yaml, as a ratio to a minimal Powertools REST handler.

Each sample is a fresh ``python3.13`` process that imports one handler module
with that function's template environment (plus dummy AWS region/credentials;
no emulator is needed to import). Inside the child we time:

* ``import``: from just before the handler-module import to just after it
  (what Lambda's init phase runs);
* ``init``: ``import`` plus creating the DynamoDB client. The baseline creates
  its client at import; our handlers create theirs lazily on the first request
  (``shared.aws``), which a cold request pays all the same, so ``init`` is the
  like-for-like figure;

each both as wall time and as the child's CPU time, and, from the parent, the
whole-process wall time (interpreter start and exit included).

The verdict uses the CPU time of ``init``: this machine has 2 cores shared
with other work, and wall time there measures the neighbours as much as the
code (the wall ratio is printed next to it; on a quiet machine they agree).
Lambda's init is CPU-bound too (its CPU share scales with memory).

The baseline (``bench/baseline/minimal_handler.py``) is measured in the same
run, interleaved with the handlers, median of ``BENCH_ROUNDS`` (default and
minimum 7) processes each. Target: each handler <= 1.2 x the baseline.
Functions over the target get an ``-X importtime`` breakdown of what they
import beyond the baseline. A function that fails to import is reported, not
fatal. ``BENCH_FUNCTIONS=Account,Transfer`` limits the run to the functions
whose logical id contains one of those substrings.

Also measured: the Tracer question, i.e. the baseline + ``Tracer()`` and one of
our handlers with ``TRACER_ENABLED=true`` versus the default (false).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field

from local_stack.template import REGION, ROOT, Template

TARGET = 1.2
BASELINE_MODULE = "bench.baseline.minimal_handler"
METRICS = ("import", "init", "init_cpu", "process")

# Runs inside the fresh process. The last stdout line is the result.
CHILD = """
import importlib, json, sys, time
c0, t0 = time.process_time(), time.perf_counter()
importlib.import_module(sys.argv[1])
t1 = time.perf_counter()
if "shared.aws" in sys.modules:  # our handlers: the client the first request creates
    sys.modules["shared.aws"].dynamodb()
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"import": (t1 - t0) * 1000, "init": (t2 - t0) * 1000, "init_cpu": (c2 - c0) * 1000}))
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
    samples: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METRICS})
    error: str | None = None

    def median(self, metric: str) -> float:
        return statistics.median(self.samples[metric])


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_child(target: Target, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *extra, "-c", CHILD, target.module], env={**BASE_ENV, **target.env},
                          cwd=ROOT, capture_output=True, text=True, check=False)


def sample(target: Target) -> None:
    if target.error:
        return
    start = time.perf_counter()
    proc = run_child(target)
    wall = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        target.error = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
        return
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process"] = wall
    for metric, value in result.items():
        target.samples[metric].append(value)


def import_times(target: Target) -> dict[str, float]:
    """Self import time (ms) of every module ``target`` imports, from ``-X importtime``."""
    proc = run_child(target, "-X", "importtime")
    out: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            self_us, _, name = line.removeprefix("import time:").split("|")
            if self_us.strip().isdigit():
                out[name.strip()] = int(self_us) / 1000
    return out


def beyond_baseline(target: Target, baseline: dict[str, float], top: int = 5) -> str:
    """The heaviest top-level packages ``target`` imports that the baseline does not."""
    extra: dict[str, float] = defaultdict(float)
    for name, ms in import_times(target).items():
        if name not in baseline:
            extra[name.split(".")[0]] += ms
    heaviest = sorted(extra.items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(f"{pkg} {ms:.0f} ms" for pkg, ms in heaviest) or "nothing"


def targets(template: Template) -> tuple[list[Target], Target, Target, Target]:
    """(every template function, baseline, baseline + Tracer, one handler with TRACER_ENABLED=true)."""
    common = template.common_environment()
    baseline = Target("baseline (minimal Powertools)", BASELINE_MODULE, {**common, "BASELINE_TRACER": "false"})
    baseline_tracer = Target("baseline + Tracer()", BASELINE_MODULE, {**common, "BASELINE_TRACER": "true"})
    only = os.environ.get("BENCH_FUNCTIONS", "")  # comma-separated substrings of logical ids
    functions = [
        Target(lid, spec.module_name, {**spec.environment, "AWS_LAMBDA_FUNCTION_NAME": lid})
        for lid, spec in template.functions().items()
        if not only or any(part and part in lid for part in only.split(","))
    ]
    if not functions:
        raise SystemExit(f"no function of template.yaml matches BENCH_FUNCTIONS={only!r}")
    probe = next((f for f in functions if f.label == "GetMyAccountFunction"), functions[0])
    traced = Target(f"{probe.label} TRACER_ENABLED=true", probe.module, {**probe.env, "TRACER_ENABLED": "true"})
    return functions, baseline, baseline_tracer, traced


def measure(all_targets: list[Target], rounds: int) -> None:
    for target in all_targets:  # warm-up: byte-code caches and the OS page cache, not counted
        sample(target)
        target.samples = {m: [] for m in METRICS}
    for r in range(rounds):
        shift = r % len(all_targets)  # rotate the order so no target always runs first
        for target in all_targets[shift:] + all_targets[:shift]:
            sample(target)


def main() -> None:  # noqa: C901 - a benchmark script: set-up, each measured phase and the report, read top to bottom
    rounds = max(7, int(os.environ.get("BENCH_ROUNDS", "7")))
    template = Template()
    functions, baseline, baseline_tracer, traced = targets(template)
    all_targets = [baseline, *functions, baseline_tracer, traced]
    print(f"python {sys.version.split()[0]} ({sys.executable}); {os.cpu_count()} cores; "
          f"load {os.getloadavg()[0]:.2f}; {len(functions)} functions from template.yaml; "
          f"median of {rounds} fresh processes each, interleaved")
    started, cpu_started = time.perf_counter(), _children_cpu()
    measure(all_targets, rounds)
    if baseline.error:
        raise RuntimeError(f"the baseline does not import: {baseline.error}")

    base = {m: baseline.median(m) for m in METRICS}
    header = (f"{'function':<38} {'import':>7} {'init':>6} {'ratio':>6} {'init CPU':>8} {'ratio':>6} "
              f"{'process':>8} {'ratio':>6}  verdict (init CPU <= {TARGET}x)")
    print("all times in ms (medians); ratio = this / baseline")
    print(header)
    print("-" * len(header))

    def row(t: Target, verdict: str) -> None:
        m = {k: t.median(k) for k in METRICS}
        print(f"{t.label:<38} {m['import']:>7.0f} {m['init']:>6.0f} {m['init'] / base['init']:>5.2f}x "
              f"{m['init_cpu']:>8.0f} {m['init_cpu'] / base['init_cpu']:>5.2f}x "
              f"{m['process']:>8.0f} {m['process'] / base['process']:>5.2f}x  {verdict}")

    row(baseline, "baseline")
    over: list[Target] = []
    failed: list[Target] = []
    for t in functions:
        if t.error:
            failed.append(t)
            print(f"{t.label:<38} IMPORT FAILED: {t.error[:120]}")
            continue
        ok = t.median("init_cpu") / base["init_cpu"] <= TARGET
        if not ok:
            over.append(t)
        row(t, "PASS" if ok else "OVER TARGET")

    if over:
        print("\nimported beyond the baseline (self import time, one -X importtime run):")
        baseline_modules = import_times(baseline)
        for t in over:
            print(f"  {t.label}: {beyond_baseline(t, baseline_modules)}")

    print("\nTracer question (aws_xray_sdk import + Tracer()), init wall / CPU:")
    probe = next(f for f in functions if f.module == traced.module)
    for label, without, with_ in (("baseline", baseline, baseline_tracer), (probe.label, probe, traced)):
        if without.error or with_.error:
            print(f"  {label}: import failed ({without.error or with_.error})")
            continue
        a, b = without.median("init"), with_.median("init")
        ac, bc = without.median("init_cpu"), with_.median("init_cpu")
        print(f"  {label:<28} without {a:>4.0f} / {ac:>4.0f} ms, with {b:>4.0f} / {bc:>4.0f} ms: "
              f"+{b - a:.0f} / +{bc - ac:.0f} ms ({b / a:.2f}x / {bc / ac:.2f}x)")
    print(f"  our functions run with TRACER_ENABLED={functions[0].env.get('TRACER_ENABLED', 'unset')} "
          "(template parameter TracerEnabled); Lambda active tracing stays on.")

    verdict = "all functions within target" if not over else "over target: " + ", ".join(t.label for t in over)
    if failed:
        verdict += "; import failed: " + ", ".join(t.label for t in failed)
    print(f"\nbaseline init {base['init']:.0f} ms wall, {base['init_cpu']:.0f} ms CPU; {verdict}; "
          f"took {time.perf_counter() - started:.0f} s ({_children_cpu() - cpu_started:.0f} s CPU in children)")
