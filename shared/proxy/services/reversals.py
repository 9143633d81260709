"""Reversals: either party asks for an executed order to be undone; an admin or reviewer decides.

Approval posts the opposite transfer once (``pxr_…``) in the same transaction
as the order's ``EXECUTED -> REVERSED`` and the request's decision.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets

from shared.decisions import ensure_not_party
from shared.errors import InvalidPageToken
from shared.ledger.models import CUSTOMER_ONLY, Transaction
from shared.ledger.service import derived_transaction_id
from shared.proxy.errors import ReversalNotAllowed, ReversalNotFound
from shared.proxy.models import OrderStatus, OrderType, ReversalRequest, ReversalStatus
from shared.proxy.services.base import ProxyServiceBase, proxy_event


class ReversalService(ProxyServiceBase):
    def request_reversal(self, caller: str, order_id: str, reason: str, request: str | None = None) -> ReversalRequest:
        """One request per executed order, by its requester or its proxy, within the reversal window.

        ``request``: the request's tag (``shared.api.idempotency.request_tag``); the reversal request's id derives
        from it, so the same request retried after a crash past its commit answers the reversal request it made
        (another request: ``ALREADY_REQUESTED``)."""
        order = self.visible(caller, order_id)
        request_id = _reversal_id(order_id, request)
        if request and order.reversal_request_id == request_id:
            made = self.store.get_reversal(request_id)
            if made is not None:
                return made
        now = self.clock()
        if order.status is not OrderStatus.EXECUTED or order.executed_at is None:
            raise ReversalNotAllowed("Only an executed order can be reversed.", reason="NOT_EXECUTED")
        if order.reversal_request_id:
            raise ReversalNotAllowed("A reversal was already requested for this order.", reason="ALREADY_REQUESTED",
                                     request_id=order.reversal_request_id)
        if (now - order.executed_at).total_seconds() > self.settings.proxy_reversal_window_seconds:
            raise ReversalNotAllowed("The reversal window has closed.", reason="WINDOW_CLOSED")
        reversal = ReversalRequest(request_id=request_id, order_id=order_id, requested_by=caller, reason=reason,
                                   created_at=now)
        after = order.next(reversal_request_id=reversal.request_id, last_request=request)
        self.store.commit([
            self.store.put_reversal(reversal),
            self.store.order_transition(order, after, int(now.timestamp()), None, on_failure=_order_changed),
            self.store.event(proxy_event("ProxyReversalRequested", {"order_id": order_id,
                                                                    "request_id": reversal.request_id},
                                         now, reversal.request_id)),
        ])
        return reversal

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

    def decide_reversal(self, decider: str, request_id: str, approve: bool, note: str | None,
                        decision_request: str | None = None) -> tuple[ReversalRequest, Transaction | None]:
        """Reject (the request is closed), or approve: the opposite transfer, the order REVERSED, once.

        ``decision_request``: the deciding request's tag (``shared.api.idempotency.request_tag``), recorded with the
        decision; the same request retried after a crash past its commit answers that decision again."""
        request = self.get_reversal(request_id)
        order = self.load(request.order_id)
        # the requester, the proxy that executed it and whoever asked for the reversal may not decide it
        ensure_not_party(decider, [order.owner, order.proxy_owner, request.requested_by], case="proxy_reversal")
        if (decision_request and request.decision_request == decision_request and request.decided_by == decider
                and request.status is not ReversalStatus.REQUESTED):
            tx = self.accounts.get_transaction(request.transaction_id) if request.transaction_id else None
            return request, tx  # this request decided it; its answer was lost
        if request.status is not ReversalStatus.REQUESTED:
            raise ReversalNotAllowed("The request was already decided.", reason="ALREADY_DECIDED",
                                     status=request.status.value)
        now = self.clock()
        decided = request.model_copy(update={"status": ReversalStatus.APPROVED if approve else ReversalStatus.REJECTED,
                                             "decided_by": decider, "decided_at": now, "decision_note": note,
                                             "decision_request": decision_request})
        if not approve:
            self.store.commit([self.store.decide_reversal(decided, request),
                               self.store.event(proxy_event("ProxyReversalRejected",
                                                            {"order_id": request.order_id, "request_id": request_id},
                                                            now, request_id))])
            return decided, None
        if order.status is not OrderStatus.EXECUTED or order.reversal_request_id != request_id:
            raise ReversalNotAllowed("The order is not in a reversible state.", reason="NOT_EXECUTED")
        tx_id = derived_transaction_id("pxr", order.order_id)
        decided = decided.model_copy(update={"transaction_id": tx_id})
        after = order.next(status=OrderStatus.REVERSED, reversal_transaction_id=tx_id, last_request=decision_request)
        proxy = order.proxy_account_id or ""
        debit, credit = ((order.owner_account_id, proxy) if order.type is OrderType.TOP_UP
                         else (proxy, order.owner_account_id))
        writes = [self.store.decide_reversal(decided, request),
                  self.store.order_transition(order, after, int(now.timestamp()), None,
                                              on_failure=_changed_meanwhile),
                  self.order_event("ProxyOrderReversed", after)]
        tx = self.ledger.transfer(tx_id, debit, credit, order.amount, "PROXY_REVERSAL",
                                  metadata={"order_id": order.order_id, "reversal_request_id": request_id},
                                  writes=writes, credit_kinds=CUSTOMER_ONLY)
        return decided, tx


def _reversal_id(order_id: str, request: str | None) -> str:
    """``prr_`` + 32 hex: derived from (order, request tag) when there is one, random otherwise."""
    if request is None:
        return "prr_" + secrets.token_hex(16)
    return "prr_" + hashlib.sha256(f"{order_id}\x1f{request}".encode()).hexdigest()[:32]


def _order_changed() -> Exception:
    """The order's write failed while requesting a reversal: another request or change won."""
    return ReversalNotAllowed("The order changed; read it again.", reason="CONFLICT")


def _changed_meanwhile() -> Exception:
    """The order's write failed while approving: it changed after the request was read."""
    return ReversalNotAllowed("The request or order changed meanwhile.", reason="ALREADY_DECIDED")


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
