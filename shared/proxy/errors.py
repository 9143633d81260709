"""Domain errors of proxy mode; each subclasses a ``shared.errors`` class, so the one registry maps it."""

from __future__ import annotations

from shared.errors import AlreadyExists, BadRequest, Conflict, Forbidden, InvalidInput, NotFound


class ProxyModeRequired(BadRequest):
    code = "PROXY_MODE_REQUIRED"
    default_message = "This endpoint creates proxy-mode orders only: send proxy_mode: true."


class InvalidProxyCode(InvalidInput):
    code = "INVALID_PROXY_CODE"
    default_message = "The code is not a valid proxy order code."


class ProxyCodeExpired(Conflict):
    code = "PROXY_CODE_EXPIRED"
    default_message = "The code has expired; ask the requester for a new one."


class ProxyOrderNotFound(NotFound):
    code = "PROXY_ORDER_NOT_FOUND"
    default_message = "The proxy order does not exist."


class OrderNotPending(Conflict):
    code = "ORDER_NOT_PENDING"
    default_message = "The order is no longer pending (already executed, cancelled or expired)."


class ConfirmationNotRequired(Conflict):
    code = "CONFIRMATION_NOT_REQUIRED"
    default_message = "Orders are executed without the requester's confirmation: there is nothing to confirm."


class NotAwaitingConfirmation(Conflict):
    code = "NOT_AWAITING_CONFIRMATION"
    default_message = "No proxy has executed the order yet: there is nothing to confirm."


class ProxyNotEligible(Forbidden):
    code = "PROXY_NOT_ELIGIBLE"
    default_message = "This account may not execute the order."


class AgentLimitExceeded(Conflict):
    code = "AGENT_LIMIT_EXCEEDED"
    default_message = "The agent's limit does not allow this order."


class FriendLimitExceeded(Conflict):
    code = "FRIEND_LIMIT_EXCEEDED"
    default_message = "The friend's withdrawal limit does not allow this order."


class OrderLimitExceeded(Conflict):
    code = "ORDER_LIMIT_EXCEEDED"
    default_message = "The requester's proxy-order limit does not allow this order."


class AgentNotFound(NotFound):
    code = "AGENT_NOT_FOUND"
    default_message = "The account is not a registered agent."


class AgentAlreadyExists(AlreadyExists):
    code = "AGENT_EXISTS"
    default_message = "The account is already a registered agent."


class ReversalNotAllowed(Conflict):
    code = "REVERSAL_NOT_ALLOWED"
    default_message = "A reversal cannot be requested or decided for this order now."


class ReversalNotFound(NotFound):
    code = "REVERSAL_NOT_FOUND"
    default_message = "The reversal request does not exist."
