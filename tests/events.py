"""The one loader of sample events (``events/<capability>/<operation>[.<scenario>].json``).

The same files work with ``sam local invoke <Function> -e events/...``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from local_stack.template import ROOT, FunctionSpec

EVENTS = ROOT / "events"


def load_event(name: str, **overrides: Any) -> dict[str, Any]:
    """``load_event("accounts/create_transfer", body=...)``; top-level keys in ``overrides`` replace the file's."""
    path = EVENTS / (name if name.endswith(".json") else f"{name}.json")
    event: dict[str, Any] = json.loads(path.read_text())
    for key, value in overrides.items():
        event[key] = copy.deepcopy(value)
    return event


def event_path_for(spec: FunctionSpec) -> Path:
    """The default sample event of a function: events/<capability>/<operation>.json, from its CodeUri."""
    parts = spec.code_uri.resolve().relative_to(ROOT / "functions").parts
    return EVENTS.joinpath(*parts[:-1], f"{parts[-1]}.json")


def with_claims(event: dict[str, Any], sub: str, groups: list[str] | None = None) -> dict[str, Any]:
    event = copy.deepcopy(event)
    claims = {"sub": sub}
    if groups:
        claims["cognito:groups"] = ",".join(groups)
    event.setdefault("requestContext", {})["authorizer"] = {"claims": claims}
    return event
