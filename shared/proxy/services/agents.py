"""Agents: an admin registers an account as a cash agent; an agent reads its record and reconciles its day."""

from __future__ import annotations

from shared.errors import InvalidInput
from shared.ledger.errors import AccountNotFound
from shared.ledger.models import Account, AccountKind
from shared.proxy.errors import AgentAlreadyExists, AgentNotFound
from shared.proxy.masking import mask_account
from shared.proxy.models import Agent, AgentDayTotals, AgentUsage, OrderType, ProxyOrder
from shared.proxy.services.base import ProxyServiceBase, day_of, proxy_event


class AgentService(ProxyServiceBase):
    def register_agent(self, admin: str, account_id: str, per_order: int, daily: int,
                       display_name: str | None, request: str | None = None) -> Agent:
        """``request``: the request's tag (``shared.api.idempotency.request_tag``), recorded with the agent; the same
        request retried after a crash past its commit answers the agent it registered, another one
        ``AgentAlreadyExists``."""
        if per_order > daily:
            raise InvalidInput("The per-order limit cannot exceed the daily limit.", per_order=per_order, daily=daily)
        account = self.accounts.get_account(account_id)
        if account is None or account.kind is not AccountKind.CUSTOMER:
            raise AccountNotFound(account_id=account_id)
        agent = Agent(account_id=account_id, owner=account.owner, per_order=per_order, daily=daily,
                      display_name=display_name, registered_by=admin, created_at=self.clock(),
                      registered_request=request)
        registered = proxy_event("ProxyAgentRegistered", {"account_id": mask_account(account_id)}, agent.created_at,
                                 account_id)
        try:
            self.store.commit([self.store.put_agent(agent), self.store.event(registered)])
        except AgentAlreadyExists:
            existing = self.store.get_agent(account_id)
            if request is None or existing is None or existing.registered_request != request:
                raise
            return existing
        return agent

    def my_agent(self, caller: str) -> tuple[Agent, Account, AgentUsage]:
        """The caller's agent record, its account (the float) and today's usage."""
        account = self.my_account(caller)
        agent = self.store.get_agent(account.account_id)
        if agent is None:
            raise AgentNotFound()
        return agent, account, self.store.get_agent_usage(account.account_id, day_of(self.clock()))

    def my_agent_orders(self, caller: str, day: str | None) -> tuple[Agent, str, list[ProxyOrder], AgentDayTotals]:
        """The orders the caller's agent account executed on ``day`` (default today, UTC) and their totals."""
        agent, _, _ = self.my_agent(caller)
        day = day or day_of(self.clock())
        orders = self.store.list_agent_orders(agent.account_id, day)
        totals = AgentDayTotals(
            count=len(orders),
            top_up_amount=sum(o.amount.amount for o in orders if o.type is OrderType.TOP_UP),
            withdrawal_amount=sum(o.amount.amount for o in orders if o.type is OrderType.WITHDRAW),
        )
        return agent, day, orders, totals
