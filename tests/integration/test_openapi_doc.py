"""docs/openapi.json is the merged document of the template's routes (regenerate with `make openapi`)."""

from __future__ import annotations

import json

from local_stack.functions import FunctionRegistry
from local_stack.openapi import build_openapi
from local_stack.template import ROOT, Template


def test_committed_openapi_document_is_current() -> None:
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text())
    generated = build_openapi(FunctionRegistry(Template()))
    assert committed == generated, "docs/openapi.json is stale: run `make openapi` and commit it"


def test_every_route_of_the_template_is_documented() -> None:
    doc = json.loads((ROOT / "docs" / "openapi.json").read_text())
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert {(r.method, r.path) for r in Template().routes()} <= documented
