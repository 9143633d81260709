"""Check a ``sam build`` output the way Lambda would load it.

``python scripts/check_build.py BUILD_DIR [PYTHON]``: for every function in BUILD_DIR/template.yaml,
import its handler in a clean python3.13 (``-S``: stdlib only, no site-packages) whose path is the
function's built code dir (/var/task) plus its built layers' ``python/`` dirs (/opt/python), with the
template's environment variables resolved as the local stack resolves them. One interpreter
per set of layers imports its functions one after another. API functions must expose their resolver
as ``app``. Nothing is called and nothing touches AWS. It also prints each built layer's unzipped size.
Exit status 1 if any function fails to import or a layer exceeds its size budget (``LAYER_BUDGET_MB``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from local_stack.template import REGION, Template

LAMBDA_ENV = {"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"}
# Unzipped size budgets in MB (10^6 bytes, stricter than Lambda's MiB). ModelLayer: issue 4's goal, leaving room
# for the face models of the real-name issue within Lambda's 250 MB for a function and all its layers.
LAYER_BUDGET_MB = {"ModelLayer": 200}

# Runs in the clean interpreter: imports one function after another, each with its own code dir first on
# sys.path, its own environment and the modules of the previous function's code dir forgotten.
PROBE = r"""
import importlib, json, os, sys, traceback
base_env, results = dict(os.environ), {}
for fn in json.load(sys.stdin):
    os.environ.clear()
    os.environ.update(base_env | fn["env"])
    os.chdir(fn["dir"])
    sys.path.insert(0, fn["dir"])
    try:
        module = importlib.import_module(fn["module"])
        assert callable(getattr(module, fn["attr"], None)), f"{fn['module']}.{fn['attr']} is not callable"
        if fn["needs_app"]:
            resolver = getattr(module, "app", None)
            assert callable(getattr(resolver, "resolve", None)), "no API resolver `app`"
        assert module.__file__.startswith(fn["dir"]), module.__file__
        assert all("site-packages" not in p for p in sys.path), sys.path
        results[fn["id"]] = ""
    except BaseException:  # report every failure, keep checking the others
        results[fn["id"]] = traceback.format_exc()
    finally:
        sys.path.remove(fn["dir"])
        for name, mod in list(sys.modules.items()):
            if (getattr(mod, "__file__", None) or "").startswith(fn["dir"] + os.sep):
                del sys.modules[name]
print(json.dumps(results))
"""


def _layer_dirs(build: Path, resources: dict[str, Any], layers: list[Any]) -> list[str]:
    dirs = []
    for layer in layers:
        ref = layer.get("Ref") if isinstance(layer, dict) else None
        if ref in resources:
            uri = (resources[ref].get("Properties") or {}).get("ContentUri") or ref
            dirs.append(str((build / uri / "python").resolve()))
    return dirs


def layer_sizes(build: Path, resources: dict[str, Any]) -> int:
    """Print every built layer's unzipped size (and headroom where it has a budget); 1 if one is over."""
    over = 0
    for logical_id, resource in sorted(resources.items()):
        if resource.get("Type") not in ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"):
            continue
        root = build / ((resource.get("Properties") or {}).get("ContentUri") or logical_id)
        size = sum(p.lstat().st_size for p in root.rglob("*") if not p.is_dir() or p.is_symlink())
        line = f"  layer {logical_id:<14} {size / 1e6:8.1f} MB unzipped ({size:,} bytes)"
        budget = LAYER_BUDGET_MB.get(logical_id)
        if budget is not None:
            headroom = budget - size / 1e6
            over += headroom < 0
            line += f", budget {budget} MB: {'OVER by' if headroom < 0 else 'headroom'} {abs(headroom):.1f} MB"
        print(line if root.is_dir() else f"  layer {logical_id:<14} not built at {root}")
        over += not root.is_dir()
    return 1 if over else 0


def check(build: Path, python: str) -> int:
    template = Template(build / "template.yaml")  # the local stack's resolver: env values as it runs them
    sizes = layer_sizes(build, template.resources)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for logical_id, spec in sorted(template.functions().items()):
        props = template.resources[logical_id].get("Properties") or {}
        layers = _layer_dirs(build, template.resources,
                             (template.globals.get("Layers") or []) + (props.get("Layers") or []))
        groups.setdefault(tuple(layers), []).append({
            "id": logical_id,
            "dir": str(spec.code_uri.resolve()),
            "module": spec.handler.rpartition(".")[0],  # relative to the code dir, as on Lambda
            "attr": spec.attribute,
            "needs_app": bool(spec.routes),
            "env": LAMBDA_ENV | {"AWS_LAMBDA_FUNCTION_NAME": logical_id} | spec.environment,
        })

    def run(layers: tuple[str, ...], fns: list[dict[str, Any]]) -> dict[str, str]:
        """One clean interpreter per set of layers (/opt/python), importing each of its functions."""
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": os.pathsep.join(layers)}
        proc = subprocess.run([python, "-S", "-c", PROBE], input=json.dumps(fns), env=env,  # noqa: S603
                              capture_output=True, text=True, timeout=600, check=False)
        if proc.returncode:
            return {fn["id"]: proc.stderr or proc.stdout for fn in fns}
        return dict(json.loads(proc.stdout.strip().splitlines()[-1]))

    results: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for outcome in pool.map(lambda item: run(*item), groups.items()):
            results.update(outcome)
    failed = 0
    for logical_id, error in sorted(results.items()):
        print(f"  {'FAIL' if error else 'ok  '} {logical_id}")
        if error:
            failed += 1
            print("    " + "\n    ".join(error.strip().splitlines()[-4:]))
    print(f"{len(results) - failed}/{len(results)} built functions import on a clean python with only their layers")
    return 1 if failed or not results or sizes else 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: check_build.py BUILD_DIR [PYTHON]")
    sys.exit(check(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) == 3 else "python3.13"))
