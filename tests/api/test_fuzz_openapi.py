"""Property-based fuzzing of every documented route (schemathesis): nothing a client sends produces a 5xx.

The schema is the merged OpenAPI document of the template's functions, so a new
route is fuzzed as soon as it exists. Requests are made by a user who has a funded
account (and, for a second pass, by an admin), with and without valid bodies.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from local_stack.functions import FunctionRegistry
from local_stack.openapi import build_openapi
from local_stack.template import Template
from tests.conftest import Api

schema = schemathesis.openapi.from_dict(build_openapi(FunctionRegistry(Template())))


@pytest.fixture(scope="module")
def callers(stack: Any) -> dict[str, str]:
    api = Api(stack)
    stack.reset()
    user = api.user("fuzz-user", balance=10_000)
    return {"user": user.token, "admin": api.token("fuzz-admin", "admin", "reviewer", "internal")}


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@pytest.mark.parametrize("role", ["user", "admin"])
def test_no_input_produces_a_server_error(case: schemathesis.Case, stack: Any, callers: dict[str, str],
                                          role: str) -> None:
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {callers[role]}",
                    "Idempotency-Key": f"fuzz-{id(case)}"}
    case.call_and_validate(base_url=stack.gateway.url, checks=[not_a_server_error])
