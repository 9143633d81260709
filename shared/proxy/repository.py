"""DynamoDB data access for proxy mode: the ProxyOrders table and the ProxyAgents table.

Items (the only place these shapes exist):

ProxyOrders (``pk``)
    ``ORDER#<order_id>``          the order; ``version`` guards every write. While open it carries
                                  ``open_shard`` (``OPEN#<last hex digit>``) + ``expires_at`` (N): the sparse
                                  ``OpenByExpiry`` index the expiry sweep reads. Once executed it carries
                                  ``proxy_day`` (``<proxy account>#<YYYY-MM-DD>``) + ``executed_at``: the
                                  ``ByProxyDay`` index agents reconcile with.
    ``USAGE#<user>#<day>``        the requester's proxy-order total of the day (``amount`` N)
    ``REVERSAL#<request_id>``     a reversal request and its decision
    ``OUTBOX#<event id>``         an order, reversal or agent event, put once with its change (the outbox,
                                  ``shared/outbox.py``); TTL ``outbox_expires_at`` (``expires_at`` is the
                                  order's code expiry, which the sweep, not TTL, acts on)

ProxyAgents (``pk``)
    ``AGENT#<account_id>``        agent record: owner, status, limits
    ``USAGE#<account_id>#<day>``  the agent's executed total (``amount``, ``count``) of the day
    ``FRIEND#<account_id>#<day>`` a friend's (non-agent proxy's) withdrawal total of the day

Every conditional write is built here as a ``GuardedWrite``: the ``TransactWriteItems`` entry plus the domain
error its condition stands for (see ``ports.ProxyStore``). ``commit`` and ``LedgerService.transfer`` raise the
failing write's own error (``shared.writes.transact``); nothing maps a position in the list.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from shared.clock import iso
from shared.dynamo import Repository, from_item, to_item
from shared.errors import AlreadyExists, TemporarilyUnavailable
from shared.outbox import OutboxEvent, outbox_writes
from shared.proxy.errors import (
    AgentAlreadyExists,
    AgentLimitExceeded,
    FriendLimitExceeded,
    OrderLimitExceeded,
    OrderNotPending,
    ProxyCodeExpired,
    ProxyNotEligible,
    ProxyOrderNotFound,
    ReversalNotAllowed,
)
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
from shared.proxy.ports import ErrorFactory, Expiry
from shared.types import Money
from shared.writes import ConflictingWrite, GuardedWrite, OldImage, transact

SHARDS = "0123456789abcdef"
OPEN_INDEX = "OpenByExpiry"
PROXY_DAY_INDEX = "ByProxyDay"
REVERSAL_INDEX = "ReversalsByStatus"
OUTBOX_TTL = "outbox_expires_at"  # the table's TTL attribute: only outbox items carry it
_OPTIONAL_TIMES = ("executed_at", "closed_at")


def _order_item(o: ProxyOrder) -> dict[str, Any]:
    data: dict[str, Any] = {
        "pk": f"ORDER#{o.order_id}",
        "entity": "PROXY_ORDER",
        **o.model_dump(mode="python", exclude={"amount", "created_at", *_OPTIONAL_TIMES}),
        "type": o.type.value,
        "status": o.status.value,
        "amount": o.amount.amount,
        "currency": o.amount.currency,
        "created_at": iso(o.created_at),
    }
    for name in _OPTIONAL_TIMES:
        value = getattr(o, name)
        data[name] = iso(value) if value else None
    if o.status in OPEN_STATUSES:
        data["open_shard"] = f"OPEN#{o.order_id[-1]}"
    if o.executed_at and o.proxy_account_id:
        data["proxy_day"] = f"{o.proxy_account_id}#{o.executed_at.date().isoformat()}"
    return to_item(data)


def _order_from(item: dict[str, Any]) -> ProxyOrder:
    return _order_of(from_item(item))


def _order_of(d: Mapping[str, Any]) -> ProxyOrder:
    """The order from its item's plain values (``from_item``, or a transaction's old image)."""
    return ProxyOrder(
        order_id=d["order_id"], type=OrderType(d["type"]), status=OrderStatus(d["status"]), owner=d["owner"],
        owner_account_id=d["owner_account_id"], amount=Money(amount=int(d["amount"]), currency=d["currency"]),
        kid=d["kid"], created_at=datetime.fromisoformat(d["created_at"]), expires_at=int(d["expires_at"]),
        proxy_account_id=d.get("proxy_account_id"), proxy_owner=d.get("proxy_owner"),
        proxy_is_agent=bool(d.get("proxy_is_agent", False)), proxy_display_name=d.get("proxy_display_name"),
        executed_at=datetime.fromisoformat(d["executed_at"]) if d.get("executed_at") else None,
        closed_at=datetime.fromisoformat(d["closed_at"]) if d.get("closed_at") else None,
        transaction_id=d.get("transaction_id"), hold_transaction_id=d.get("hold_transaction_id"),
        release_transaction_id=d.get("release_transaction_id"), reversal_request_id=d.get("reversal_request_id"),
        reversal_transaction_id=d.get("reversal_transaction_id"), version=int(d["version"]),
        last_request=d.get("last_request"),
    )


def order_refusal(order_id: str, current: ProxyOrder | None, now: int) -> Exception:
    """Why a conditional write on an order failed, from the order's state when it failed."""
    if current is None:
        return ProxyOrderNotFound()
    if current.status in OPEN_STATUSES and current.expires_at <= now:
        return ProxyCodeExpired(order_id=order_id)
    return OrderNotPending(status=current.status.value)


