"""The order transitions that move money, shared by the requester's and the proxy's operations.

Every state change of an order is a conditional write (status + version, and
``expires_at`` against now where it matters) committed in the same DynamoDB
transaction as the transfer it goes with, so an order is executed or released
exactly once:

* settle:        PENDING|AWAITING -> EXECUTED (unexpired) + agent checks + transfer
                 (top-up: proxy -> user; withdrawal: holds -> proxy)
* close:         PENDING|AWAITING -> CANCELLED|EXPIRED + release transfer (holds -> user)
* transition:    a state change without money (PENDING -> AWAITING_CONFIRMATION)

Each write carries its own domain error (built by the store), so a refused
transaction raises the reason without interpreting positions.
"""

from __future__ import annotations

from shared.ledger.errors import InsufficientFunds
from shared.ledger.models import Transaction
from shared.ledger.service import derived_transaction_id
from shared.proxy.errors import AgentLimitExceeded, ProxyNotEligible
from shared.proxy.models import Agent, OrderStatus, OrderType, ProxyOrder
from shared.proxy.ports import Expiry, GuardedWrite
from shared.proxy.services.base import TX_TYPES, ProxyServiceBase, day_of, holds_account_id


class Settlement(ProxyServiceBase):
    def settle(self, order: ProxyOrder, agent: Agent | None) -> tuple[ProxyOrder, Transaction]:
        """Execute ``order`` (its proxy already chosen and eligible): the order, the agent's limits, the money."""
        now = self.clock()
        tx_id = derived_transaction_id("pxe", order.order_id)
        after = order.next(status=OrderStatus.EXECUTED, executed_at=now, closed_at=now, transaction_id=tx_id)
        writes = [self.store.order_transition(order, after, int(now.timestamp()), "unexpired")]
        if agent is not None:
            writes += [self.store.agent_active(agent),
                       self.store.add_agent_usage(agent, day_of(now), order.amount.amount)]
        proxy = order.proxy_account_id or ""
        debit, credit = ((proxy, order.owner_account_id) if order.type is OrderType.TOP_UP
                         else (holds_account_id(order.amount.currency), proxy))
        try:
            tx = self.ledger.transfer(tx_id, debit, credit, order.amount, TX_TYPES[order.type],
                                      metadata={"order_id": order.order_id}, writes=writes)
        except InsufficientFunds:
            if agent is not None:
                raise AgentLimitExceeded("The agent's float is too low for this top-up.", limit="float") from None
            raise ProxyNotEligible("The proxy account's balance is too low for this top-up.",
                                   reason="INSUFFICIENT_BALANCE") from None
        self.emit("ProxyOrderExecuted", after)
        return after, tx

    def close(self, order: ProxyOrder, status: OrderStatus, expiry: Expiry) -> ProxyOrder:
        """Cancel or expire an open order; a withdrawal's hold goes back to the requester in the same transaction."""
        now = self.clock()
        release = derived_transaction_id("pxl", order.order_id) if order.type is OrderType.WITHDRAW else None
        after = order.next(status=status, closed_at=now, release_transaction_id=release)
        write = self.store.order_transition(order, after, int(now.timestamp()), expiry)
        if release is None:
            self.store.commit([write])
        else:
            self.ledger.transfer(release, holds_account_id(order.amount.currency), order.owner_account_id,
                                 order.amount, "PROXY_HOLD_RELEASE", metadata={"order_id": order.order_id},
                                 writes=[write])
        self.emit(f"ProxyOrder{status.value.title()}", after)
        return after

    def transition(self, before: ProxyOrder, after: ProxyOrder, expiry: Expiry) -> None:
        """A state change without money."""
        writes: list[GuardedWrite] = [self.store.order_transition(before, after, self.now(), expiry)]
        self.store.commit(writes)
