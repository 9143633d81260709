"""Account handlers invoked directly (as Lambda would) on the emulated tables."""

from __future__ import annotations

import json
import uuid

from local_stack import LocalStack
from tests.events import load_event, with_claims


def call(stack: LocalStack, function: str, event_name: str, sub: str, groups: list[str] | None = None,
         **overrides: object) -> tuple[int, dict]:
    event = with_claims(load_event(event_name, **overrides), sub, groups)
    event["requestContext"]["requestId"] = str(uuid.uuid4())
    result = stack.invoke(function, event)
    return result["statusCode"], json.loads(result["body"])


def test_register_then_fund_then_transfer(clean_stack: LocalStack) -> None:
    status, alice = call(clean_stack, "RegisterAccountFunction", "accounts/register_account", "alice")
    assert status == 201 and alice["balance"] == {"amount": 0, "currency": "CNY"}
    _, bob = call(clean_stack, "RegisterAccountFunction", "accounts/register_account", "bob")

    deposit = load_event("accounts/admin_deposit")
    path = f"/admin/accounts/{alice['account_id']}/deposits"
    status, tx = call(clean_stack, "AdminDepositFunction", "accounts/admin_deposit", "ops", ["admin"],
                      path=path, pathParameters={"account_id": alice["account_id"]},
                      headers={**deposit["headers"], "Idempotency-Key": "d1"})
    assert status == 201 and tx["amount"]["amount"] == 100_000

    transfer = load_event("accounts/create_transfer")
    body = {"to_account_id": bob["account_id"], "amount": {"amount": 1_250, "currency": "CNY"}}
    status, tx = call(clean_stack, "CreateTransferFunction", "accounts/create_transfer", "alice",
                      body=json.dumps(body), headers={**transfer["headers"], "Idempotency-Key": "t1"})
    assert status == 201 and tx["to_account_id"] == bob["account_id"]

    status, me = call(clean_stack, "GetMyAccountFunction", "accounts/get_my_account", "alice")
    assert me["balance"]["amount"] == 100_000 - 1_250
    status, page = call(clean_stack, "ListMyEntriesFunction", "accounts/list_my_entries", "bob")
    assert [e["amount"]["amount"] for e in page["items"]] == [1_250]


def test_handler_without_claims_is_401(clean_stack: LocalStack) -> None:
    event = load_event("accounts/get_my_account")
    event["requestContext"].pop("authorizer")
    result = clean_stack.invoke("GetMyAccountFunction", event)
    assert result["statusCode"] == 401
    assert json.loads(result["body"])["error"]["code"] == "UNAUTHENTICATED"


def test_deposit_writes_balanced_ledger_items(clean_stack: LocalStack) -> None:
    _, acct = call(clean_stack, "RegisterAccountFunction", "accounts/register_account", "dan")
    deposit = load_event("accounts/admin_deposit")
    call(clean_stack, "AdminDepositFunction", "accounts/admin_deposit", "ops", ["admin"],
         path=f"/admin/accounts/{acct['account_id']}/deposits", pathParameters={"account_id": acct["account_id"]},
         headers={**deposit["headers"], "Idempotency-Key": "d2"})
    ddb = clean_stack.client("dynamodb")
    items = ddb.scan(TableName="LedgerTable")["Items"]
    kinds = sorted(i["entity"]["S"] for i in items)
    assert kinds == ["ENTRY", "ENTRY", "OUTBOX", "TRANSACTION"]  # the deposit's TransferCompleted (issue 14)
    (event,) = [i for i in items if i["entity"]["S"] == "OUTBOX"]
    assert event["detail_type"]["S"] == "TransferCompleted"
    accounts = ddb.scan(TableName="AccountsTable", FilterExpression="entity = :a",
                        ExpressionAttributeValues={":a": {"S": "ACCOUNT"}})["Items"]
    assert sum(int(a["balance"]["N"]) for a in accounts) == 0  # settlement went negative by the deposit


def test_misconfigured_function_fails_at_cold_start() -> None:
    import os
    import subprocess
    import sys

    from local_stack.template import ROOT

    env = {k: v for k, v in os.environ.items() if k not in ("ACCOUNTS_TABLE", "LEDGER_TABLE")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", "import functions.accounts.create_transfer.app"],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0
    assert "accounts_table" in proc.stderr and "ValidationError" in proc.stderr