def _agent_item(a: Agent) -> dict[str, Any]:
    return to_item({"pk": f"AGENT#{a.account_id}", "entity": "AGENT",
                    **a.model_dump(mode="python", exclude={"created_at"}),
                    "status": a.status.value, "created_at": iso(a.created_at)})


def _agent_from(item: dict[str, Any]) -> Agent:
    d = from_item(item)
    return Agent(account_id=d["account_id"], owner=d["owner"], status=AgentStatus(d["status"]),
                 per_order=int(d["per_order"]), daily=int(d["daily"]), display_name=d.get("display_name"),
                 registered_by=d["registered_by"], created_at=datetime.fromisoformat(d["created_at"]),
                 registered_request=d.get("registered_request"))


def _reversal_item(r: ReversalRequest) -> dict[str, Any]:
    data = {"pk": f"REVERSAL#{r.request_id}", "entity": "PROXY_REVERSAL",
            **r.model_dump(mode="python", exclude={"created_at", "decided_at"}),
            "status": r.status.value, "reversal_status": r.status.value, "created_at": iso(r.created_at),
            "decided_at": iso(r.decided_at) if r.decided_at else None}
    return to_item(data)


def _reversal_from(item: dict[str, Any]) -> ReversalRequest:
    d = from_item(item)
    return ReversalRequest(
        request_id=d["request_id"], order_id=d["order_id"], requested_by=d["requested_by"], reason=d["reason"],
        status=ReversalStatus(d["status"]), created_at=datetime.fromisoformat(d["created_at"]),
        decided_by=d.get("decided_by"), decision_note=d.get("decision_note"), transaction_id=d.get("transaction_id"),
        decided_at=datetime.fromisoformat(d["decided_at"]) if d.get("decided_at") else None,
        decision_request=d.get("decision_request"),
    )


