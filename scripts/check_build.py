"""Check a ``sam build`` output the way Lambda would load it.

``python scripts/check_build.py BUILD_DIR``: for every function in BUILD_DIR/template.yaml, start a
clean python3.13 (``-S``: stdlib only, no site-packages) whose path is the function dir (/var/task)
plus its built layers' ``python/`` dirs (/opt/python), with the template's environment variables set
to dummy values, and import the handler. API functions must also expose their resolver as ``app``.
Nothing is called and nothing touches AWS. Exit status 1 if any function fails to import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from local_stack.template import load_yaml

PROBE = """
import importlib, os, sys
module_name, attr, needs_app = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
module = importlib.import_module(module_name)
handler = getattr(module, attr)
assert callable(handler), f"{module_name}.{attr} is not callable"
if needs_app:
    resolver = getattr(module, "app", None)
    assert resolver is not None and callable(getattr(resolver, "resolve", None)), "no API resolver `app`"
assert module.__file__.startswith(os.getcwd()), module.__file__
assert all("site-packages" not in p for p in sys.path), sys.path
"""


def _value(key: str, value: Any, parameters: dict[str, Any]) -> str:
    """A parameter's default for ``Ref: Param``; a dummy for other intrinsics (table names, ARNs)."""
    if isinstance(value, str | int | float | bool):
        return str(value)
    ref = value.get("Ref") if isinstance(value, dict) else None
    if ref in parameters and "Default" in parameters[ref]:
        return str(parameters[ref]["Default"])
    return f"dummy-{key.lower()}"


def _env(props: dict[str, Any], globals_fn: dict[str, Any], parameters: dict[str, Any],
         logical_id: str) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": logical_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    }
    for source in (globals_fn, props):
        for key, value in ((source.get("Environment") or {}).get("Variables") or {}).items():
            env[key] = _value(key, value, parameters)
    return env


def _layer_dirs(build: Path, resources: dict[str, Any], layers: list[Any]) -> list[str]:
    dirs = []
    for layer in layers:
        ref = layer.get("Ref") if isinstance(layer, dict) else None
        if ref in resources:
            uri = (resources[ref].get("Properties") or {}).get("ContentUri") or ref
            dirs.append(str((build / uri / "python").resolve()))
    return dirs


def check(build: Path, python: str) -> int:
    doc = load_yaml(build / "template.yaml")
    resources: dict[str, Any] = doc.get("Resources") or {}
    globals_fn: dict[str, Any] = (doc.get("Globals") or {}).get("Function") or {}
    parameters: dict[str, Any] = doc.get("Parameters") or {}
    jobs = []
    for logical_id, res in sorted(resources.items()):
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        props = res.get("Properties") or {}
        handler = props.get("Handler") or globals_fn.get("Handler") or ""
        module_name, _, attr = handler.rpartition(".")
        fn_dir = (build / str(props.get("CodeUri") or logical_id)).resolve()
        layers = _layer_dirs(build, resources, (globals_fn.get("Layers") or []) + (props.get("Layers") or []))
        needs_app = any(e.get("Type") == "Api" for e in (props.get("Events") or {}).values())
        env = _env(props, globals_fn, parameters, logical_id) | {"PYTHONPATH": os.pathsep.join([str(fn_dir), *layers])}
        cmd = [python, "-S", "-c", PROBE, module_name, attr, "1" if needs_app else "0"]
        jobs.append((logical_id, cmd, env, fn_dir))

    def run(job: tuple[str, list[str], dict[str, str], Path]) -> tuple[str, int, str]:
        logical_id, cmd, env, cwd = job
        proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
        return logical_id, proc.returncode, (proc.stderr or proc.stdout).strip()

    failed = 0
    with ThreadPoolExecutor(max_workers=2) as pool:
        for logical_id, code, output in pool.map(run, jobs):
            print(f"  {'ok ' if code == 0 else 'FAIL'} {logical_id}")
            if code:
                failed += 1
                print("    " + "\n    ".join(output.splitlines()[-6:]))
    print(f"{len(jobs) - failed}/{len(jobs)} built functions import on a clean python with only their layers")
    return 1 if failed or not jobs else 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: check_build.py BUILD_DIR [PYTHON]")
    sys.exit(check(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) == 3 else "python3.13"))
