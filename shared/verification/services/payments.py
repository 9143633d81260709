"""The inline decision of ``POST /transfers`` (the ledger's ``PaymentGuard`` port).

At or above the policy's ``payment.inline_threshold`` a transfer either carries a PAYMENT token bound to its
amount and payee (consumed in the transfer's own transaction: dynamic linking, single use), or runs the
decision now: verification-free -> it proceeds (the decision is recorded, the low-value counters are added to in
the transfer's transaction); otherwise ``403 VERIFICATION_REQUIRED`` names the verification to complete and its
methods (``VERIFICATION_DENIED`` for a denial). Below it, transfers behave as before.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.ledger.ports import PaymentRequest
from shared.verification.errors import VerificationDenied, VerificationRequired
from shared.verification.models import Decision, Operation, TriggerContext
from shared.verification.services.base import VerificationBase, VerificationDeps
from shared.verification.services.decisions import DecisionService, count_exemption
from shared.verification.services.tokens import TokenService
from shared.writes import GuardedWrite

UNIDENTIFIED_DEVICE = "unidentified"


class PaymentGuardService(VerificationBase):
    def __init__(self, deps: VerificationDeps, decisions: DecisionService, tokens: TokenService) -> None:
        super().__init__(deps)
        self.decisions = decisions
        self.tokens = tokens

    def authorize(self, payment: PaymentRequest) -> Sequence[GuardedWrite]:
        policy = self.policy()
        if payment.amount.amount < policy.payment.inline_threshold:
            return ()
        client = payment.client
        if client.verification_token:
            return [self.tokens.consume_write(client.verification_token, payment.owner, Operation.PAYMENT,
                                              amount=payment.amount, payee_account_id=payment.to_account_id)]
        ctx = TriggerContext(device_id=client.device_id or UNIDENTIFIED_DEVICE, header_device_id=client.device_id,
                             session_id=client.session_id, source_ip=client.source_ip, amount=payment.amount,
                             payee_account_id=payment.to_account_id, caller_phone=client.caller_phone)
        history = self.store.history(payment.owner)
        self.check_lockout(history, self.now(), policy)
        outcome = self.decisions.outcome(payment.owner, Operation.PAYMENT, ctx, policy, history)
        verification = self.decisions.record(payment.owner, Operation.PAYMENT, ctx, outcome, policy,
                                             purpose="TRANSFER")
        self.store.commit([self.store.w_put_verification(verification)])
        self.decisions.log_decision(verification)
        if outcome.decision is Decision.VERIFICATION_FREE:
            return [count_exemption(self.store, payment.owner, history, outcome, payment.amount.amount, policy)]
        if outcome.decision is Decision.DENY:
            raise VerificationDenied(verification_id=verification.verification_id,
                                     reasons=list(outcome.reasons))
        raise VerificationRequired(
            "Payments of this amount need a verification: complete it, then retry with X-Verification-Token "
            "(the same Idempotency-Key may be reused).",
            verification_id=verification.verification_id, operation=Operation.PAYMENT.value,
            strength=outcome.strength.value if outcome.strength else None,
            methods=[m.value for m in outcome.methods], inline_threshold=policy.payment.inline_threshold)
