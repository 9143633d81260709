"""ProxyService on in-memory fakes: the rules, without the emulator (Given / When / Then)."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest

from shared.ledger.errors import AccountNotFound, InsufficientFunds, InvalidAmount
from shared.ledger.models import Account, AccountKind
from shared.ledger.service import LedgerService
from shared.proxy.errors import (
    AgentLimitExceeded,
    InvalidProxyCode,
    OrderLimitExceeded,
    OrderNotPending,
    ProxyCodeExpired,
    ProxyModeRequired,
    ProxyNotEligible,
    ProxyOrderNotFound,
    ReversalNotAllowed,
)
from shared.proxy.models import OrderStatus, OrderType
from shared.proxy.services import (
    AgentService,
    ExecutionService,
    ProxyDeps,
    RequesterOrderService,
    ReversalService,
    holds_account_id,
)
from shared.proxy.settings import ProxySettings
from shared.types import Money
from tests.fakes.ledger import InMemoryLedgerStore
from tests.proxy.fakes import EventLog, InMemoryProxyStore
from tests.proxy.test_codes import RING, forged_codes


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class World:
    def __init__(self, **overrides: object) -> None:
        self.clock = Clock()
        self.ledger_store = InMemoryLedgerStore()
        self.settings = ProxySettings(accounts_table="a", ledger_table="l", proxy_orders_table="o",
                                      proxy_agents_table="g", **overrides)  # type: ignore[arg-type]
        self.ledger = LedgerService(self.ledger_store, self.settings.ledger, clock=self.clock, sleep=lambda s: None)
        self.store = InMemoryProxyStore(self.ledger_store)
        self.events = EventLog(self.store)
        deps = ProxyDeps(self.store, self.ledger, lambda: RING, self.settings, clock=self.clock)
        self.orders = RequesterOrderService(deps)
        self.execution = ExecutionService(deps)
        self.reversals = ReversalService(deps)
        self.agents = AgentService(deps)
        self.n = 0

    def account(self, owner: str, balance: int = 0) -> str:
        self.n += 1
        account_id = f"acc_{owner}{self.n}"
        self.ledger_store.create_account(
            Account(account_id=account_id, owner=owner, currency="CNY", created_at=self.clock()), unique_owner=True)
        if balance:
            self.ledger.issue(f"dep{self.n}", account_id, Money(amount=balance, currency="CNY"), by="test")
        return account_id

    def agent(self, owner: str, balance: int = 0, per_order: int = 100_000, daily: int = 150_000) -> str:
        account_id = self.account(owner, balance)
        self.agents.register_agent("admin", account_id, per_order, daily, "Shop")
        return account_id

    def balance(self, account_id: str) -> int:
        account = self.ledger_store.get_account(account_id)
        assert account is not None
        return account.balance

    def total(self) -> int:
        return sum(a.balance for a in self.ledger_store.accounts.values())


def cny(amount: int) -> Money:
    return Money(amount=amount, currency="CNY")


@pytest.fixture
def w() -> World:
    return World()


def test_top_up_by_agent_moves_money_once_and_emits_events(w: World) -> None:
    user = w.account("alice", 1_000)
    agent = w.agent("bob", 50_000)
    _order, code = w.orders.create("alice", OrderType.TOP_UP, cny(3_000), True)
    executed, tx = w.execution.execute("bob", code, agent)
    assert executed.status is OrderStatus.EXECUTED and tx is not None
    assert (w.balance(user), w.balance(agent)) == (4_000, 47_000)
    with pytest.raises(OrderNotPending):
        w.execution.execute("bob", code, agent)
    assert w.balance(agent) == 47_000
    assert w.events.types()[-2:] == ["ProxyOrderCreated", "ProxyOrderExecuted"]
    detail = w.events.events[-1][1]
    assert "alice" not in str(detail) and detail["requester_account"].endswith(user[-4:])


def test_verification_happens_before_any_database_read(w: World) -> None:
    w.agent("bob", 50_000)
    reads = w.store.reads
    for _, code in forged_codes(300, seed=11):
        with pytest.raises((InvalidProxyCode, ProxyCodeExpired)):
            w.execution.execute("bob", code, "acc_bob1")
    assert w.store.reads == reads


def test_replayed_codes_are_never_accepted(w: World) -> None:
    w.account("alice", 100_000)
    agent = w.agent("bob", 1_000_000, per_order=1_000_000, daily=10_000_000)
    codes = []
    for _ in range(20):
        _, code = w.orders.create("alice", OrderType.TOP_UP, cny(100), True)
        w.execution.execute("bob", code, agent)
        codes.append(code)
    for code in codes * 3:
        with pytest.raises(OrderNotPending):
            w.execution.execute("bob", code, agent)
    assert len(w.ledger_store.transactions) == 2 + 20


def closed_order_codes(w: World) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(state, code) of orders that can no longer be executed: expired by the sweep, executed (top-up and
    withdrawal), cancelled, reversed; their codes are genuine, all but the expired ones still unexpired.
    And the (caller, account) proxies that may replay them: two agents and a funded friend."""
    w.account("alice", 1_000_000)
    dave = w.account("dave", 1_000_000)  # a non-agent proxy with enough balance for top-ups
    bob = w.agent("bob", 1_000_000, per_order=1_000_000, daily=10_000_000)
    codes: list[tuple[str, str]] = []
    for type in (OrderType.TOP_UP, OrderType.WITHDRAW):
        codes.append(("expired", w.orders.create("alice", type, cny(100), True)[1]))
    w.clock.advance(w.settings.proxy_code_ttl_seconds + 1)
    assert w.execution.expire_due() == 2
    erin = w.agent("erin", 1_000_000, per_order=1_000_000, daily=10_000_000)
    for type in (OrderType.TOP_UP, OrderType.WITHDRAW):
        order, code = w.orders.create("alice", type, cny(100), True)
        w.execution.execute("bob", code, bob)
        codes.append(("executed", code))
        order, code = w.orders.create("alice", type, cny(100), True)
        w.orders.cancel("alice", order.order_id)
        codes.append(("cancelled", code))
        order, code = w.orders.create("alice", type, cny(100), True)
        w.execution.execute("bob", code, bob)
        request = w.reversals.request_reversal("alice", order.order_id, "replay pool")
        w.reversals.decide_reversal("rev", request.request_id, True, None)
        codes.append(("reversed", code))
    return codes, [("bob", bob), ("erin", erin), ("dave", dave)]


