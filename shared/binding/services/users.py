"""The user's side: their bindings, unbinding (with a §4 ACCOUNT_UPDATE verification token) and the first-use gate
that a §4 BINDING_FIRST_USE verification lifts."""

from __future__ import annotations

import hmac

from shared.binding.errors import (
    BindingNotFound,
    VerificationInvalid,
    VerificationRequired,
    WeakMethodNotAccepted,
)
from shared.binding.models import Binding, BindingStatus, PassedVerification
from shared.binding.services.base import BindingBase
from shared.crypto import ID_NUMBER, canonical_id_number
from shared.ledger.errors import SecurityAuthenticationNotRequired

UNBIND_OPERATION = "ACCOUNT_UPDATE"
FIRST_USE_OPERATION = "BINDING_FIRST_USE"
STRONG_METHODS = frozenset({"FACE", "CARD"})  # CONTRACTS.md: strong FACE, CARD; weak SMS_OTP, PASSWORD


class UserBindingService(BindingBase):
    def list(self, owner: str) -> list[Binding]:
        return [b for b in self.store.list_bindings(owner) if b.status is BindingStatus.ACTIVE and b.activated]

    def holds_card(self, owner: str) -> bool:
        """Whether the user holds a usable (bound, active) card: §4 offers its CARD method then."""
        return bool(self.list(owner))

    def card_matches(self, owner: str, last4: str, id_number: str) -> bool:
        """§4's CARD method: one of the user's bound cards has these last 4 digits and its holder's ID number has
        this keyed hash (the binding record's ``id_hash``: the platform's ID-number hash, same purpose and
        canonical form as §5). Compared in constant time; the ID number is neither stored nor logged."""
        wanted = self.deps.hasher.keyed_hash(ID_NUMBER, canonical_id_number(id_number))
        matched = False
        for binding in self.list(owner):
            same_card = hmac.compare_digest(binding.card_last4.encode(), last4.encode())
            same_holder = hmac.compare_digest(binding.id_hash.encode(), wanted.encode())
            matched |= same_card and same_holder
        return matched

    def unbind(self, owner: str, binding_id: str, verification_token: str | None, request: str | None = None
               ) -> Binding:
        """``request``: the request's tag (caller + Idempotency-Key), recorded with the unbinding: the same request
        retried after a crash past the commit answers the unbound binding again (Stripe's replay); any other
        request finds the card gone (404)."""
        if not verification_token:
            raise VerificationRequired(operation=UNBIND_OPERATION)
        binding = self.store.get_binding(binding_id)
        if binding is None or binding.owner != owner or not binding.activated:
            raise BindingNotFound(binding_id=binding_id)
        if binding.status is not BindingStatus.ACTIVE:
            self.project(binding)  # a repeat after a failed profile write records it
            if request and binding.unbind_request == request:
                return binding
            raise BindingNotFound(binding_id=binding_id)
        # the token is spent in the unbind's own transaction: a crash between the two cannot spend it for nothing
        spend = self.deps.verifier.consume_write(verification_token, owner, UNBIND_OPERATION)
        unbound = binding.model_copy(update={"status": BindingStatus.UNBOUND, "unbound_at": self.clock(),
                                             "holder_id_encrypted": None,  # no longer a card holder of the user
                                             "unbind_request": request})
        self.store.unbind(unbound, also=[spend], events=[self.binding_event("BindingUnbound", unbound)])
        self.project(unbound)
        return unbound


class FirstUseGate(BindingBase):
    """The ``FirstUseGatePort`` §4 calls: the gate is the account's ``security_auth_required`` (the ledger refuses
    debits while it is set; services refuse the other first operations)."""

    def is_required(self, owner: str) -> bool:
        account = self.deps.accounts.store.find_account_by_owner(owner)
        return bool(account and account.security_auth_required)

    def clear(self, verification: PassedVerification) -> bool:
        """Lift the gate after a passed BINDING_FIRST_USE verification with a strong method; False if it was not
        up. A weak method never lifts it. With the gate already down (a retry after a crash between the lifting
        and the activity profile's write), the user's cleared bindings are written to the profile again (the
        write is idempotent and forward-only), so the profile never keeps "first use pending"."""
        if verification.operation != FIRST_USE_OPERATION:
            raise VerificationInvalid(operation=verification.operation)
        if verification.strength != "STRONG" or verification.method not in STRONG_METHODS:
            raise WeakMethodNotAccepted(method=verification.method)
        account = self.deps.accounts.store.find_account_by_owner(verification.owner)
        if account is None:
            return False
        if not account.security_auth_required:
            for cleared in self.store.list_bindings(verification.owner):
                if cleared.activated and cleared.status is BindingStatus.ACTIVE and cleared.first_use_cleared_at:
                    self.project(cleared, card_change=False)
            return False
        binding_id = account.security_auth_required
        binding = self.store.get_binding(binding_id)
        if binding is None or binding.status is not BindingStatus.ACTIVE:  # unbound meanwhile: lift the gate only
            return self.deps.accounts.clear_security_auth(account.account_id, binding_id)
        # The binding's record, the account's gate and the event: one transaction (all or nothing).
        binding = binding.model_copy(update={"first_use_cleared_at": self.clock()})
        gate = self.deps.accounts.store.clear_security_auth_write(account.account_id, binding_id)
        try:
            self.store.record_first_use(binding, gate, [self.binding_event(
                "BindingFirstUseCleared", binding, verification_id=verification.verification_id,
                method=verification.method)])
        except (SecurityAuthenticationNotRequired, BindingNotFound):
            return False  # lifted meanwhile (a concurrent attempt), or unbound
        self.project(binding, card_change=False)
        return True
