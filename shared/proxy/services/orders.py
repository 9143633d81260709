"""The requester's side of proxy mode: create an order, read it, show its code, cancel it, confirm the proxy.

Creating a withdrawal holds the amount (user -> holds account) in the same
transaction as the order's put-once and the requester's daily usage; a top-up
moves no money until it is executed.
"""

from __future__ import annotations

import hashlib
import secrets

from shared.errors import InvalidInput
from shared.ledger.errors import InvalidAmount, SecurityAuthenticationRequired
from shared.ledger.models import HOLDS_ONLY, AccountKind, Transaction
from shared.ledger.service import derived_transaction_id
from shared.proxy.errors import (
    ConfirmationNotRequired,
    NotAwaitingConfirmation,
    OrderLimitExceeded,
    OrderNotPending,
    ProxyCodeExpired,
    ProxyModeRequired,
)
from shared.proxy.models import OPEN_STATUSES, OrderStatus, OrderType, ProxyOrder
from shared.proxy.ports import GuardedWrite
from shared.proxy.services.base import ProxyDeps, ProxyServiceBase, day_of, holds_account_id
from shared.proxy.services.settlement import Settlement
from shared.types import Money


class RequesterOrderService(ProxyServiceBase):
    def __init__(self, deps: ProxyDeps) -> None:
        super().__init__(deps)
        self.settlement = Settlement(deps)

    def create(self, owner: str, type: OrderType, amount: Money, proxy_mode: bool | None,
               request_key: str | None = None) -> tuple[ProxyOrder, str]:
        """The new order and its signed code (what the QR encodes).

        With the request's ``Idempotency-Key`` the order id is derived from it (owner, key): a retry after a crash
        between the commit and the idempotency record's completion finds the order it created and returns it
        (one order, one hold), instead of creating a second one."""
        if proxy_mode is not True:
            raise ProxyModeRequired()
        self.ledger.check_amount(amount)
        if amount.amount > self.settings.proxy_max_order_amount:
            raise InvalidAmount("The amount exceeds the per-order limit.", limit="per_order",
                                maximum=self.settings.proxy_max_order_amount)
        if amount.amount > self.settings.proxy_daily_amount:
            raise OrderLimitExceeded(limit="daily", maximum=self.settings.proxy_daily_amount)
        account = self.my_account(owner)
        if account.security_auth_required:  # a bank binding's first-use verification is due (SPEC §6)
            raise SecurityAuthenticationRequired(account_id=account.account_id)
        if account.currency != amount.currency:
            raise InvalidInput("The amount's currency differs from the account's.", account_currency=account.currency)
        signer = self.signer()
        order_id = _order_id(owner, request_key)
        existing = self.store.get_order(order_id) if request_key else None
        if existing is not None and existing.owner == owner:
            return existing, signer.sign(existing.order_id, existing.expires_at, existing.kid)
        now = self.clock()
        order = ProxyOrder(order_id=order_id, type=type, status=OrderStatus.PENDING, owner=owner,
                           owner_account_id=account.account_id, amount=amount, kid=signer.keys.active,
                           created_at=now, expires_at=int(now.timestamp()) + self.settings.proxy_code_ttl_seconds)
        if type is OrderType.WITHDRAW:
            holds = self.ledger.ensure_system_account(holds_account_id(amount.currency), AccountKind.HOLDS,
                                                      amount.currency)
            hold_tx = derived_transaction_id("pxh", order_id)
            order = order.model_copy(update={"hold_transaction_id": hold_tx})
            self.ledger.transfer(hold_tx, account.account_id, holds.account_id, amount, "PROXY_HOLD",
                                 metadata={"order_id": order_id}, writes=self._create_writes(order),
                                 credit_kinds=HOLDS_ONLY)
        else:
            self.store.commit(self._create_writes(order))
        return order, signer.sign(order.order_id, order.expires_at, order.kid)

    def _create_writes(self, order: ProxyOrder) -> list[GuardedWrite]:
        """The order, once, the requester's usage of the day within the daily limit, and the order's event."""
        return [self.store.put_order(order),
                self.store.add_requester_usage(order, day_of(order.created_at), self.settings.proxy_daily_amount),
                self.order_event("ProxyOrderCreated", order)]

    def get(self, caller: str, order_id: str) -> ProxyOrder:
        """The order, for its requester or the proxy that took it."""
        return self.visible(caller, order_id)

    def code_for(self, owner: str, order_id: str) -> str:
        """The code of the caller's own open order (for its QR image)."""
        order = self.owned(owner, order_id)
        if order.status is not OrderStatus.PENDING:
            raise OrderNotPending(status=order.status.value)
        if order.expires_at <= self.now():
            raise ProxyCodeExpired(order_id=order.order_id)
        return self.signer().sign(order.order_id, order.expires_at, order.kid)

    def cancel(self, owner: str, order_id: str, request: str | None = None) -> ProxyOrder:
        """``request``: the request's tag (``shared.api.idempotency.request_tag``), recorded with the cancellation;
        the same request retried after a crash past its commit answers the cancelled order again."""
        order = self.owned(owner, order_id)
        if order.status not in OPEN_STATUSES:
            if request and order.status is OrderStatus.CANCELLED and order.last_request == request:
                return order  # this request cancelled it; its answer was lost
            raise OrderNotPending(status=order.status.value)
        return self.settlement.close(order, OrderStatus.CANCELLED, expiry=None, request=request)

    def confirm(self, owner: str, order_id: str, approve: bool) -> tuple[ProxyOrder, Transaction | None]:
        """The requester confirms the proxy of an order awaiting confirmation (money moves) or declines it."""
        order = self.owned(owner, order_id)
        if order.status is not OrderStatus.AWAITING_CONFIRMATION:
            raise _nothing_to_confirm(order, self.settings.proxy_confirmation_required)
        if not approve:
            return self.settlement.close(order, OrderStatus.CANCELLED, expiry=None), None
        agent = self.store.get_agent(order.proxy_account_id or "") if order.proxy_is_agent else None
        return self.settlement.settle(order, agent)


def _order_id(owner: str, request_key: str | None) -> str:
    """``po_`` + 32 hex: derived from (owner, Idempotency-Key) when there is one, random otherwise."""
    if request_key is None:
        return "po_" + secrets.token_hex(16)
    return "po_" + hashlib.sha256(f"{owner}\x1f{request_key}".encode()).hexdigest()[:32]


def _nothing_to_confirm(order: ProxyOrder, confirmation_required: bool) -> Exception:
    """Why an order that is not awaiting confirmation cannot be confirmed."""
    if not confirmation_required:
        return ConfirmationNotRequired(status=order.status.value)
    if order.status is OrderStatus.PENDING:
        return NotAwaitingConfirmation(status=order.status.value)
    return OrderNotPending(status=order.status.value)
