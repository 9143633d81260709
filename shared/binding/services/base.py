"""What every binding service shares: its ports, settings, clock and its events (outbox items, committed with the
change they announce: ``shared/outbox.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.binding.errors import BindingRequestNotFound, PartnerNotFound
from shared.binding.models import Binding, BindingRequest, BindingStatus, Partner
from shared.binding.ports import (
    BindingStore,
    CallbackSender,
    Cipher,
    Hasher,
    PartnerStore,
    RealNameIdentities,
    UserDirectory,
    VerificationTokens,
    Workflow,
)
from shared.binding.settings import BindingSettings
from shared.clock import utcnow
from shared.ledger.service import AccountService
from shared.outbox import OutboxEvent, domain_event
from shared.signals.models import BindingFact, BindingState, SensitiveChange
from shared.signals.ports import SignalsWriter

EVENT_SOURCE = "wallet.binding"


def binding_event(detail_type: str, detail: dict[str, Any], at: datetime, *identity: str) -> OutboxEvent:
    """A binding or partner event; its id derives from ``identity`` (the request and its version, the binding, the
    partner and its version), so a retried step or route cannot write it twice."""
    return domain_event(EVENT_SOURCE, detail_type, detail, at, *identity)


@dataclass
class BindingDeps:
    bindings: BindingStore
    partners: PartnerStore
    accounts: AccountService
    cipher: Cipher  # customers' personal data (names, card holders' ID numbers)
    secrets_cipher: Cipher  # partner signing secrets (another KMS encryption context)
    hasher: Hasher
    directory: UserDirectory
    workflow: Workflow
    callbacks: CallbackSender
    real_names: RealNameIdentities
    verifier: VerificationTokens
    settings: BindingSettings
    # The activity profile's ``bindings`` (trusted binding information for §5): None where the function does not
    # write it (only the steps that change a binding's state do: activate, compensate, unbind, the first-use gate).
    signals: SignalsWriter | None = None
    clock: Callable[[], datetime] = field(default=utcnow)


class BindingBase:
    def __init__(self, deps: BindingDeps) -> None:
        self.deps = deps
        self.store = deps.bindings
        self.settings = deps.settings
        self.clock = deps.clock

    def partner(self, partner_id: str) -> Partner:
        partner = self.deps.partners.get(partner_id)
        if partner is None:
            raise PartnerNotFound(partner_id=partner_id)
        return partner

    def request(self, request_id: str) -> BindingRequest:
        request = self.store.get_request(request_id)
        if request is None:
            raise BindingRequestNotFound(binding_request_id=request_id)
        return request

    def request_event(self, detail_type: str, request: BindingRequest, **extra: Any) -> OutboxEvent:
        """The event of this version of the request. Ids and states only: no phone, name, ID number or card
        token."""
        now = self.clock()
        return binding_event(detail_type, {
            "binding_request_id": request.binding_request_id, "partner_id": request.partner_id,
            "status": request.status.value, "account_id": request.account_id, "owner": request.owner,
            "reason": request.reason.value if request.reason else None, "binding_id": request.binding_id,
            "version": request.version, "occurred_at": now.isoformat(), **extra},
            now, request.binding_request_id, str(request.version))

    def project(self, binding: Binding, card_change: bool = True) -> None:
        """The binding's state into its owner's activity profile (idempotent and forward-only, so a retried step
        writes it again safely), and, when a card was bound or unbound (``card_change``: not when the first use
        was verified), the profile's ``CARD`` sensitive change (its time: §4's risk reads it). A failure fails the step,
        which is retried."""
        if self.deps.signals is None or not binding.activated:
            return
        self.deps.signals.record_binding(binding.owner, BindingFact(
            binding_id=binding.binding_id, partner_id=binding.partner_id, bank_name=binding.partner_name,
            card_type=binding.card_type.value, account_id=binding.account_id,
            state=BindingState.UNBOUND if binding.status is BindingStatus.UNBOUND else BindingState.ACTIVE,
            bound_at=binding.created_at, first_use_verified_at=binding.first_use_cleared_at,
            unbound_at=binding.unbound_at))
        if card_change:
            self.deps.signals.record_sensitive_change(binding.owner, SensitiveChange.CARD)

    def binding_event(self, detail_type: str, binding: Binding, **extra: Any) -> OutboxEvent:
        """A binding's event (activated, unbound, first use cleared: each happens once to a binding)."""
        now = self.clock()
        return binding_event(detail_type, {
            "binding_id": binding.binding_id, "binding_request_id": binding.binding_request_id,
            "partner_id": binding.partner_id, "owner": binding.owner, "account_id": binding.account_id,
            "card_type": binding.card_type.value, "status": binding.status.value,
            "occurred_at": now.isoformat(), **extra}, now, binding.binding_id)
