"""The proxy's side of proxy mode: verify a scanned code, check eligibility, settle; and the expiry sweep.

A code is verified (HMAC, expiry; pure) before any database read, so a forged
one costs one HMAC. Single use is the order's conditional write, not the code.
"""

from __future__ import annotations

from shared.errors import DomainError
from shared.ledger.models import Account, AccountKind, AccountStatus, Transaction
from shared.proxy.codes import VerifiedCode
from shared.proxy.errors import AgentLimitExceeded, InvalidProxyCode, OrderNotPending, ProxyNotEligible
from shared.proxy.models import Agent, AgentStatus, OrderStatus, OrderType, ProxyOrder
from shared.proxy.services.base import ProxyDeps, ProxyServiceBase
from shared.proxy.services.settlement import Settlement, check_friend_withdrawal


class ExecutionService(ProxyServiceBase):
    def __init__(self, deps: ProxyDeps) -> None:
        super().__init__(deps)
        self.settlement = Settlement(deps)

    def verify_code(self, code: str) -> VerifiedCode:
        """The code's order id and expiry if it is genuine and unexpired (pure: no database request)."""
        return self.signer().verify(code, self.now())

    def execute(self, proxy_owner: str, code: str, proxy_account_id: str,
                request: str | None = None) -> tuple[ProxyOrder, Transaction | None]:
        """Redeem a code through the proxy's own account: the receipt, or (confirmation on) the order awaiting
        the requester's confirmation and no transaction.

        ``request``: the request's tag (``shared.api.idempotency.request_tag``), recorded on the order with the
        execution; the same request retried after a crash past its commit answers the same again."""
        verified = self.verify_code(code)  # before any database read
        order = self.load(verified.order_id)
        if order.expires_at != verified.expires_at:
            raise InvalidProxyCode()
        if order.status is not OrderStatus.PENDING:
            replayed = self._replayed(order, proxy_owner, proxy_account_id, request)
            if replayed is not None:
                return replayed
            raise OrderNotPending(status=order.status.value)
        proxy, agent = self._eligible(proxy_owner, proxy_account_id, order)
        order = order.model_copy(update={"proxy_account_id": proxy.account_id, "proxy_owner": proxy_owner,
                                         "proxy_is_agent": agent is not None,
                                         "proxy_display_name": agent.display_name if agent else None})
        if self.settings.proxy_confirmation_required:
            after = order.next(status=OrderStatus.AWAITING_CONFIRMATION, last_request=request)
            self.settlement.transition(order, after, expiry="unexpired", event="ProxyOrderAwaitingConfirmation")
            return after, None
        return self.settlement.settle(order, agent, request)

    def _replayed(self, order: ProxyOrder, proxy_owner: str, proxy_account_id: str,
                  request: str | None) -> tuple[ProxyOrder, Transaction | None] | None:
        """What this request's execution answered, if it is the order's last transition (its answer was lost)."""
        if (not request or order.last_request != request or order.proxy_owner != proxy_owner
                or order.proxy_account_id != proxy_account_id):
            return None
        if order.status is OrderStatus.AWAITING_CONFIRMATION:
            return order, None
        if order.status is OrderStatus.EXECUTED and order.transaction_id:
            tx = self.accounts.get_transaction(order.transaction_id)
            return (order, tx) if tx is not None else None
        return None

    def _eligible(self, caller: str, account_id: str, order: ProxyOrder) -> tuple[Account, Agent | None]:
        """The proxy's account and, when it is a registered agent, its agent record; refusals name the reason.

        Limits that a concurrent execution could exhaust (an agent's or a friend's daily total, the balance
        a top-up pays from) are enforced again in the execution's write; these checks give the reason early."""
        proxy = self._proxy_account(caller, account_id, order)
        agent = self.store.get_agent(proxy.account_id)
        if agent is None:
            self._friend_may_execute(proxy, order)
        else:
            _agent_may_execute(agent, proxy, order)
        return proxy, agent

    def _proxy_account(self, caller: str, account_id: str, order: ProxyOrder) -> Account:
        """The caller's own, active customer account in the order's currency, not the requester's."""
        proxy = self.accounts.get_account(account_id)
        if proxy is None or proxy.owner != caller or proxy.kind is not AccountKind.CUSTOMER:
            raise ProxyNotEligible("The proxy account must be the caller's own account.", reason="ACCOUNT_NOT_OWNED")
        if caller == order.owner or proxy.account_id == order.owner_account_id:
            raise ProxyNotEligible("The requester cannot be their own proxy.", reason="SELF_PROXY")
        if proxy.status is not AccountStatus.ACTIVE:
            raise ProxyNotEligible("The proxy account is not active.", reason="ACCOUNT_NOT_ACTIVE")
        if proxy.currency != order.amount.currency:
            raise ProxyNotEligible("The proxy account holds another currency.", reason="CURRENCY_MISMATCH")
        return proxy

    def _friend_may_execute(self, proxy: Account, order: ProxyOrder) -> None:
        """A friend (a customer who is not an agent) tops up from their balance, or, when friend withdrawals are
        on, takes a withdrawal within the friends' per-order limit (the daily one is in the write)."""
        if order.type is OrderType.TOP_UP:
            if proxy.balance < order.amount.amount:
                raise ProxyNotEligible("The proxy account's balance is too low for this top-up.",
                                       reason="INSUFFICIENT_BALANCE")
            return
        check_friend_withdrawal(self.settings, order)

    def expire_due(self) -> int:
        """Expire open orders past ``expires_at`` and release their holds (the scheduled sweep)."""
        expired = 0
        for order in self.store.list_due(self.now(), self.settings.proxy_sweep_batch):
            try:
                self.settlement.close(order, OrderStatus.EXPIRED, expiry="expired")
                expired += 1
            except DomainError:
                continue  # changed since the index was read (executed, cancelled, expired) or busy: next sweep
        return expired


def _agent_may_execute(agent: Agent, proxy: Account, order: ProxyOrder) -> None:
    """An active agent within its per-order limit, with the float a top-up pays from (daily: in the write)."""
    if agent.status is not AgentStatus.ACTIVE:
        raise ProxyNotEligible("The agent is not active.", reason="AGENT_NOT_ACTIVE")
    if order.amount.amount > agent.per_order:
        raise AgentLimitExceeded("The amount exceeds the agent's per-order limit.", limit="per_order",
                                 maximum=agent.per_order)
    if order.type is OrderType.TOP_UP and proxy.balance < order.amount.amount:
        raise AgentLimitExceeded("The agent's float is too low for this top-up.", limit="float")