def run_service_fuzz(n_forged: int, n_replays: int, seed: int = 5) -> dict[str, int]:
    """Execute ``n_forged`` forged and ``n_replays`` replayed codes (interleaved, random proxies) against the
    service on the fakes: each must be refused, and none may move money, change an order or emit an event."""
    w = World()
    pool, proxies = closed_order_codes(w)
    balances = {a: acc.balance for a, acc in w.ledger_store.accounts.items()}
    transactions, orders = len(w.ledger_store.transactions), dict(w.store.orders)
    usage, events = dict(w.store.usage), len(w.events.events)
    rng = random.Random(seed)
    forged = forged_codes(n_forged, seed=seed, signer=w.execution.signer(), now=int(w.clock().timestamp()))
    attempts = ["forged"] * n_forged + ["replay"] * n_replays
    rng.shuffle(attempts)
    seen: dict[str, int] = {}
    for source in attempts:
        if source == "forged":
            kind, code = next(forged, ("forged-skipped", ""))
            if not code:
                continue
            refusals: tuple[type[Exception], ...] = (InvalidProxyCode, ProxyCodeExpired)
        else:
            state, code = rng.choice(pool)
            kind = f"replayed-{state}"
            refusals = (ProxyCodeExpired,) if state == "expired" else (OrderNotPending,)
        caller, account = rng.choice(proxies)
        try:
            w.execution.execute(caller, code, account)
        except refusals:
            seen[kind] = seen.get(kind, 0) + 1
            continue
        pytest.fail(f"accepted a {kind} code: {code}")
    assert {a: acc.balance for a, acc in w.ledger_store.accounts.items()} == balances
    assert (len(w.ledger_store.transactions), w.store.orders, w.store.usage) == (transactions, orders, usage)
    assert len(w.events.events) == events
    return seen


def test_fuzz_forged_and_replayed_codes_none_accepted() -> None:
    seen = run_service_fuzz(2_000, 1_000)
    replays = {k: v for k, v in seen.items() if k.startswith("replayed-")}
    assert set(replays) == {"replayed-expired", "replayed-executed", "replayed-cancelled", "replayed-reversed"}
    assert sum(replays.values()) == 1_000 and sum(seen.values()) >= 2_990


