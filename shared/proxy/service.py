"""Proxy-mode business execution (SPEC §7): the business rules.

Money never moves outside ``LedgerService.transfer``. Every state change of an
order is a conditional write (status + version, and ``expires_at`` against now
where it matters) committed in the same DynamoDB transaction as the transfer
it goes with, so an order is executed, released or reversed exactly once:

* create withdrawal: order put-once + requester usage + hold transfer (user -> holds account)
* execute:           PENDING -> EXECUTED (unexpired) + agent usage + transfer
                     (top-up: proxy -> user; withdrawal: holds -> proxy)
* cancel / expire:   PENDING|AWAITING -> CANCELLED|EXPIRED + release transfer (holds -> user)
* reversal approved: EXECUTED -> REVERSED + request decided + opposite transfer
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.clock import utcnow
from shared.errors import DomainError, InvalidInput, InvalidPageToken
from shared.ledger.errors import AccountNotFound, InsufficientFunds, InvalidAmount
from shared.ledger.models import Account, AccountKind, AccountStatus, Transaction
from shared.ledger.ports import ExtraItemRejected
from shared.ledger.service import LedgerService, derived_transaction_id
from shared.proxy.codes import ORDER_ID, CodeSigner, KeyRing, VerifiedCode
from shared.proxy.errors import (
    AgentLimitExceeded,
    AgentNotFound,
    InvalidProxyCode,
    OrderLimitExceeded,
    OrderNotPending,
    ProxyCodeExpired,
    ProxyModeRequired,
    ProxyNotEligible,
    ProxyOrderNotFound,
    ReversalNotAllowed,
    ReversalNotFound,
)
from shared.proxy.masking import mask_account, mask_parties
from shared.proxy.models import (
    OPEN_STATUSES,
    Agent,
    AgentStatus,
    AgentUsage,
    OrderStatus,
    OrderType,
    ProxyOrder,
    ReversalRequest,
    ReversalStatus,
)
from shared.proxy.ports import EventPublisher, Expiry, ProxyStore
from shared.proxy.settings import ProxySettings
from shared.types import Money

TX_TYPES = {OrderType.TOP_UP: "PROXY_TOP_UP", OrderType.WITHDRAW: "PROXY_WITHDRAWAL"}


def holds_account_id(currency: str) -> str:
    """The platform account holding reserved withdrawal funds of a currency."""
    return f"sys_proxy_holds_{currency}"


@dataclass(frozen=True)
class Totals:
    count: int
    top_up_amount: int  # paid out by the agent's account (agent -> customers)
    withdrawal_amount: int  # received by the agent's account (customers -> agent)

    @property
    def net(self) -> int:
        return self.withdrawal_amount - self.top_up_amount


class ProxyService:
    def __init__(self, store: ProxyStore, ledger: LedgerService, keys: Callable[[], KeyRing],
                 events: EventPublisher, settings: ProxySettings, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.ledger = ledger
        self.accounts = ledger.store
        self.keys = keys
        self.events = events
        self.settings = settings
        self.clock = clock

    def signer(self) -> CodeSigner:
        return CodeSigner(self.keys())

    # --- requester ------------------------------------------------------------
    def create(self, owner: str, type: OrderType, amount: Money, proxy_mode: bool | None) -> tuple[ProxyOrder, str]:
        if proxy_mode is not True:
            raise ProxyModeRequired()
        self.ledger.check_amount(amount)
        if amount.amount > self.settings.proxy_max_order_amount:
            raise InvalidAmount("The amount exceeds the per-order limit.", limit="per_order",
                                maximum=self.settings.proxy_max_order_amount)
        if amount.amount > self.settings.proxy_daily_amount:
            raise OrderLimitExceeded(limit="daily", maximum=self.settings.proxy_daily_amount)
        account = self._my_account(owner)
        if account.currency != amount.currency:
            raise InvalidInput("The amount's currency differs from the account's.", account_currency=account.currency)
        now = self.clock()
        keys = self.keys()
        order_id = "po_" + secrets.token_hex(16)
        order = ProxyOrder(order_id=order_id, type=type, status=OrderStatus.PENDING, owner=owner,
                           owner_account_id=account.account_id, amount=amount, kid=keys.active, created_at=now,
                           expires_at=int(now.timestamp()) + self.settings.proxy_code_ttl_seconds)
        try:
            if type is OrderType.WITHDRAW:
                holds = self.ledger.ensure_system_account(holds_account_id(amount.currency), AccountKind.PLATFORM,
                                                          amount.currency)
                hold_tx = derived_transaction_id("pxh", order_id)
                order = order.model_copy(update={"hold_transaction_id": hold_tx})
                items = self.store.create_items(order, _day(now), self.settings.proxy_daily_amount)
                self.ledger.transfer(hold_tx, account.account_id, holds.account_id, amount,
                                     "PROXY_HOLD", metadata={"order_id": order_id}, extra_items=items)
            else:
                self.store.commit(self.store.create_items(order, _day(now), self.settings.proxy_daily_amount))
        except ExtraItemRejected as exc:
            if exc.index == 1:
                raise OrderLimitExceeded(limit="daily", maximum=self.settings.proxy_daily_amount) from None
            raise
        self._emit("ProxyOrderCreated", order)
        return order, CodeSigner(keys).sign(order.order_id, order.expires_at, order.kid)

    def get(self, caller: str, order_id: str) -> ProxyOrder:
        order = self._load(order_id)
        if caller not in (order.owner, order.proxy_owner):
            raise ProxyOrderNotFound()
        return order

    def code_for(self, owner: str, order_id: str) -> str:
        """The code of the caller's own open order (for its QR image)."""
        order = self._owned(owner, order_id)
        if order.status is not OrderStatus.PENDING:
            raise OrderNotPending(status=order.status.value)
        if order.expires_at <= self._now():
            raise ProxyCodeExpired(order_id=order.order_id)
        return self.signer().sign(order.order_id, order.expires_at, order.kid)

    def cancel(self, owner: str, order_id: str) -> ProxyOrder:
        order = self._owned(owner, order_id)
        if order.status not in OPEN_STATUSES:
            raise OrderNotPending(status=order.status.value)
        return self._close(order, OrderStatus.CANCELLED, expiry=None)

    def confirm(self, owner: str, order_id: str, approve: bool) -> tuple[ProxyOrder, Transaction | None]:
        order = self._owned(owner, order_id)
        if order.status is not OrderStatus.AWAITING_CONFIRMATION:
            raise OrderNotPending(status=order.status.value)
        if not approve:
            return self._close(order, OrderStatus.CANCELLED, expiry=None), None
        agent = self.store.get_agent(order.proxy_account_id or "") if order.proxy_is_agent else None
        return self._settle(order, agent)

    # --- proxy ----------------------------------------------------------------
    def verify_code(self, code: str) -> VerifiedCode:
        """The code's order id and expiry if it is genuine and unexpired (pure: no database request)."""
        return self.signer().verify(code, self._now())

    def execute(self, proxy_owner: str, code: str, proxy_account_id: str) -> tuple[ProxyOrder, Transaction | None]:
        verified = self.verify_code(code)  # before any database read
        order = self._load(verified.order_id)
        if order.expires_at != verified.expires_at:
            raise InvalidProxyCode()
        if order.status is not OrderStatus.PENDING:
            raise OrderNotPending(status=order.status.value)
        proxy, agent = self._eligible(proxy_owner, proxy_account_id, order)
        order = order.model_copy(update={"proxy_account_id": proxy.account_id, "proxy_owner": proxy_owner,
                                         "proxy_is_agent": agent is not None,
                                         "proxy_display_name": agent.display_name if agent else None})
        if self.settings.proxy_confirmation_required:
            after = order.next(status=OrderStatus.AWAITING_CONFIRMATION)
            self._commit_transition(order, after, expiry="unexpired")
            self._emit("ProxyOrderAwaitingConfirmation", after)
            return after, None
        return self._settle(order, agent)

    def _eligible(self, caller: str, account_id: str, order: ProxyOrder) -> tuple[Account, Agent | None]:
        proxy = self.accounts.get_account(account_id)
        if proxy is None or proxy.owner != caller:
            raise ProxyNotEligible("The proxy account must be the caller's own account.", reason="ACCOUNT_NOT_OWNED")
        if caller == order.owner or proxy.account_id == order.owner_account_id:
            raise ProxyNotEligible("The requester cannot be their own proxy.", reason="SELF_PROXY")
        if proxy.status is not AccountStatus.ACTIVE:
            raise ProxyNotEligible("The proxy account is not active.", reason="ACCOUNT_NOT_ACTIVE")
        if proxy.currency != order.amount.currency:
            raise ProxyNotEligible("The proxy account holds another currency.", reason="CURRENCY_MISMATCH")
        agent = self.store.get_agent(proxy.account_id)
        if agent is None:
            if order.type is OrderType.WITHDRAW:
                raise ProxyNotEligible("Cash withdrawals are executed by registered agents only.",
                                       reason="WITHDRAWAL_REQUIRES_AGENT")
            if proxy.balance < order.amount.amount:
                raise ProxyNotEligible("The proxy account's balance is too low for this top-up.",
                                       reason="INSUFFICIENT_BALANCE")
            return proxy, None
        if agent.status is not AgentStatus.ACTIVE:
            raise ProxyNotEligible("The agent is not active.", reason="AGENT_NOT_ACTIVE")
        amount = order.amount.amount
        if amount > agent.per_order:
            raise AgentLimitExceeded("The amount exceeds the agent's per-order limit.", limit="per_order",
                                     maximum=agent.per_order)
        # The daily limit is enforced by the usage item's condition in the execution transaction.
        if order.type is OrderType.TOP_UP and proxy.balance < amount:
            raise AgentLimitExceeded("The agent's float is too low for this top-up.", limit="float")
        return proxy, agent

    def _settle(self, order: ProxyOrder, agent: Agent | None) -> tuple[ProxyOrder, Transaction]:
        now = self.clock()
        tx_id = derived_transaction_id("pxe", order.order_id)
        after = order.next(status=OrderStatus.EXECUTED, executed_at=now, closed_at=now, transaction_id=tx_id)
        items = list(self.store.transition_items(order, after, int(now.timestamp()), "unexpired"))
        if agent is not None:
            items += self.store.agent_usage_items(agent, _day(now), order.amount.amount)
        proxy = order.proxy_account_id or ""
        debit, credit = ((proxy, order.owner_account_id) if order.type is OrderType.TOP_UP
                         else (holds_account_id(order.amount.currency), proxy))
        try:
            tx = self.ledger.transfer(tx_id, debit, credit, order.amount, TX_TYPES[order.type],
                                      metadata={"order_id": order.order_id}, extra_items=items)
        except ExtraItemRejected as exc:
            if exc.index == 0:
                raise self._why_not(order.order_id) from None
            if exc.index == 1:
                raise ProxyNotEligible("The agent is not active.", reason="AGENT_NOT_ACTIVE") from None
            raise AgentLimitExceeded("The agent's daily limit does not allow this order.", limit="daily",
                                     maximum=agent.daily if agent else None) from None
        except InsufficientFunds:
            if agent is not None:
                raise AgentLimitExceeded("The agent's float is too low for this top-up.", limit="float") from None
            raise ProxyNotEligible("The proxy account's balance is too low for this top-up.",
                                   reason="INSUFFICIENT_BALANCE") from None
        self._emit("ProxyOrderExecuted", after)
        return after, tx

    # --- expiry ---------------------------------------------------------------
    def expire_due(self) -> int:
        """Expire open orders past ``expires_at`` and release their holds (the scheduled sweep)."""
        expired = 0
        for order in self.store.list_due(self._now(), self.settings.proxy_sweep_batch):
            try:
                self._close(order, OrderStatus.EXPIRED, expiry="expired")
                expired += 1
            except DomainError:
                continue  # changed since the index was read (executed, cancelled, expired) or busy: next sweep
        return expired

    def _close(self, order: ProxyOrder, status: OrderStatus, expiry: Expiry) -> ProxyOrder:
        now = self.clock()
        release = derived_transaction_id("pxl", order.order_id) if order.type is OrderType.WITHDRAW else None
        after = order.next(status=status, closed_at=now, release_transaction_id=release)
        if release is None:
            self._commit_transition(order, after, expiry)
        else:
            items = self.store.transition_items(order, after, int(now.timestamp()), expiry)
            try:
                self.ledger.transfer(release, holds_account_id(order.amount.currency), order.owner_account_id,
                                     order.amount, "PROXY_HOLD_RELEASE", metadata={"order_id": order.order_id},
                                     extra_items=items)
            except ExtraItemRejected:
                raise self._why_not(order.order_id) from None
        self._emit(f"ProxyOrder{status.value.title()}", after)
        return after

    # --- reversal -------------------------------------------------------------
    def request_reversal(self, caller: str, order_id: str, reason: str) -> ReversalRequest:
        order = self.get(caller, order_id)
        now = self.clock()
        if order.status is not OrderStatus.EXECUTED or order.executed_at is None:
            raise ReversalNotAllowed("Only an executed order can be reversed.", reason="NOT_EXECUTED")
        if order.reversal_request_id:
            raise ReversalNotAllowed("A reversal was already requested for this order.", reason="ALREADY_REQUESTED",
                                     request_id=order.reversal_request_id)
        if (now - order.executed_at).total_seconds() > self.settings.proxy_reversal_window_seconds:
            raise ReversalNotAllowed("The reversal window has closed.", reason="WINDOW_CLOSED")
        request = ReversalRequest(request_id="prr_" + secrets.token_hex(16), order_id=order_id, requested_by=caller,
                                  reason=reason, created_at=now)
        after = order.next(reversal_request_id=request.request_id)
        items = [*self.store.reversal_items(request, "new"),
                 *self.store.transition_items(order, after, int(now.timestamp()), None)]
        try:
            self.store.commit(items)
        except ExtraItemRejected:
            raise ReversalNotAllowed("The order changed; read it again.", reason="CONFLICT") from None
        self.events.publish("ProxyReversalRequested", {"order_id": order_id, "request_id": request.request_id})
        return request

    def list_reversals(self, status: ReversalStatus, limit: int,
                       next_token: str | None) -> tuple[list[ReversalRequest], str | None]:
        """The review queue (admin/reviewer), oldest first, paginated with an opaque token."""
        cursor = _decode_token(next_token) if next_token else None
        items, last = self.store.list_reversals(status, limit, cursor)
        return items, _encode_token(last) if last else None

    def get_reversal(self, request_id: str) -> ReversalRequest:
        request = self.store.get_reversal(request_id)
        if request is None:
            raise ReversalNotFound()
        return request

    def decide_reversal(self, decider: str, request_id: str, approve: bool,
                        note: str | None) -> tuple[ReversalRequest, Transaction | None]:
        request = self.get_reversal(request_id)
        if request.status is not ReversalStatus.REQUESTED:
            raise ReversalNotAllowed("The request was already decided.", reason="ALREADY_DECIDED",
                                     status=request.status.value)
        now = self.clock()
        decided = request.model_copy(update={"status": ReversalStatus.APPROVED if approve else ReversalStatus.REJECTED,
                                             "decided_by": decider, "decided_at": now, "decision_note": note})
        if not approve:
            try:
                self.store.commit(self.store.reversal_items(decided, request))
            except ExtraItemRejected:
                raise ReversalNotAllowed("The request was already decided.", reason="ALREADY_DECIDED") from None
            self.events.publish("ProxyReversalRejected", {"order_id": request.order_id, "request_id": request_id})
            return decided, None
        order = self._load(request.order_id)
        if order.status is not OrderStatus.EXECUTED or order.reversal_request_id != request_id:
            raise ReversalNotAllowed("The order is not in a reversible state.", reason="NOT_EXECUTED")
        tx_id = derived_transaction_id("pxr", order.order_id)
        decided = decided.model_copy(update={"transaction_id": tx_id})
        after = order.next(status=OrderStatus.REVERSED, reversal_transaction_id=tx_id)
        proxy = order.proxy_account_id or ""
        debit, credit = ((order.owner_account_id, proxy) if order.type is OrderType.TOP_UP
                         else (proxy, order.owner_account_id))
        items = [*self.store.reversal_items(decided, request),
                 *self.store.transition_items(order, after, int(now.timestamp()), None)]
        try:
            tx = self.ledger.transfer(tx_id, debit, credit, order.amount, "PROXY_REVERSAL",
                                      metadata={"order_id": order.order_id, "reversal_request_id": request_id},
                                      extra_items=items)
        except ExtraItemRejected:
            raise ReversalNotAllowed("The request or order changed meanwhile.", reason="ALREADY_DECIDED") from None
        self._emit("ProxyOrderReversed", after)
        return decided, tx

    # --- agents ---------------------------------------------------------------
    def register_agent(self, admin: str, account_id: str, per_order: int, daily: int,
                       display_name: str | None) -> Agent:
        if per_order > daily:
            raise InvalidInput("The per-order limit cannot exceed the daily limit.", per_order=per_order, daily=daily)
        account = self.accounts.get_account(account_id)
        if account is None or account.kind is not AccountKind.CUSTOMER:
            raise AccountNotFound(account_id=account_id)
        agent = Agent(account_id=account_id, owner=account.owner, per_order=per_order, daily=daily,
                      display_name=display_name, registered_by=admin, created_at=self.clock())
        self.store.put_agent(agent)
        self.events.publish("ProxyAgentRegistered", {"account_id": mask_account(account_id)})
        return agent

    def my_agent(self, caller: str) -> tuple[Agent, Account, AgentUsage]:
        account = self._my_account(caller)
        agent = self.store.get_agent(account.account_id)
        if agent is None:
            raise AgentNotFound()
        return agent, account, self.store.get_agent_usage(account.account_id, _day(self.clock()))

    def my_agent_orders(self, caller: str, day: str | None) -> tuple[Agent, str, list[ProxyOrder], Totals]:
        agent, _, _ = self.my_agent(caller)
        day = day or _day(self.clock())
        orders = self.store.list_agent_orders(agent.account_id, day)
        totals = Totals(
            count=len(orders),
            top_up_amount=sum(o.amount.amount for o in orders if o.type is OrderType.TOP_UP),
            withdrawal_amount=sum(o.amount.amount for o in orders if o.type is OrderType.WITHDRAW),
        )
        return agent, day, orders, totals

    def parties(self, order: ProxyOrder) -> dict[str, Any]:
        """Both parties of an order, masked (receipts, order views, events)."""
        proxy: dict[str, Any] = {"account_id": order.proxy_account_id, "is_agent": order.proxy_is_agent,
                                 "display_name": order.proxy_display_name}
        return mask_parties({"requester": {"account_id": order.owner_account_id}, "proxy": proxy})

    # --- helpers --------------------------------------------------------------
    def _now(self) -> int:
        return int(self.clock().timestamp())

    def _my_account(self, owner: str) -> Account:
        account = self.accounts.find_account_by_owner(owner)
        if account is None:
            raise AccountNotFound("The caller has no payment account; register one with POST /accounts.")
        return account

    def _load(self, order_id: str) -> ProxyOrder:
        order = self.store.get_order(order_id) if ORDER_ID.match(order_id) else None
        if order is None:
            raise ProxyOrderNotFound()
        return order

    def _owned(self, owner: str, order_id: str) -> ProxyOrder:
        order = self._load(order_id)
        if order.owner != owner:
            raise ProxyOrderNotFound()  # another user's order does not exist for the caller
        return order

    def _commit_transition(self, before: ProxyOrder, after: ProxyOrder, expiry: Expiry) -> None:
        try:
            self.store.commit(self.store.transition_items(before, after, self._now(), expiry))
        except ExtraItemRejected:
            raise self._why_not(before.order_id) from None

    def _why_not(self, order_id: str) -> Exception:
        """Why a conditional write on an order failed, from its current state."""
        current = self.store.get_order(order_id)
        if current is None:
            return ProxyOrderNotFound()
        if current.status in OPEN_STATUSES and current.expires_at <= self._now():
            return ProxyCodeExpired(order_id=order_id)
        return OrderNotPending(status=current.status.value)

    def _emit(self, detail_type: str, order: ProxyOrder) -> None:
        self.events.publish(detail_type, {
            "order_id": order.order_id, "type": order.type.value, "status": order.status.value,
            "amount": order.amount.model_dump(), "transaction_id": order.transaction_id,
            "version": order.version, **self.parties_light(order),
        })

    @staticmethod
    def parties_light(order: ProxyOrder) -> dict[str, Any]:
        return {"requester_account": mask_account(order.owner_account_id),
                "proxy_account": mask_account(order.proxy_account_id)}


def _encode_token(cursor: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursor, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_token(token: str) -> dict[str, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError as exc:
        raise InvalidPageToken() from exc
    if (not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items())
            or not str(data.get("pk", "")).startswith("REVERSAL#")):
        raise InvalidPageToken()
    return data


def _day(ts: datetime) -> str:
    return ts.date().isoformat()

