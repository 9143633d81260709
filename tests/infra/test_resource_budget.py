"""CloudFormation allows 500 resources per stack; SAM turns one function into several. Budget: 450 after the transform.

§4-§6 add some 40 functions, most of them API routes: the test also measures what one more API function costs
(after the transform) and prints the projection, so the structure can change (nested stacks per capability,
docs/decision_log.md) before the budget is hit rather than after.
"""

from __future__ import annotations

import copy

import pytest

from local_stack.template import TEMPLATE, load_yaml
from tests.infra.sam_transform import transform, transformed

BUDGET = 450
COMING_API_FUNCTIONS = 40


def _one_more_api_function() -> int:
    """Resources one more API function adds after the transform (function, role, permission ...)."""
    doc = load_yaml(TEMPLATE)
    extra = copy.deepcopy(doc["Resources"]["GetMyAccountFunction"])
    extra["Properties"]["Events"]["Api"]["Properties"]["Path"] = "/budget-probe"
    doc["Resources"]["BudgetProbeFunction"] = extra
    return len(transform(doc)["Resources"]) - len(transformed()["Resources"])


def test_resources_after_the_transform_stay_within_budget(capsys: pytest.CaptureFixture[str]) -> None:
    count = len(transformed()["Resources"])
    per_function = _one_more_api_function()
    projected = count + COMING_API_FUNCTIONS * per_function
    with capsys.disabled():
        print(f"\n  template.yaml: {count} resources after SAM's transform (budget {BUDGET}, limit 500); "
              f"one more API function adds {per_function}: with {COMING_API_FUNCTIONS} more, {projected}")
    assert count <= BUDGET, f"{count} resources after SAM's transform: over the {BUDGET} budget"
    assert per_function <= 3, f"an API function now costs {per_function} resources (function, role, permission)"
