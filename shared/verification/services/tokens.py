"""Verification tokens at the protected operations: consumed once, in a conditional write, bound to the user,
the operation and (payments) the amount and payee. The token itself is never stored: its keyed hash is.

``TokenService`` needs only the verification store, the hash key and the clock, so another capability's
function (bank binding's unbind, §6) consumes a §4 token without the decision's dependencies
(``wiring.token_service``); ``BindingTokens`` is binding's ``VerificationTokens`` port on it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from shared.clock import utcnow
from shared.crypto import VERIFICATION_TOKEN
from shared.types import Money
from shared.verification.errors import VerificationInvalid
from shared.verification.models import Operation
from shared.verification.ports import KeyedHasher, VerificationStore
from shared.writes import GuardedWrite

MAX_TOKEN_LENGTH = 256


class TokenService:
    def __init__(self, store: VerificationStore, hasher: KeyedHasher, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.hasher = hasher
        self.clock = clock

    def consume_write(self, token: str, owner: str, operation: Operation, amount: Money | None = None,
                      payee_account_id: str | None = None) -> GuardedWrite:
        """The write that uses the token up; commit it with the protected operation's own writes."""
        if not token or len(token) > MAX_TOKEN_LENGTH or not token.isprintable():
            raise VerificationInvalid(operation=operation.value, reason="MALFORMED")
        return self.store.w_consume_token(self.hasher.keyed_hash(VERIFICATION_TOKEN, token), owner, operation,
                                          self.clock(), amount=amount, payee_account_id=payee_account_id)

    def consume(self, token: str, owner: str, operation: Operation, amount: Money | None = None,
                payee_account_id: str | None = None) -> None:
        self.store.commit([self.consume_write(token, owner, operation, amount, payee_account_id)])


class BindingTokens:
    """Bank binding's ``VerificationTokens`` port (``shared.binding.ports``): a §4 token for ``operation``
    (``ACCOUNT_UPDATE`` for an unbind) consumed once; ``VERIFICATION_INVALID`` (403) otherwise, an unknown
    operation name included."""

    def __init__(self, tokens: TokenService) -> None:
        self.tokens = tokens

    def verify(self, token: str, owner: str, operation: str) -> None:
        self.tokens.store.commit([self.consume_write(token, owner, operation)])

    def consume_write(self, token: str, owner: str, operation: str) -> GuardedWrite:
        try:
            op = Operation(operation)
        except ValueError:
            raise VerificationInvalid(operation=operation, reason="UNKNOWN_OPERATION") from None
        return self.tokens.consume_write(token, owner, op)