@pytest.mark.stress
def test_fuzz_100000_forged_and_replayed_codes_none_accepted() -> None:
    """The issue's figure: 100,000 mutated, truncated, expired, re-signed and replayed codes, 0 accepted."""
    seen = run_service_fuzz(80_000, 20_000)
    assert sum(v for k, v in seen.items() if k.startswith("replayed-")) == 20_000
    assert sum(seen.values()) >= 99_900


def test_withdrawal_holds_funds_that_cannot_be_spent_elsewhere(w: World) -> None:
    user = w.account("alice", 5_000)
    other = w.account("carol")
    _order, _ = w.orders.create("alice", OrderType.WITHDRAW, cny(4_000), True)
    assert w.balance(user) == 1_000 and w.balance(holds_account_id("CNY")) == 4_000
    with pytest.raises(InsufficientFunds):
        w.ledger.transfer("p2p1", user, other, cny(2_000), "P2P_TRANSFER")
    with pytest.raises(InsufficientFunds):  # a second withdrawal cannot reuse the held funds
        w.orders.create("alice", OrderType.WITHDRAW, cny(2_000), True)


def test_cancel_and_expiry_release_a_hold_exactly_once(w: World) -> None:
    user = w.account("alice", 5_000)
    total = w.total()
    cancelled, _ = w.orders.create("alice", OrderType.WITHDRAW, cny(1_000), True)
    expiring, _ = w.orders.create("alice", OrderType.WITHDRAW, cny(2_000), True)
    assert w.balance(user) == 2_000
    w.orders.cancel("alice", cancelled.order_id)
    with pytest.raises(OrderNotPending):
        w.orders.cancel("alice", cancelled.order_id)
    assert w.balance(user) == 3_000
    assert w.execution.expire_due() == 0  # not yet
    w.clock.advance(121)
    assert w.execution.expire_due() == 1
    assert w.execution.expire_due() == 0
    with pytest.raises(OrderNotPending):
        w.orders.cancel("alice", expiring.order_id)
    assert w.balance(user) == 5_000 and w.balance(holds_account_id("CNY")) == 0 and w.total() == total
    assert w.store.orders[expiring.order_id].status is OrderStatus.EXPIRED
    assert "ProxyOrderExpired" in w.events.types() and "ProxyOrderCancelled" in w.events.types()


def test_expired_code_and_expired_order_are_refused(w: World) -> None:
    w.account("alice", 5_000)
    agent = w.agent("bob", 50_000)
    _, code = w.orders.create("alice", OrderType.WITHDRAW, cny(1_000), True)
    w.clock.advance(120)
    with pytest.raises(ProxyCodeExpired):
        w.execution.execute("bob", code, agent)


def test_eligibility_reasons() -> None:
    w = World(proxy_friend_withdrawals=False)  # FriendWithdrawals=false: cash-out by agents only
    w.account("alice", 5_000)
    friend = w.account("dave", 100)
    agent = w.agent("bob", 50_000)
    _, top_up = w.orders.create("alice", OrderType.TOP_UP, cny(1_000), True)
    _, withdrawal = w.orders.create("alice", OrderType.WITHDRAW, cny(1_000), True)

    def reason(caller: str, code: str, account: str) -> str:
        with pytest.raises(ProxyNotEligible) as err:
            w.execution.execute(caller, code, account)
        return str(err.value.details["reason"])

    assert reason("dave", top_up, agent) == "ACCOUNT_NOT_OWNED"
    assert reason("dave", top_up, "acc_nope") == "ACCOUNT_NOT_OWNED"
    assert reason("alice", top_up, "acc_alice1") == "SELF_PROXY"
    assert reason("dave", top_up, friend) == "INSUFFICIENT_BALANCE"
    assert reason("dave", withdrawal, friend) == "WITHDRAWAL_REQUIRES_AGENT"
    # a friend with enough balance may top up
    w.ledger.issue("dep-dave", friend, cny(5_000), by="test")
    assert w.execution.execute("dave", top_up, friend)[0].status is OrderStatus.EXECUTED


