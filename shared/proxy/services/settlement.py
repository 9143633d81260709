"""The order transitions that move money, shared by the requester's and the proxy's operations.

Every state change of an order is a conditional write (status + version, and
``expires_at`` against now where it matters) committed in the same DynamoDB
transaction as the transfer it goes with, so an order is executed or released
exactly once:

* settle:        PENDING|AWAITING -> EXECUTED (unexpired) + the proxy's limits + transfer
                 (top-up: proxy -> user; withdrawal: holds -> proxy). An agent's limits are its active
                 status and daily usage; a friend's withdrawal counts against the friends' daily limit.
* close:         PENDING|AWAITING -> CANCELLED|EXPIRED + release transfer (holds -> user)
* transition:    a state change without money (PENDING -> AWAITING_CONFIRMATION)

Each write carries its own domain error (built by the store), so a refused
transaction raises the reason without interpreting positions.
"""

from __future__ import annotations

from shared.ledger.errors import InsufficientFunds
from shared.ledger.models import CUSTOMER_ONLY, Transaction
from shared.ledger.service import derived_transaction_id
from shared.proxy.errors import AgentLimitExceeded, FriendLimitExceeded, ProxyNotEligible
from shared.proxy.models import Agent, OrderStatus, OrderType, ProxyOrder
from shared.proxy.ports import Expiry, GuardedWrite
from shared.proxy.services.base import TX_TYPES, ProxyServiceBase, day_of, holds_account_id
from shared.proxy.settings import ProxySettings


class Settlement(ProxyServiceBase):
    def settle(self, order: ProxyOrder, agent: Agent | None,
               request: str | None = None) -> tuple[ProxyOrder, Transaction]:
        """Execute ``order`` (its proxy already chosen and eligible): the order, the agent's limits, the money.
        ``request``: the tag of the request that executes it, recorded on the order (``ProxyOrder.last_request``)."""
        now = self.clock()
        tx_id = derived_transaction_id("pxe", order.order_id)
        after = order.next(status=OrderStatus.EXECUTED, executed_at=now, closed_at=now, transaction_id=tx_id,
                           last_request=request)
        writes = [self.store.order_transition(order, after, int(now.timestamp()), "unexpired"),
                  *self._proxy_limits(order, agent, day_of(now)), self.order_event("ProxyOrderExecuted", after)]
        proxy = order.proxy_account_id or ""
        debit, credit = ((proxy, order.owner_account_id) if order.type is OrderType.TOP_UP
                         else (holds_account_id(order.amount.currency), proxy))
        try:
            tx = self.ledger.transfer(tx_id, debit, credit, order.amount, TX_TYPES[order.type],
                                      metadata={"order_id": order.order_id}, writes=writes,
                                      credit_kinds=CUSTOMER_ONLY)
        except InsufficientFunds:
            if agent is not None:
                raise AgentLimitExceeded("The agent's float is too low for this top-up.", limit="float") from None
            raise ProxyNotEligible("The proxy account's balance is too low for this top-up.",
                                   reason="INSUFFICIENT_BALANCE") from None
        return after, tx

    def _proxy_limits(self, order: ProxyOrder, agent: Agent | None, day: str) -> list[GuardedWrite]:
        """The writes that hold the proxy to its limits in the execution's transaction."""
        amount = order.amount.amount
        if agent is not None:
            return [self.store.agent_active(agent), self.store.add_agent_usage(agent, day, amount)]
        if order.type is OrderType.WITHDRAW:  # a friend: checked again here for the confirmation path
            check_friend_withdrawal(self.settings, order)
            return [self.store.add_friend_usage(order.proxy_account_id or "", day, amount,
                                                self.settings.proxy_friend_daily_amount)]
        return []

    def close(self, order: ProxyOrder, status: OrderStatus, expiry: Expiry, request: str | None = None) -> ProxyOrder:
        """Cancel or expire an open order; a withdrawal's hold goes back to the requester in the same transaction.
        ``request``: the tag of the request that closes it, recorded on the order."""
        now = self.clock()
        release = derived_transaction_id("pxl", order.order_id) if order.type is OrderType.WITHDRAW else None
        after = order.next(status=status, closed_at=now, release_transaction_id=release, last_request=request)
        writes = [self.store.order_transition(order, after, int(now.timestamp()), expiry),
                  self.order_event(f"ProxyOrder{status.value.title()}", after)]
        if release is None:
            self.store.commit(writes)
        else:
            self.ledger.transfer(release, holds_account_id(order.amount.currency), order.owner_account_id,
                                 order.amount, "PROXY_HOLD_RELEASE", metadata={"order_id": order.order_id},
                                 writes=writes, credit_kinds=CUSTOMER_ONLY)
        return after

    def transition(self, before: ProxyOrder, after: ProxyOrder, expiry: Expiry, event: str) -> None:
        """A state change without money, with its ``event`` (detail type)."""
        writes: list[GuardedWrite] = [self.store.order_transition(before, after, self.now(), expiry),
                                      self.order_event(event, after)]
        self.store.commit(writes)


def check_friend_withdrawal(settings: ProxySettings, order: ProxyOrder) -> None:
    """A withdrawal executed by a friend: allowed by configuration and within the per-order limit."""
    if not settings.proxy_friend_withdrawals:
        raise ProxyNotEligible("Cash withdrawals are executed by registered agents only.",
                               reason="WITHDRAWAL_REQUIRES_AGENT")
    if order.amount.amount > settings.proxy_friend_max_order_amount:
        raise FriendLimitExceeded("The amount exceeds a friend's per-order withdrawal limit.", limit="per_order",
                                  maximum=settings.proxy_friend_max_order_amount)
