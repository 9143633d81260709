"""Nobody decides a case they are a party to (issue 9 item 1): one rule (``shared.decisions``) on every decision
route, one refusal (``403 SELF_REVIEW``), nothing written or moved. Here the reversal route
(``POST /admin/proxy-reversals/{id}/decision``): the order's requester, the proxy that executed it and whoever
asked for the reversal may not decide it, whatever roles they hold. The review route: tests/identity.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.decisions import SelfReview, ensure_not_party
from tests.conftest import Api
from tests.proxy.conftest import Proxy, sum_balances


def _reversal(api: Api, proxy: Proxy, requested_by: str) -> tuple[Any, Any, Any, str]:
    """A top-up executed by an agent, and a reversal request by ``requested_by`` ("user" or "agent")."""
    user, agent = api.user(balance=5_000), proxy.agent(balance=10_000)
    order = proxy.order(user, "TOP_UP", 2_000)
    assert proxy.execute(agent, order["code"]).status == 200
    asker = user if requested_by == "user" else agent
    reply = api.call("POST", f"/proxy-orders/{order['order_id']}/reversal-requests", {"reason": "wrong amount"},
                     token=asker.token, key=str(uuid.uuid4()))
    assert reply.status == 201, reply.body
    return user, agent, order, reply.body["request_id"]


@pytest.mark.parametrize("party", ["proxy", "requester"])
@pytest.mark.parametrize("role", ["reviewer", "admin"])
@pytest.mark.parametrize("approve", [True, False])
def test_a_party_to_the_order_cannot_decide_its_reversal(api: Api, proxy: Proxy, party: str, role: str,
                                                         approve: bool) -> None:
    # Given an executed order whose reversal the requester asked for, and a party who also holds a staff role
    user, agent, _order, rid = _reversal(api, proxy, requested_by="user")
    who = agent if party == "proxy" else user
    before = sum_balances(api)[1]
    # When that party decides the reversal
    reply = api.call("POST", f"/admin/proxy-reversals/{rid}/decision", {"approve": approve},
                     token=api.token(who.sub, role), key=str(uuid.uuid4()))
    # Then it is refused, nothing moved, and the request is still waiting for an independent decision
    assert (reply.status, reply.code) == (403, "SELF_REVIEW"), reply.body
    assert sum_balances(api)[1] == before
    queue = api.call("GET", "/admin/proxy-reversals", token=api.token("rev-2", "reviewer"))
    assert [r["request_id"] for r in queue.body["items"]] == [rid]
    done = api.call("POST", f"/admin/proxy-reversals/{rid}/decision", {"approve": True},
                    token=api.token("rev-2", "reviewer"), key=str(uuid.uuid4()))
    assert done.status == 200 and done.body["status"] == "APPROVED"
    assert api.balance(user) == 5_000 and api.balance(agent) == 10_000  # the independent approval reversed it


def test_whoever_asked_for_the_reversal_cannot_decide_it(api: Api, proxy: Proxy) -> None:
    _user, agent, _order, rid = _reversal(api, proxy, requested_by="agent")
    before = sum_balances(api)[1]
    reply = api.call("POST", f"/admin/proxy-reversals/{rid}/decision", {"approve": True},
                     token=api.token(agent.sub, "reviewer", "admin"), key=str(uuid.uuid4()))
    assert (reply.status, reply.code) == (403, "SELF_REVIEW")
    assert reply.body["error"]["details"] == {"case": "proxy_reversal"}  # names no other party
    assert sum_balances(api)[1] == before


def test_the_rule_itself() -> None:
    ensure_not_party("rev", ["alice", None, "bob"], case="x")
    with pytest.raises(SelfReview) as err:
        ensure_not_party("bob", ["alice", None, "bob"], case="proxy_reversal")
    assert (err.value.code, err.value.details) == ("SELF_REVIEW", {"case": "proxy_reversal"})
