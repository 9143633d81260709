"""Every function in template.yaml has a sample event, and API sample events run against the handler."""

from __future__ import annotations

import json

import pytest

from local_stack import LocalStack
from local_stack.template import Template
from tests.events import event_path_for, load_event

SPECS = Template().functions()


@pytest.mark.parametrize("logical_id", sorted(SPECS))
def test_every_function_has_a_sample_event(logical_id: str) -> None:
    path = event_path_for(SPECS[logical_id])
    assert path.is_file(), f"{logical_id}: add {path.relative_to(path.parents[2])}"
    json.loads(path.read_text())


API_FUNCTIONS = sorted(lid for lid, spec in SPECS.items() if spec.routes)


@pytest.mark.parametrize("logical_id", API_FUNCTIONS)
def test_api_sample_events_are_routable_and_never_5xx(clean_stack: LocalStack, logical_id: str) -> None:
    spec = SPECS[logical_id]
    event = json.loads(event_path_for(spec).read_text())
    assert (event["httpMethod"], event["resource"]) in {(r.method, r.path) for r in spec.routes}
    result = clean_stack.invoke(logical_id, event)
    assert result["statusCode"] < 500, result
    assert json.loads(result["body"]) is not None


def test_loader_overrides() -> None:
    event = load_event("accounts/create_transfer", body=json.dumps({"x": 1}))
    assert json.loads(event["body"]) == {"x": 1}