class DynamoProxyStore(Repository):
    """``ProxyStore`` on the ProxyOrders and ProxyAgents tables."""

    def __init__(self, orders_table: str, agents_table: str, client: Any = None) -> None:
        super().__init__(client)
        self.orders_table = orders_table
        self.agents_table = agents_table

    def _get(self, table: str, pk: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.client.get_item(
            TableName=table, Key={"pk": {"S": pk}}, ConsistentRead=True).get("Item")
        return item

    # --- reads ----------------------------------------------------------------
    def get_order(self, order_id: str) -> ProxyOrder | None:
        item = self._get(self.orders_table, f"ORDER#{order_id}")
        return _order_from(item) if item else None

    def get_agent(self, account_id: str) -> Agent | None:
        item = self._get(self.agents_table, f"AGENT#{account_id}")
        return _agent_from(item) if item else None

    def get_agent_usage(self, account_id: str, day: str) -> AgentUsage:
        item = self._get(self.agents_table, f"USAGE#{account_id}#{day}")
        d = from_item(item) if item else {}
        return AgentUsage(account_id=account_id, day=day, amount=int(d.get("amount", 0)), count=int(d.get("count", 0)))

    def get_reversal(self, request_id: str) -> ReversalRequest | None:
        item = self._get(self.orders_table, f"REVERSAL#{request_id}")
        return _reversal_from(item) if item else None

    def list_due(self, now: int, limit: int) -> list[ProxyOrder]:
        # GSIs are eventually consistent: the sweep re-checks every order in its write condition.
        out: list[ProxyOrder] = []
        for shard in SHARDS:
            resp = self.client.query(
                TableName=self.orders_table, IndexName=OPEN_INDEX,
                KeyConditionExpression="open_shard = :s AND expires_at <= :now",
                ExpressionAttributeValues={":s": {"S": f"OPEN#{shard}"}, ":now": {"N": str(now)}},
                Limit=limit,
            )
            out.extend(_order_from(i) for i in resp.get("Items", []))
            if len(out) >= limit:
                break
        return out[:limit]

    def list_open(self) -> list[ProxyOrder]:
        out: list[ProxyOrder] = []
        for shard in SHARDS:
            kwargs: dict[str, Any] = {
                "TableName": self.orders_table, "IndexName": OPEN_INDEX,
                "KeyConditionExpression": "open_shard = :s",
                "ExpressionAttributeValues": {":s": {"S": f"OPEN#{shard}"}},
            }
            while True:
                resp = self.client.query(**kwargs)
                out.extend(_order_from(i) for i in resp.get("Items", []))
                if not resp.get("LastEvaluatedKey"):
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return out

    def list_agent_orders(self, account_id: str, day: str) -> list[ProxyOrder]:
        kwargs: dict[str, Any] = {
            "TableName": self.orders_table, "IndexName": PROXY_DAY_INDEX,
            "KeyConditionExpression": "proxy_day = :d",
            "ExpressionAttributeValues": {":d": {"S": f"{account_id}#{day}"}},
        }
        out: list[ProxyOrder] = []
        while True:
            resp = self.client.query(**kwargs)
            out.extend(_order_from(i) for i in resp.get("Items", []))
            if not resp.get("LastEvaluatedKey"):
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def list_reversals(self, status: ReversalStatus, limit: int,
                       cursor: dict[str, str] | None) -> tuple[list[ReversalRequest], dict[str, str] | None]:
        kwargs: dict[str, Any] = {
            "TableName": self.orders_table, "IndexName": REVERSAL_INDEX, "Limit": limit,
            "KeyConditionExpression": "reversal_status = :s",
            "ExpressionAttributeValues": {":s": {"S": status.value}},
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = {k: {"S": v} for k, v in cursor.items()}
        resp = self.client.query(**kwargs)
        last = resp.get("LastEvaluatedKey")
        return ([_reversal_from(i) for i in resp.get("Items", [])],
                {k: v["S"] for k, v in last.items()} if last else None)

    # --- guarded writes --------------------------------------------------------
    def event(self, event: OutboxEvent) -> GuardedWrite:
        return outbox_writes(self.orders_table, [event], ttl_attribute=OUTBOX_TTL)[0]

    def put_order(self, order: ProxyOrder) -> GuardedWrite:
        put = {"Put": {"TableName": self.orders_table, "Item": _order_item(order),
                       "ConditionExpression": "attribute_not_exists(pk)"}}
        return GuardedWrite.failing_with(put, lambda: AlreadyExists("The order id is taken.",
                                                                    order_id=order.order_id))

    def add_requester_usage(self, order: ProxyOrder, day: str, daily_limit: int) -> GuardedWrite:
        update = self._usage_update(self.orders_table, f"USAGE#{order.owner}#{day}", order.amount.amount,
                                    daily_limit)
        return GuardedWrite.failing_with(update, lambda: OrderLimitExceeded(limit="daily", maximum=daily_limit))

    def order_transition(self, before: ProxyOrder, after: ProxyOrder, now: int, expiry: Expiry,
                         on_failure: ErrorFactory | None = None) -> GuardedWrite:
        condition = "#st = :from AND version = :v"
        values: dict[str, Any] = {":from": {"S": before.status.value}, ":v": {"N": str(before.version)}}
        if expiry is not None:
            condition += " AND expires_at > :now" if expiry == "unexpired" else " AND expires_at <= :now"
            values[":now"] = {"N": str(now)}
        put = {"Put": {"TableName": self.orders_table, "Item": _order_item(after), "ConditionExpression": condition,
                       "ExpressionAttributeNames": {"#st": "status"}, "ExpressionAttributeValues": values,
                       "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}
        if on_failure is not None:
            return GuardedWrite.failing_with(put, on_failure)

        def refusal(old: OldImage) -> Exception:
            # The old image is the order that failed the condition; without one (no item), read it again.
            current = _order_of(old) if old else self.get_order(before.order_id)
            return order_refusal(before.order_id, current, now)

        return GuardedWrite(put, refusal)

    def agent_active(self, agent: Agent) -> GuardedWrite:
        check = {"ConditionCheck": {"TableName": self.agents_table, "Key": {"pk": {"S": f"AGENT#{agent.account_id}"}},
                                    "ConditionExpression": "#st = :active",
                                    "ExpressionAttributeNames": {"#st": "status"},
                                    "ExpressionAttributeValues": {":active": {"S": AgentStatus.ACTIVE.value}}}}
        return GuardedWrite.failing_with(
            check, lambda: ProxyNotEligible("The agent is not active.", reason="AGENT_NOT_ACTIVE"))

    def add_agent_usage(self, agent: Agent, day: str, amount: int) -> GuardedWrite:
        update = self._usage_update(self.agents_table, f"USAGE#{agent.account_id}#{day}", amount, agent.daily)
        return GuardedWrite.failing_with(update, lambda: AgentLimitExceeded(
            "The agent's daily limit does not allow this order.", limit="daily", maximum=agent.daily))

    def add_friend_usage(self, account_id: str, day: str, amount: int, daily_limit: int) -> GuardedWrite:
        update = self._usage_update(self.agents_table, f"FRIEND#{account_id}#{day}", amount, daily_limit)
        return GuardedWrite.failing_with(update, lambda: FriendLimitExceeded(
            "The friend's daily withdrawal limit does not allow this order.", limit="daily", maximum=daily_limit))

    def put_reversal(self, request: ReversalRequest) -> GuardedWrite:
        put = {"Put": {"TableName": self.orders_table, "Item": _reversal_item(request),
                       "ConditionExpression": "attribute_not_exists(pk)"}}
        return GuardedWrite.failing_with(put, lambda: AlreadyExists("The reversal request id is taken.",
                                                                    request_id=request.request_id))

    def decide_reversal(self, decided: ReversalRequest, expect: ReversalRequest) -> GuardedWrite:
        put = {"Put": {"TableName": self.orders_table, "Item": _reversal_item(decided),
                       "ConditionExpression": "#st = :st", "ExpressionAttributeNames": {"#st": "status"},
                       "ExpressionAttributeValues": {":st": {"S": expect.status.value}}}}
        return GuardedWrite.failing_with(
            put, lambda: ReversalNotAllowed("The request was already decided.", reason="ALREADY_DECIDED"))

    @staticmethod
    def _usage_update(table: str, pk: str, amount: int, limit: int) -> dict[str, Any]:
        return {"Update": {
            "TableName": table, "Key": {"pk": {"S": pk}},
            "UpdateExpression": "SET entity = :usage ADD #a :amt, #n :one",
            "ConditionExpression": "attribute_not_exists(#a) OR #a <= :room",
            "ExpressionAttributeNames": {"#a": "amount", "#n": "count"},
            "ExpressionAttributeValues": {":amt": {"N": str(amount)}, ":one": {"N": "1"},
                                          ":room": {"N": str(limit - amount)}, ":usage": {"S": "USAGE"}},
        }}

    def commit(self, writes: Sequence[GuardedWrite]) -> None:
        """The writes in one transaction (no transfer); contention is retried with full-jitter back-off."""
        for attempt in range(8):
            try:
                transact(self.client, writes)
                return
            except ConflictingWrite:
                time.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))
        raise TemporarilyUnavailable()

    def put_agent(self, agent: Agent) -> GuardedWrite:
        put = {"Put": {"TableName": self.agents_table, "Item": _agent_item(agent),
                       "ConditionExpression": "attribute_not_exists(pk)"}}
        return GuardedWrite.failing_with(put, lambda: AgentAlreadyExists(account_id=agent.account_id))
