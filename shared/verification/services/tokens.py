"""Verification tokens at the protected operations: consumed once, in a conditional write, bound to the user,
the operation and (payments) the amount and payee. The token itself is never stored: its keyed hash is."""

from __future__ import annotations

from shared.types import Money
from shared.verification.errors import VerificationInvalid
from shared.verification.models import Operation
from shared.verification.services.base import VerificationBase
from shared.writes import GuardedWrite

MAX_TOKEN_LENGTH = 256


class TokenService(VerificationBase):
    def consume_write(self, token: str, owner: str, operation: Operation, amount: Money | None = None,
                      payee_account_id: str | None = None) -> GuardedWrite:
        """The write that uses the token up; commit it with the protected operation's own writes."""
        if not token or len(token) > MAX_TOKEN_LENGTH or not token.isprintable():
            raise VerificationInvalid(operation=operation.value, reason="MALFORMED")
        return self.store.w_consume_token(self.deps.hasher.keyed_hash("token", token), owner, operation,
                                          self.now(), amount=amount, payee_account_id=payee_account_id)

    def consume(self, token: str, owner: str, operation: Operation, amount: Money | None = None,
                payee_account_id: str | None = None) -> None:
        self.store.commit([self.consume_write(token, owner, operation, amount, payee_account_id)])
