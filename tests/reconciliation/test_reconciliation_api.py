"""Reconciliation on the local stack (issue 9 item 3): ``GET /admin/reconciliation`` and the scheduled function,
run on the live (emulated) tables after real activity over HTTP, and after invariants broken on purpose by
writing straight into the tables, as a bug or an operator's mistake would."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from local_stack import LocalStack
from shared.proxy.services import holds_account_id
from tests.campaigns.helpers import create_campaign
from tests.campaigns.test_draw import EVEN, collect_sets, draw
from tests.conftest import Api
from tests.events import load_event
from tests.proxy.conftest import Proxy

FUNCTIONS = ("RunReconciliationFunction", "GetReconciliationFunction")


@pytest.fixture
def recon(api: Api, clean_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Api:
    """Re-checks without the production pause (RECONCILIATION_RECHECK_DELAY_SECONDS), every account's entries."""
    for function in FUNCTIONS:
        env = clean_stack.registry.specs[function].environment
        monkeypatch.setitem(env, "RECONCILIATION_RECHECK_DELAY_SECONDS", "0")
        monkeypatch.setitem(env, "RECONCILIATION_ENTRY_CHECK", "full")
    return api


def report(api: Api) -> dict[str, Any]:
    reply = api.call("GET", "/admin/reconciliation", token=api.token("ops-admin", "admin"))
    assert reply.status == 200, reply.body
    return reply.body  # type: ignore[no-any-return]


def broken(body: dict[str, Any]) -> dict[str, tuple[int, list[str]]]:
    return {i["name"]: (i["difference"], i["accounts"]) for i in body["invariants"] if not i["ok"]}


def add_to_balance(stack: LocalStack, account_id: str, amount: int) -> None:
    stack.client("dynamodb").update_item(
        TableName="AccountsTable", Key={"pk": {"S": f"ACCOUNT#{account_id}"}},
        UpdateExpression="SET balance = balance + :a", ExpressionAttributeValues={":a": {"N": str(amount)}})


def activity(api: Api, proxy: Proxy) -> str:
    """Transfers, proxy orders (executed, cancelled, pending), a funded campaign and its draw."""
    alice, bob = api.user(balance=50_000), api.user(balance=5_000)
    assert api.call("POST", "/transfers", {"to_account_id": bob.account_id,
                                           "amount": {"amount": 1_250, "currency": "CNY"}, "note": "lunch"},
                    token=alice.token, key=str(uuid.uuid4())).status == 201
    agent, friend = proxy.agent(balance=20_000), api.user()
    assert proxy.execute(agent, proxy.order(alice, "TOP_UP", 2_000)["code"]).status == 200
    assert proxy.execute(friend, proxy.order(alice, "WITHDRAW", 3_000)["code"]).status == 200
    assert proxy.cancel(bob, proxy.order(bob, "WITHDRAW", 500)["order_id"]).status == 200
    proxy.order(bob, "WITHDRAW", 700)  # pending: held
    campaign = create_campaign(api, kinds=EVEN, limits={"claims_per_day": 200, "passes_per_day": 10})
    collect_sets(api, campaign["campaign_id"], alice)
    assert draw(api, campaign["campaign_id"])["status"] == "SUCCEEDED"
    return str(campaign["account_id"])


def test_clean_after_real_activity_and_the_schedule_reports_the_same(recon: Api, clean_stack: LocalStack) -> None:
    activity(recon, Proxy(recon))
    body = report(recon)
    assert body["clean"] is True, broken(body)
    assert [i["name"] for i in body["invariants"]] == [
        "balances_sum_to_zero", "holds_equal_pending_withdrawals", "campaign_pots_equal_pot_minus_paid",
        "balances_equal_entries", "no_negative_customer_balance"]
    assert all(i["checked"] >= 1 for i in body["invariants"])
    scheduled = clean_stack.invoke("RunReconciliationFunction", load_event("reconciliation/run_reconciliation"))
    assert scheduled["clean"] is True and len(scheduled["invariants"]) == 5


def test_only_admins_see_it(recon: Api) -> None:
    for token in (recon.token("alice"), recon.token("rev", "reviewer")):
        reply = recon.call("GET", "/admin/reconciliation", token=token)
        assert (reply.status, reply.code) == (403, "FORBIDDEN")
    assert recon.call("GET", "/admin/reconciliation").status == 401


def test_a_bad_balance_written_in_the_table_is_reported_with_the_account(recon: Api, clean_stack: LocalStack) -> None:
    victim, other = recon.user(balance=1_000), recon.user(balance=2_000)
    assert recon.call("POST", "/transfers", {"to_account_id": other.account_id,
                                             "amount": {"amount": 300, "currency": "CNY"}},
                      token=victim.token, key=str(uuid.uuid4())).status == 201
    assert report(recon)["clean"] is True
    add_to_balance(clean_stack, victim.account_id, 321)
    assert broken(report(recon)) == {"balances_sum_to_zero": (321, [victim.account_id]),
                                     "balances_equal_entries": (321, [victim.account_id])}
    scheduled = clean_stack.invoke("RunReconciliationFunction", load_event("reconciliation/run_reconciliation"))
    assert scheduled["clean"] is False


def test_an_orphan_entry_written_in_the_ledger_is_reported_with_the_account(recon: Api,
                                                                            clean_stack: LocalStack) -> None:
    victim = recon.user(balance=1_000)
    clean_stack.client("dynamodb").put_item(TableName="LedgerTable", Item={
        "pk": {"S": f"ACCOUNT#{victim.account_id}"}, "sk": {"S": "ENTRY#2026-11-29T00:00:00+00:00#tx_orphan#C"},
        "entity": {"S": "ENTRY"}, "account_id": {"S": victim.account_id}, "transaction_id": {"S": "tx_orphan"},
        "direction": {"S": "CREDIT"}, "amount": {"N": "45"}, "currency": {"S": "CNY"},
        "counterparty_account_id": {"S": "acc_nobody"}, "type": {"S": "P2P_TRANSFER"},
        "created_at": {"S": "2026-11-29T00:00:00+00:00"}})
    body = report(recon)
    assert broken(body) == {"balances_equal_entries": (45, [victim.account_id])}
    [entries] = [i for i in body["invariants"] if i["name"] == "balances_equal_entries"]
    assert entries["differences"] == [{"subject": victim.account_id, "expected": 1_045, "actual": 1_000,
                                       "accounts": [victim.account_id]}]


def test_holds_and_pots_changed_outside_their_operations_are_reported(recon: Api, clean_stack: LocalStack) -> None:
    pot = activity(recon, Proxy(recon))
    holds = holds_account_id("CNY")
    add_to_balance(clean_stack, holds, 10)
    add_to_balance(clean_stack, pot, 7)
    add_to_balance(clean_stack, "sys_settlement_CNY", -17)  # keep the sum: only the two invariants break
    found = broken(report(recon))
    assert found["holds_equal_pending_withdrawals"] == (10, [holds])
    assert found["campaign_pots_equal_pot_minus_paid"][0] == 7 and pot in found["campaign_pots_equal_pot_minus_paid"][1]
    assert "balances_sum_to_zero" not in found