def test_agent_limits_are_named(w: World) -> None:
    w.account("alice", 1_000_000)
    agent = w.agent("bob", 1_000_000, per_order=50_000, daily=80_000)

    def limit(amount: int, type: OrderType = OrderType.TOP_UP) -> str:
        _, code = w.orders.create("alice", type, cny(amount), True)
        with pytest.raises(AgentLimitExceeded) as err:
            w.execution.execute("bob", code, agent)
        return str(err.value.details["limit"])

    assert limit(60_000) == "per_order"
    _, code = w.orders.create("alice", OrderType.TOP_UP, cny(50_000), True)
    w.execution.execute("bob", code, agent)
    assert limit(40_000, OrderType.WITHDRAW) == "daily"
    poor = w.agent("erin", 100)
    _, code = w.orders.create("alice", OrderType.TOP_UP, cny(1_000), True)
    with pytest.raises(AgentLimitExceeded) as err:
        w.execution.execute("erin", code, poor)
    assert err.value.details["limit"] == "float"


def test_requester_limits_and_proxy_mode_flag(w: World) -> None:
    w.account("alice", 10_000_000)
    with pytest.raises(ProxyModeRequired):
        w.orders.create("alice", OrderType.TOP_UP, cny(100), False)
    with pytest.raises(ProxyModeRequired):
        w.orders.create("alice", OrderType.TOP_UP, cny(100), None)
    with pytest.raises(InvalidAmount):
        w.orders.create("alice", OrderType.TOP_UP, cny(500_001), True)
    for _ in range(4):
        w.orders.create("alice", OrderType.TOP_UP, cny(500_000), True)
    with pytest.raises(OrderLimitExceeded):
        w.orders.create("alice", OrderType.TOP_UP, cny(1), True)
    with pytest.raises(AccountNotFound):
        w.orders.create("nobody", OrderType.TOP_UP, cny(1), True)


def test_other_users_order_is_not_found(w: World) -> None:
    w.account("alice", 1_000)
    w.account("mallory")
    order, _ = w.orders.create("alice", OrderType.WITHDRAW, cny(500), True)
    for call in (lambda: w.orders.get("mallory", order.order_id), lambda: w.orders.cancel("mallory", order.order_id),
                 lambda: w.orders.code_for("mallory", order.order_id),
                 lambda: w.orders.get("alice", "po_" + "0" * 32), lambda: w.orders.get("alice", "../etc")):
        with pytest.raises(ProxyOrderNotFound):
            call()


def test_confirmation_step_when_enabled() -> None:
    w = World(proxy_confirmation_required=True)
    user = w.account("alice", 5_000)
    agent = w.agent("bob", 50_000)
    order, code = w.orders.create("alice", OrderType.WITHDRAW, cny(2_000), True)
    pending, tx = w.execution.execute("bob", code, agent)
    assert pending.status is OrderStatus.AWAITING_CONFIRMATION and tx is None
    assert w.balance(agent) == 50_000
    with pytest.raises(OrderNotPending):
        w.execution.execute("bob", code, agent)
    done, tx = w.orders.confirm("alice", order.order_id, True)
    assert done.status is OrderStatus.EXECUTED and tx is not None
    assert (w.balance(user), w.balance(agent)) == (3_000, 52_000)
    # declining cancels and releases
    order2, code2 = w.orders.create("alice", OrderType.WITHDRAW, cny(1_000), True)
    w.execution.execute("bob", code2, agent)
    declined, _ = w.orders.confirm("alice", order2.order_id, False)
    assert declined.status is OrderStatus.CANCELLED and w.balance(user) == 3_000


def test_reversal_posts_the_opposite_transfer_once(w: World) -> None:
    user = w.account("alice", 5_000)
    agent = w.agent("bob", 50_000)
    order, code = w.orders.create("alice", OrderType.WITHDRAW, cny(2_000), True)
    w.execution.execute("bob", code, agent)
    request = w.reversals.request_reversal("bob", order.order_id, "wrong amount of cash handed out")
    with pytest.raises(ReversalNotAllowed):
        w.reversals.request_reversal("alice", order.order_id, "again")
    decided, tx = w.reversals.decide_reversal("rev", request.request_id, True, "ok")
    assert tx is not None and decided.transaction_id == tx.transaction_id
    assert (w.balance(user), w.balance(agent)) == (5_000, 50_000)
    with pytest.raises(ReversalNotAllowed):
        w.reversals.decide_reversal("rev", request.request_id, True, "twice")
    assert w.store.orders[order.order_id].status is OrderStatus.REVERSED


