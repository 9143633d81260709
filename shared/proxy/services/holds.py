"""What the holds accounts must hold: the amounts of the withdrawals that are still open (read by reconciliation).

A withdrawal moves its amount requester -> ``sys_proxy_holds_<CCY>`` when it is created, in the same transaction
as the order; execution pays it to the proxy, cancellation and expiry give it back, each in the transaction that
closes the order. So, at any moment, a holds account's balance is the sum of its currency's open withdrawals
(``PENDING`` or ``AWAITING_CONFIRMATION``).
"""

from __future__ import annotations

from shared.proxy.models import OPEN_STATUSES, OrderType, PendingHolds
from shared.proxy.services.base import ProxyServiceBase, holds_account_id


class HoldsService(ProxyServiceBase):
    def pending_holds(self) -> list[PendingHolds]:
        """Per currency with open withdrawals: the holds account and the amount it must hold. Each order listed by
        the (eventually consistent) index is confirmed with a consistent read, so a just-closed one is not counted;
        one created a moment ago may still be missing (the caller re-checks a difference before reporting it)."""
        totals: dict[str, tuple[int, int]] = {}
        for listed in self.store.list_open():
            if listed.type is not OrderType.WITHDRAW:
                continue
            order = self.store.get_order(listed.order_id)
            if order is None or order.status not in OPEN_STATUSES:
                continue
            amount, count = totals.get(order.amount.currency, (0, 0))
            totals[order.amount.currency] = (amount + order.amount.amount, count + 1)
        return [PendingHolds(account_id=holds_account_id(ccy), currency=ccy, amount=amount, orders=count)
                for ccy, (amount, count) in sorted(totals.items())]
