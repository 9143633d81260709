"""What every proxy service shares: its dependencies and the small helpers over them.

``ProxyDeps`` is what ``wiring`` builds once per configuration; each service
(``orders``, ``execution``, ``reversals``, ``agents``) takes it. The helpers
load an order (``load``; ``owned``, ``visible``: another user's order does not exist
for the caller), find the caller's account, and build a state-change event's outbox write
with masked parties only (``order_event``: committed with the change).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.clock import utcnow
from shared.ledger.errors import AccountNotFound
from shared.ledger.models import Account
from shared.ledger.ports import LedgerStore
from shared.ledger.service import LedgerService
from shared.outbox import OutboxEvent, domain_event
from shared.proxy.codes import ORDER_ID, CodeSigner, KeyRing
from shared.proxy.errors import ProxyOrderNotFound
from shared.proxy.masking import mask_account
from shared.proxy.models import OrderType, ProxyOrder
from shared.proxy.ports import GuardedWrite, ProxyStore
from shared.proxy.settings import ProxySettings

EVENT_SOURCE = "wallet.proxy"


def proxy_event(detail_type: str, detail: dict[str, Any], at: datetime, *identity: str) -> OutboxEvent:
    """A proxy event (source ``wallet.proxy``) for the outbox; ``identity``: the change's own ids."""
    return domain_event(EVENT_SOURCE, detail_type, detail, at, *identity)


TX_TYPES = {OrderType.TOP_UP: "PROXY_TOP_UP", OrderType.WITHDRAW: "PROXY_WITHDRAWAL"}


def holds_account_id(currency: str) -> str:
    """The platform account holding reserved withdrawal funds of a currency."""
    return f"sys_proxy_holds_{currency}"


def day_of(ts: datetime) -> str:
    """The UTC day (``YYYY-MM-DD``) that usage limits and agent listings count by."""
    return ts.date().isoformat()


@dataclass(frozen=True)
class ProxyDeps:
    store: ProxyStore
    ledger: LedgerService
    keys: Callable[[], KeyRing]
    """The current signing keys (called per use; the adapter caches the secret)."""
    settings: ProxySettings
    clock: Callable[[], datetime] = utcnow


class ProxyServiceBase:
    def __init__(self, deps: ProxyDeps) -> None:
        self.deps = deps
        self.store = deps.store
        self.ledger = deps.ledger
        self.accounts: LedgerStore = deps.ledger.store  # accounts are read through the ledger's port
        self.settings = deps.settings
        self.clock = deps.clock

    def signer(self) -> CodeSigner:
        return CodeSigner(self.deps.keys())

    def now(self) -> int:
        return int(self.clock().timestamp())

    def my_account(self, owner: str) -> Account:
        account = self.accounts.find_account_by_owner(owner)
        if account is None:
            raise AccountNotFound("The caller has no payment account; register one with POST /accounts.")
        return account

    def load(self, order_id: str) -> ProxyOrder:
        order = self.store.get_order(order_id) if ORDER_ID.match(order_id) else None
        if order is None:
            raise ProxyOrderNotFound()
        return order

    def owned(self, owner: str, order_id: str) -> ProxyOrder:
        order = self.load(order_id)
        if order.owner != owner:
            raise ProxyOrderNotFound()  # another user's order does not exist for the caller
        return order

    def visible(self, caller: str, order_id: str) -> ProxyOrder:
        """The order, for its requester or the proxy that took it (to anyone else it does not exist)."""
        order = self.load(order_id)
        if caller not in (order.owner, order.proxy_owner):
            raise ProxyOrderNotFound()
        return order

    def order_event(self, detail_type: str, order: ProxyOrder) -> GuardedWrite:
        """The outbox write of the order's state-change event (ids, amounts and masked account ids, no personal
        data), to commit with the change: one per (order, version)."""
        return self.store.event(proxy_event(detail_type, {
            "order_id": order.order_id, "type": order.type.value, "status": order.status.value,
            "amount": order.amount.model_dump(), "transaction_id": order.transaction_id,
            "version": order.version, **_masked_accounts(order),
        }, self.clock(), order.order_id, str(order.version)))


def _masked_accounts(order: ProxyOrder) -> dict[str, Any]:
    return {"requester_account": mask_account(order.owner_account_id),
            "proxy_account": mask_account(order.proxy_account_id)}
