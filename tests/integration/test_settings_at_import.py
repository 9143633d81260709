"""Every handler validates its typed settings at import: a misconfigured function fails its cold start.

For each function of template.yaml, in a fresh interpreter per capability: import the handler module with
the template's environment minus one declared variable at a time. Removing all of them must fail the import
(so the function validates settings at import at all), and any failing import must name the variable that
was removed (the error says which setting is wrong). Variables with defaults may be removed without failing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict

import pytest

from local_stack.template import ROOT, Template

# Consumed by Powertools and the runtime, not by the functions' settings models.
INFRA_VARIABLES = frozenset({"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL",
                             "TRACER_ENABLED"})

PROBE = r"""
import importlib, json, os, sys
base = dict(os.environ)
results = {}
for fn in json.load(sys.stdin):
    outcome = {}
    trials = [("*", list(fn["env"]))] + [(name, [name]) for name in fn["env"]]
    for label, removed in trials:
        os.environ.clear()
        os.environ.update({k: v for k, v in {**base, **fn["env"]}.items() if k not in removed})
        for name in [m for m in sys.modules if m == fn["module"] or m.startswith(fn["module"] + ".")]:
            del sys.modules[name]
        try:
            importlib.import_module(fn["module"])
            outcome[label] = None
        except Exception as exc:  # noqa: BLE001 - the point is to see how the import fails
            outcome[label] = "".join([type(exc).__name__, ": ", str(exc), *getattr(exc, "__notes__", [])])
    results[fn["id"]] = outcome
print(json.dumps(results))
"""


def _functions_by_capability() -> dict[str, list[dict[str, object]]]:
    template = Template()
    groups: dict[str, list[dict[str, object]]] = defaultdict(list)
    for lid, spec in template.functions().items():
        env = {k: v for k, v in spec.environment.items() if k not in INFRA_VARIABLES}
        capability = spec.code_uri.resolve().relative_to(ROOT / "functions").parts[0]
        groups[capability].append({"id": lid, "module": spec.module_name, "env": env})
    return groups


CAPABILITIES = _functions_by_capability()


@pytest.mark.parametrize("capability", sorted(CAPABILITIES))
def test_handlers_validate_their_settings_at_import(capability: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_LAMBDA")}
    env.update({"PYTHONPATH": str(ROOT), "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"})
    for fn in CAPABILITIES[capability]:
        for name in fn["env"]:  # type: ignore[union-attr]
            env.pop(name, None)
    proc = subprocess.run([sys.executable, "-c", PROBE], input=json.dumps(CAPABILITIES[capability]), env=env,  # noqa: S603 - our own probe
                          capture_output=True, text=True, timeout=300, check=False, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    for lid, outcome in results.items():
        assert outcome["*"] is not None, f"{lid} imports without any of its settings: it validates nothing at start"
        assert "ValidationError" in outcome["*"], f"{lid}: {outcome['*']}"
        for name, error in outcome.items():
            if name != "*" and error is not None:
                assert name in error or name.lower() in error, f"{lid} without {name} fails without naming it: {error}"
