"""The local stack itself: template-driven provisioning, Lambda wiring, Step Functions, gateway, tokens."""

from __future__ import annotations

import json
import os
import threading
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from local_stack import tokens
from local_stack.emulator import SUPPORTED_MOTO
from local_stack.functions import function_environ
from local_stack.stack import LocalStack
from local_stack.template import Template, TemplateError
from tests.conftest import Api, new_key

FIXTURE = Path(__file__).parent / "fixtures" / "template.yaml"


@pytest.fixture
def harness(clean_stack: LocalStack) -> tuple[LocalStack, Template]:
    template, _ = clean_stack.attach(FIXTURE)
    return clean_stack, template


# --- provisioning from the template ------------------------------------------------
def test_tables_are_created_from_the_template_schema(clean_stack: LocalStack) -> None:
    ddb = clean_stack.client("dynamodb")
    template = clean_stack.template
    for logical_id, resource in template.of_type("AWS::DynamoDB::Table").items():
        desc = ddb.describe_table(TableName=template.physical_name(logical_id))["Table"]
        assert desc["KeySchema"] == resource["Properties"]["KeySchema"]


def test_gsi_ttl_queue_bucket_and_state_machine_from_fixture_template(harness: tuple[LocalStack, Template]) -> None:
    stack, template = harness
    desc = stack.client("dynamodb").describe_table(TableName="HarnessTable")["Table"]
    assert [g["IndexName"] for g in desc["GlobalSecondaryIndexes"]] == ["by_kind"]
    ttl = stack.client("dynamodb").describe_time_to_live(TableName="HarnessTable")["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires"
    assert stack.client("sqs").get_queue_url(QueueName="HarnessQueue")["QueueUrl"]
    assert "wallet-local-harnessbucket" in [b["Name"] for b in stack.client("s3").list_buckets()["Buckets"]]
    definition = stack.client("stepfunctions").describe_state_machine(
        stateMachineArn=template.arn("HarnessMachine"))["definition"]
    # DefinitionSubstitutions were resolved to local ARNs
    assert "arn:aws:lambda:us-east-1:123456789012:function:HarnessFlakyFunction" in definition
    assert "${" not in definition


def test_missing_table_is_an_error(clean_stack: LocalStack) -> None:
    # A table the template does not declare does not exist: the emulator does not invent it
    with pytest.raises(ClientError) as err:
        clean_stack.client("dynamodb").get_item(TableName="NoSuchTable", Key={"pk": {"S": "x"}})
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_reference_to_an_undeclared_resource_is_a_template_error(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                    "      CodeUri: x/\n      Handler: app.h\n      Environment:\n        Variables:\n"
                    "          T: !Ref MissingTable\n")
    with pytest.raises(TemplateError, match="MissingTable"):
        Template(path).functions()


def test_intrinsics_resolve_like_cloudformation() -> None:
    t = Template()
    assert t.resolve({"Ref": "AccountsTable"}) == "AccountsTable"
    assert t.resolve({"Fn::GetAtt": ["AccountsTable", "Arn"]}) == \
        "arn:aws:dynamodb:us-east-1:123456789012:table/AccountsTable"
    assert t.resolve({"Fn::Sub": "${AWS::Region}/${LedgerTable}/${!Literal}"}) == "us-east-1/LedgerTable/${Literal}"
    assert t.resolve({"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]}) == "a-dev"


def test_moto_version_is_the_one_patched() -> None:
    import moto

    assert moto.__version__ == SUPPORTED_MOTO


# --- Step Functions execute and call the real handlers --------------------------------
def test_retry_then_task_token(harness: tuple[LocalStack, Template]) -> None:
    stack, template = harness
    run_id = uuid.uuid4().hex
    sfn = stack.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=template.arn("HarnessMachine"),
                              input=json.dumps({"run_id": run_id, "fail_times": 2}))["executionArn"]
    # the flaky task fails twice (TransientError), is retried, then the execution waits for the token
    token = _wait_for_token(stack, run_id)
    sfn.send_task_success(taskToken=token, output=json.dumps({"approved": True}))
    desc = stack.wait_execution(arn)
    assert desc["status"] == "SUCCEEDED"
    output = json.loads(desc["output"])
    assert output["flaky"] == {"attempts": 3}
    assert output["approval"] == {"approved": True}


def test_catch_sees_the_exception_class_as_error_name(harness: tuple[LocalStack, Template]) -> None:
    stack, template = harness
    desc = stack.run_execution(template.arn("HarnessMachine"), {"run_id": uuid.uuid4().hex, "permanent": True})
    assert desc["status"] == "SUCCEEDED"
    output = json.loads(desc["output"])
    assert output["outcome"] == "caught"
    assert output["error"]["Error"] == "PermanentError"


def test_retries_exhausted_fail_the_execution(harness: tuple[LocalStack, Template]) -> None:
    stack, template = harness
    desc = stack.run_execution(template.arn("HarnessMachine"), {"run_id": uuid.uuid4().hex, "fail_times": 10})
    assert desc["status"] == "FAILED"
    assert desc.get("error") == "TransientError"


def _wait_for_token(stack: LocalStack, run_id: str, timeout: float = 20.0) -> str:
    import time

    ddb = stack.client("dynamodb")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = ddb.get_item(TableName="HarnessTable", Key={"pk": {"S": f"token#{run_id}"}}).get("Item")
        if item:
            return str(item["token"]["S"])
        time.sleep(0.02)
    raise AssertionError("task token never stored")


# --- environment per function ------------------------------------------------------
def test_function_environment_is_per_thread() -> None:
    seen: dict[str, str | None] = {}

    def run(name: str, value: str) -> None:
        with function_environ({"HARNESS_PROBE": value}):
            seen[name] = os.environ.get("HARNESS_PROBE")

    threads = [threading.Thread(target=run, args=(f"t{i}", f"v{i}")) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {f"t{i}": f"v{i}" for i in range(4)}
    assert os.environ.get("HARNESS_PROBE") is None


# --- gateway and tokens -------------------------------------------------------------
def test_a_route_answers_and_claims_reach_the_handler(api: Api) -> None:
    reply = api.call("POST", "/accounts", {}, token=api.token("harness-user"), key=new_key())
    assert reply.status == 201
    assert reply.body["owner"] == "harness-user"  # read from requestContext.authorizer.claims


def test_no_or_bad_token_is_401_with_the_template_gateway_response(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Bearer " + _forged()}):
        reply = api.call("GET", "/accounts/me", headers=headers)
        assert reply.status == 401
        assert reply.code == "UNAUTHENTICATED"


def test_unknown_route_is_404(api: Api) -> None:
    reply = api.call("GET", "/no/such/route", token=api.token("u"))
    assert reply.status == 404
    assert reply.code == "ROUTE_NOT_FOUND"


def test_local_token_endpoint(api: Api) -> None:
    reply = api.call("POST", "/local/token", {"sub": "dora", "groups": ["admin"]})
    assert reply.status == 200
    claims = tokens.verify(reply.body["token"])
    assert claims["sub"] == "dora" and claims["cognito:groups"] == "admin"
    bad = api.call("POST", "/local/token", {"groups": "admin"})
    assert bad.status == 422


def test_expired_token_is_rejected() -> None:
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(tokens.issue("u", ttl=-1))


def test_openapi_and_swagger_are_served(api: Api) -> None:
    doc = api.call("GET", "/openapi.json")
    assert doc.status == 200
    routes = {(m.upper(), p) for p, ops in doc.body["paths"].items() for m in ops}
    template_routes = {(r.method, r.path) for r in api.stack.template.routes()}
    assert template_routes <= routes  # every Api event of the template is documented
    page = api.call("GET", "/swagger")
    assert page.status == 200 and b"swagger-ui" in page.raw
    asset = api.call("GET", "/swagger/static/swagger-ui-bundle.js")
    assert asset.status == 200 and len(asset.raw) > 100_000
    assert api.call("GET", "/swagger/static/../../../etc/passwd").status == 404


def _forged() -> str:
    head, body, _ = tokens.issue("mallory", ["admin"]).split(".")
    return f"{head}.{body}.AAAA"


def test_concurrent_requests_to_one_function_never_share_a_container(api: Api) -> None:
    # Given 24 users, when they all read their own account at once through one function
    from concurrent.futures import ThreadPoolExecutor

    users = [api.user(f"c-{i}") for i in range(24)]
    with ThreadPoolExecutor(24) as pool:
        replies = list(pool.map(lambda u: api.call("GET", "/accounts/me", token=u.token), users))
    # Then each got their own account (the resolver's current event is per container)
    assert [r.body["owner"] for r in replies] == [u.sub for u in users]
    pool_size = len(api.stack.registry._pools["GetMyAccountFunction"])
    assert 1 <= pool_size <= api.stack.registry.max_containers


def test_failed_transaction_rolls_back_every_item(clean_stack: LocalStack) -> None:
    # The emulator's transaction patch restores exactly the items a cancelled transaction touched.
    ddb = clean_stack.client("dynamodb")
    ddb.put_item(TableName="LedgerTable", Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1"}})
    with pytest.raises(ClientError) as err:
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": "LedgerTable", "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}},
                        "UpdateExpression": "SET n = n + :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"Put": {"TableName": "LedgerTable", "Item": {"pk": {"S": "b"}, "sk": {"S": "1"}}}},
            {"Put": {"TableName": "AccountsTable", "Item": {"pk": {"S": "c"}},
                     "ConditionExpression": "attribute_exists(pk)"}},
        ])
    assert err.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert ddb.get_item(TableName="LedgerTable", Key={"pk": {"S": "a"}, "sk": {"S": "1"}})["Item"]["n"] == {"N": "1"}
    assert "Item" not in ddb.get_item(TableName="LedgerTable", Key={"pk": {"S": "b"}, "sk": {"S": "1"}})
    assert "Item" not in ddb.get_item(TableName="AccountsTable", Key={"pk": {"S": "c"}})
    # and a transaction that passes applies every item
    ddb.transact_write_items(TransactItems=[
        {"Update": {"TableName": "LedgerTable", "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}},
                    "UpdateExpression": "SET n = n + :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"Put": {"TableName": "LedgerTable", "Item": {"pk": {"S": "b"}, "sk": {"S": "1"}}}},
    ])
    assert ddb.get_item(TableName="LedgerTable", Key={"pk": {"S": "a"}, "sk": {"S": "1"}})["Item"]["n"] == {"N": "2"}
    assert "Item" in ddb.get_item(TableName="LedgerTable", Key={"pk": {"S": "b"}, "sk": {"S": "1"}})
