"""System accounts are not payees (issue 9 item 2): P2P transfers and admin deposits credit customer accounts only.

The rule is in the write (the credit's condition names the kinds it accepts), so no read-then-write race can
slip a payment into a pot, the holds account or the settlement account.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.ledger.models import AccountKind
from shared.ledger.repository import DynamoLedgerStore
from shared.ledger.service import LedgerService, settlement_account_id
from shared.ledger.settings import LedgerSettings
from tests.conftest import Api

SYSTEM_ACCOUNTS = {
    "settlement": (settlement_account_id("CNY"), AccountKind.SETTLEMENT),
    "proxy holds": ("sys_proxy_holds_CNY", AccountKind.HOLDS),
    "campaign pot": ("cmp_pot_0123456789abcdef0123456789abcdef", AccountKind.CAMPAIGN),
    "platform": ("sys_fees_CNY", AccountKind.PLATFORM),
}


def balances(api: Api) -> dict[str, Any]:
    items = api.stack.client("dynamodb").scan(TableName="AccountsTable")["Items"]
    return {i["pk"]["S"]: i.get("balance", {}).get("N") for i in items}


@pytest.fixture
def ledger(api: Api) -> LedgerService:
    service = LedgerService(DynamoLedgerStore("AccountsTable", "LedgerTable", api.stack.client("dynamodb")),
                            LedgerSettings(accounts_table="AccountsTable", ledger_table="LedgerTable"))
    for account_id, kind in SYSTEM_ACCOUNTS.values():
        service.ensure_system_account(account_id, kind, "CNY", allow_negative=kind is AccountKind.SETTLEMENT)
    return service


@pytest.mark.parametrize("name", sorted(SYSTEM_ACCOUNTS))
def test_p2p_transfer_to_a_system_account_is_refused(api: Api, ledger: LedgerService, name: str) -> None:
    alice = api.user("alice", balance=1_000)
    before = balances(api)
    reply = api.call("POST", "/transfers", {"to_account_id": SYSTEM_ACCOUNTS[name][0],
                                            "amount": {"amount": 100, "currency": "CNY"}},
                     token=alice.token, key=str(uuid.uuid4()))
    assert (reply.status, reply.code) == (422, "ACCOUNT_NOT_PAYABLE"), reply.body
    assert balances(api) == before


@pytest.mark.parametrize("name", sorted(SYSTEM_ACCOUNTS))
def test_admin_deposit_into_a_system_account_is_refused(api: Api, ledger: LedgerService, name: str) -> None:
    before = balances(api)
    reply = api.call("POST", f"/admin/accounts/{SYSTEM_ACCOUNTS[name][0]}/deposits",
                     {"amount": {"amount": 100, "currency": "CNY"}}, token=api.token("ops", "admin"),
                     key=str(uuid.uuid4()))
    assert (reply.status, reply.code) == (422, "ACCOUNT_NOT_PAYABLE"), reply.body
    assert balances(api) == before


def test_customers_and_agents_still_receive_payments(api: Api, ledger: LedgerService) -> None:
    alice, bob = api.user("alice", balance=1_000), api.user("bob")
    reply = api.call("POST", "/transfers", {"to_account_id": bob.account_id,
                                            "amount": {"amount": 100, "currency": "CNY"}},
                     token=alice.token, key=str(uuid.uuid4()))
    assert reply.status == 201
    assert api.balance(bob) == 100