def test_reversal_window_and_state() -> None:
    w = World(proxy_reversal_window_seconds=60)
    w.account("alice", 5_000)
    agent = w.agent("bob", 50_000)
    order, code = w.orders.create("alice", OrderType.TOP_UP, cny(2_000), True)
    with pytest.raises(ReversalNotAllowed):
        w.reversals.request_reversal("alice", order.order_id, "not executed yet")
    w.execution.execute("bob", code, agent)
    w.clock.advance(61)
    with pytest.raises(ReversalNotAllowed) as err:
        w.reversals.request_reversal("alice", order.order_id, "too late")
    assert err.value.details["reason"] == "WINDOW_CLOSED"


def test_concurrent_executions_on_fakes_apply_once(w: World) -> None:
    user = w.account("alice", 0)
    agents = [w.agent(f"agent{i}", 10_000) for i in range(16)]
    _, code = w.orders.create("alice", OrderType.TOP_UP, cny(1_000), True)
    outcomes: list[str] = []

    def run(i: int) -> None:
        try:
            w.execution.execute(f"agent{i}", code, agents[i])
            outcomes.append("ok")
        except OrderNotPending:
            outcomes.append("409")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1 and outcomes.count("409") == 15
    assert w.balance(user) == 1_000


def test_agent_day_totals_match_the_ledger(w: World) -> None:
    w.account("alice", 100_000)
    agent = w.agent("bob", 100_000)
    for type, amount in ((OrderType.TOP_UP, 1_000), (OrderType.WITHDRAW, 2_500), (OrderType.TOP_UP, 700)):
        _, code = w.orders.create("alice", type, cny(amount), True)
        w.execution.execute("bob", code, agent)
    _, _day, orders, totals = w.agents.my_agent_orders("bob", None)
    assert (totals.count, totals.top_up_amount, totals.withdrawal_amount, totals.net) == (3, 1_700, 2_500, 800)
    entries = w.ledger_store.list_entries(agent, 100, None).items
    proxy_entries = [e for e in entries if e.type in ("PROXY_TOP_UP", "PROXY_WITHDRAWAL")]
    net = sum(e.amount.amount if e.direction.value == "CREDIT" else -e.amount.amount for e in proxy_entries)
    assert net == totals.net and {o.transaction_id for o in orders} == {e.transaction_id for e in proxy_entries}


def test_platform_accounts_are_not_agents(w: World) -> None:
    w.ledger.ensure_system_account("sys_x_CNY", AccountKind.PLATFORM, "CNY")
    with pytest.raises(AccountNotFound):
        w.agents.register_agent("admin", "sys_x_CNY", 1, 2, None)


def test_sweep_skips_orders_that_changed_after_listing(w: World, monkeypatch: pytest.MonkeyPatch) -> None:
    user = w.account("alice", 5_000)
    order, _ = w.orders.create("alice", OrderType.WITHDRAW, cny(1_000), True)
    w.clock.advance(300)
    stale = w.store.list_due(int(w.clock().timestamp()), 10)
    w.orders.cancel("alice", order.order_id)  # wins the race
    monkeypatch.setattr(w.store, "list_due", lambda now, limit: stale)
    assert w.execution.expire_due() == 0
    assert w.balance(user) == 5_000 and w.store.orders[order.order_id].status is OrderStatus.CANCELLED


def test_review_queue_pages_oldest_first(w: World) -> None:
    from shared.errors import InvalidPageToken
    from shared.proxy.models import ReversalStatus

    w.account("alice", 100_000)
    agent = w.agent("bob", 100_000)
    ids = []
    for _ in range(5):
        order, code = w.orders.create("alice", OrderType.TOP_UP, cny(100), True)
        w.execution.execute("bob", code, agent)
        ids.append(w.reversals.request_reversal("alice", order.order_id, "why").request_id)
        w.clock.advance(1)
    seen, token = [], None
    while True:
        page, token = w.reversals.list_reversals(ReversalStatus.REQUESTED, 2, token)
        seen += [r.request_id for r in page]
        if token is None:
            break
    assert seen == ids
    for bad in ("!!", "e30", "W10"):  # not base64 JSON / {} / []
        with pytest.raises(InvalidPageToken):
            w.reversals.list_reversals(ReversalStatus.REQUESTED, 2, bad)
