"""Proxy-mode business rules (SPEC §7), one cohesive service per concern (they share ``base``):

* ``orders.RequesterOrderService``  create, get, code_for (QR), cancel, confirm
* ``execution.ExecutionService``    verify_code, execute (eligibility, settle), expire_due (the sweep)
* ``reversals.ReversalService``     request_reversal, list_reversals, get_reversal, decide_reversal
* ``agents.AgentService``           register_agent, my_agent, my_agent_orders (day totals)
* ``holds.HoldsService``             pending_holds: what each holds account must hold (for reconciliation)
* ``settlement.Settlement``         the money-moving transitions orders and execution share (settle, close)

Money never moves outside ``LedgerService.transfer``; every order change is a
conditional write the store builds as a ``GuardedWrite`` carrying its own error.
"""

from shared.proxy.services.agents import AgentService
from shared.proxy.services.base import ProxyDeps, holds_account_id
from shared.proxy.services.execution import ExecutionService
from shared.proxy.services.holds import HoldsService
from shared.proxy.services.orders import RequesterOrderService
from shared.proxy.services.reversals import ReversalService

__all__ = ["AgentService", "ExecutionService", "HoldsService", "ProxyDeps", "RequesterOrderService",
           "ReversalService", "holds_account_id"]
