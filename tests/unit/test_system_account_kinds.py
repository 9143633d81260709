"""System accounts move only through their own operation (issue 9 item 2): every transfer that credits a system
account names the kind it may credit, in the write, so no other operation can pay into it by mistake.

* the proxy holds account is kind ``HOLDS`` and only a withdrawal's hold credits it;
* a campaign pot (and its payout buckets) is credited only by the campaign's funding (``CAMPAIGN``);
* money paid to people (settlements, releases, reversals, prizes) credits ``CUSTOMER`` accounts only.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.campaigns.models import Limits
from shared.campaigns.services.campaigns import campaign_account_id
from shared.ledger.errors import AccountNotPayable
from shared.ledger.models import Account, AccountKind
from shared.ledger.service import derived_transaction_id, settlement_account_id
from shared.proxy.models import OrderType
from shared.proxy.services import holds_account_id
from shared.types import Money
from tests.campaigns.test_service_unit import KINDS, NOW, Env
from tests.proxy.test_service_unit import World, cny


def test_a_withdrawal_holds_its_amount_in_the_holds_account_of_kind_holds() -> None:
    w = World()
    w.account("alice", 5_000)
    w.orders.create("alice", OrderType.WITHDRAW, cny(1_200), True)
    holds = w.ledger_store.get_account(holds_account_id("CNY"))
    assert holds is not None and (holds.kind, holds.balance) == (AccountKind.HOLDS, 1_200)


def test_a_hold_is_refused_when_the_holds_account_is_not_of_kind_holds() -> None:
    # Given a holds account created with another kind (a stack from before the kinds, or a mistake)
    w = World()
    user = w.account("alice", 5_000)
    w.ledger.ensure_system_account(holds_account_id("CNY"), AccountKind.PLATFORM, "CNY")
    # When a withdrawal is created, Then the credit's condition refuses it and nothing moved or was stored
    with pytest.raises(AccountNotPayable):
        w.orders.create("alice", OrderType.WITHDRAW, cny(1_200), True)
    assert w.balance(user) == 5_000 and w.balance(holds_account_id("CNY")) == 0
    assert w.store.orders == {}


def test_a_settlement_never_pays_a_system_account() -> None:
    # Given a top-up order and a "proxy" whose account is a platform account it owns (e.g. a sub "platform")
    w = World()
    w.account("alice", 1_000)
    _, code = w.orders.create("alice", OrderType.TOP_UP, cny(500), True)
    w.ledger.ensure_system_account("sys_fees_CNY", AccountKind.PLATFORM, "CNY", owner="platform")
    # Then it is not eligible: a proxy acts through a customer account
    from shared.proxy.errors import ProxyNotEligible

    with pytest.raises(ProxyNotEligible):
        w.execution.execute("platform", code, "sys_fees_CNY")
    assert w.balance("sys_fees_CNY") == 0


def test_campaign_funding_credits_only_a_campaign_pot() -> None:
    # Given an account that squats the id the campaign's pot would get, but is a customer account
    env = Env()
    squatted = campaign_account_id(derived_transaction_id("cmp", "admin", "k-squat")[:36])
    env.ledger_store.create_account(Account(account_id=squatted, owner="mallory", currency="CNY", created_at=NOW),
                                    unique_owner=False)
    settlement_before = env.ledger_store.get_account(settlement_account_id("CNY"))
    # When the campaign is created, Then its funding is refused in the write and nothing moved
    with pytest.raises(AccountNotPayable):
        env.service.create("admin", "k-squat", "Squatted", KINDS, Money(amount=5_000, currency="CNY"),
                           NOW + timedelta(days=1), ["SCAN"], Limits())
    assert env.ledger_store.get_account(squatted).balance == 0  # type: ignore[union-attr]
    assert env.ledger_store.get_account(settlement_account_id("CNY")) == settlement_before


def test_funding_and_prizes_land_where_they_belong() -> None:
    env = Env()
    pot = env.ledger_store.get_account(env.campaign.account_id)
    assert pot is not None and (pot.kind, pot.balance) == (AccountKind.CAMPAIGN, 100_000)
