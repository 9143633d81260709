"""AWS's transient errors that outlast the SDK's bounded retries answer 503 (retry with the same key), not 500
(found by the seeded faults on the real-name routes, issue 14: four throttled GetItems in a row answered 500, which
a client must not retry blindly). Validation and authorization errors stay 500 and are never retried."""

from __future__ import annotations

import uuid

import pytest

from local_stack import LocalStack
from local_stack.faults import SeededFaults, intercept
from tests.conftest import Api


@pytest.mark.parametrize("kind", ["throttling", "internal_error"])
def test_transient_dynamodb_errors_after_the_sdk_retries_answer_503(api: Api, clean_stack: LocalStack,
                                                                     kind: str) -> None:
    payer, payee = api.user(balance=1_000), api.user()
    body = {"to_account_id": payee.account_id, "amount": {"amount": 100, "currency": "CNY"}}
    key = str(uuid.uuid4())
    faults = SeededFaults(seed=1, p=1.0, kinds=(kind,), functions_=("CreateTransferFunction",), skip=())
    with intercept(faults):
        refused = api.call("POST", "/transfers", body, token=payer.token, key=key)
    assert refused.status == 503 and refused.code == "TEMPORARILY_UNAVAILABLE", refused.body
    assert faults.log, "no fault was injected"
    retried = api.call("POST", "/transfers", body, token=payer.token, key=key)  # the same key, once AWS is back
    assert retried.status == 201, retried.body
    assert api.balance(payer) == 900 and api.balance(payee) == 100


def test_only_transient_aws_errors_are_retryable() -> None:
    from botocore.exceptions import ClientError

    from shared.api.errors import _transient_aws

    def error(code: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": "x"}}, "GetItem")

    assert _transient_aws(error("ThrottlingException")) == "ThrottlingException"
    assert _transient_aws(error("AccessDeniedException")) is None
    assert _transient_aws(error("ValidationException")) is None
    assert _transient_aws(ValueError("not AWS")) is None
    wrapped = RuntimeError("Failed to save in progress record")  # as Powertools wraps the record's put
    wrapped.__cause__ = error("InternalServerError")
    assert _transient_aws(wrapped) == "InternalServerError"
