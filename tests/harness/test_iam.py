"""The local stack runs every function under its template policies (local_stack/iam.py), as AWS does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local_stack import iam
from local_stack.functions import function_environ
from local_stack.stack import LocalStack
from local_stack.template import Template

FIXTURE = Path(__file__).parent / "fixtures" / "template.yaml"
LEDGER_KEY = {"pk": {"S": "TX#probe"}, "sk": {"S": "TX"}}


@pytest.fixture
def as_function(clean_stack: LocalStack) -> Iterator[Any]:
    """A fresh DynamoDB client, and a way to run code as if a given function were running on this thread."""
    client = boto3.client("dynamodb", endpoint_url=clean_stack.emulator.endpoint, region_name="us-east-1",
                          aws_access_key_id="local", aws_secret_access_key="local")

    def run(function: str) -> Any:
        return function_environ({"AWS_LAMBDA_FUNCTION_NAME": function})

    run.client = client  # type: ignore[attr-defined]
    yield run


def _denied(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = exc.value.response["Error"]
    return error["Code"], error["Message"]


def test_a_call_the_policies_do_not_allow_fails_like_on_aws(clean_stack: LocalStack, as_function: Any) -> None:
    ddb = as_function.client
    # Given the transfer function (read + put-once on the ledger)
    with as_function("CreateTransferFunction"), pytest.raises(ClientError) as exc:
        # When it tries to delete a ledger item
        ddb.delete_item(TableName="LedgerTable", Key=LEDGER_KEY)
    # Then AWS's answer: AccessDeniedException naming the action and the resource
    code, message = _denied(exc)
    assert code == "AccessDeniedException"
    assert "not authorized to perform: dynamodb:DeleteItem on resource: " \
           "arn:aws:dynamodb:us-east-1:123456789012:table/LedgerTable" in message
    assert [d.action for d in clean_stack.iam.take_denials()] == ["DeleteItem"]


def test_each_item_of_a_transaction_needs_its_own_action(clean_stack: LocalStack, as_function: Any) -> None:
    ddb = as_function.client
    put = {"Put": {"TableName": "LedgerTable", "Item": {**LEDGER_KEY, "entity": {"S": "PROBE"}}}}
    update = {"Update": {"TableName": "LedgerTable", "Key": LEDGER_KEY, "UpdateExpression": "SET note = :n",
                         "ExpressionAttributeValues": {":n": {"S": "rewritten"}}}}
    with as_function("CreateTransferFunction"):
        ddb.transact_write_items(TransactItems=[put])  # an append: allowed
        with pytest.raises(ClientError) as exc:
            ddb.transact_write_items(TransactItems=[update])  # rewriting history: dynamodb:UpdateItem on the ledger
    assert "dynamodb:UpdateItem" in _denied(exc)[1]
    assert clean_stack.client("dynamodb").get_item(TableName="LedgerTable", Key=LEDGER_KEY)["Item"]["entity"] == \
        {"S": "PROBE"}
    clean_stack.iam.take_denials()


def test_allowed_calls_are_recorded_and_calls_outside_functions_are_not_checked(clean_stack: LocalStack,
                                                                                as_function: Any) -> None:
    ddb = as_function.client
    with as_function("GetMyAccountFunction"):
        ddb.get_item(TableName="AccountsTable", Key={"pk": {"S": "ACCOUNT#none"}})
    assert iam.Access("GetMyAccountFunction", "dynamodb", "GetItem",
                      "arn:aws:dynamodb:us-east-1:123456789012:table/AccountsTable") in clean_stack.iam.observed
    # Test code, seeding and the emulator itself run as nobody: unchecked (as an administrator would be)
    ddb.delete_item(TableName="LedgerTable", Key=LEDGER_KEY)
    assert clean_stack.iam.take_denials() == []


def test_an_under_privileged_handler_fails(clean_stack: LocalStack, tmp_path: Path) -> None:
    # Given the token keeper (it puts an item) deployed with a read-only policy on its table
    clean_stack.attach(FIXTURE)
    keeper = FIXTURE.parent / "token_keeper"
    template = tmp_path / "template.yaml"
    template.write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  ReadOnlyKeeperFunction:\n"
        "    Type: AWS::Serverless::Function\n    Properties:\n"
        f"      CodeUri: {keeper}/\n      Handler: app.handler\n"
        "      Environment: {Variables: {HARNESS_TABLE: HarnessTable}}\n"
        "      Policies:\n        - DynamoDBReadPolicy: {TableName: HarnessTable}\n")
    _, registry = clean_stack.attach(template)
    # When it runs, Then its put is refused and the invocation fails
    with pytest.raises(ClientError) as exc:
        registry.invoke("ReadOnlyKeeperFunction", {"run_id": "r1", "token": "t"})
    assert _denied(exc)[0] == "AccessDeniedException"
    assert [(d.function, d.action) for d in clean_stack.iam.take_denials()] == [("ReadOnlyKeeperFunction", "PutItem")]


def test_policy_templates_expand_as_sam_does_and_refs_resolve_like_cloudformation() -> None:
    template = Template()
    statements = iam.function_statements(template, "GetProxyOrderQrFunction")
    policy = iam.Policy.of(statements)
    # !Ref of a secret is its ARN in a policy, as on CloudFormation
    assert policy.allows("secretsmanager:GetSecretValue",
                         "arn:aws:secretsmanager:us-east-1:123456789012:secret:ProxyCodeKeySecret")
    assert policy.allows("dynamodb:Query", "arn:aws:dynamodb:us-east-1:123456789012:table/ProxyOrdersTable/index/x")
    assert not policy.allows("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/ProxyOrdersTable")
    assert not policy.allows("DYNAMODB:getitem", "arn:aws:dynamodb:us-east-1:123456789012:table/LedgerTable")


def test_required_access_of_calls() -> None:
    assert iam.required_access("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"ConditionCheck": {"TableName": "A"}}, {"Delete": {"TableName": "B"}}]}) == [
        ("ConditionCheckItem", "arn:aws:dynamodb:us-east-1:123456789012:table/A"),
        ("DeleteItem", "arn:aws:dynamodb:us-east-1:123456789012:table/B")]
    assert iam.required_access("s3", "HeadObject", {"Bucket": "b", "Key": "k"}) == [("GetObject", "arn:aws:s3:::b/k")]
    assert iam.required_access("events", "PutEvents", {"Entries": [{"Detail": "{}"}]}) == [
        ("PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/default")]
    assert iam.required_access("states", "SendTaskSuccess", {"taskToken": "t"}) == [("SendTaskSuccess", None)]
