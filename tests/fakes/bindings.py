"""A bank binding held by a customer and its first-use gate, written through bank binding's own store and the
ledger's account store (CONTRACTS.md: "tests give the user a binding fixture through the binding repository"):
what the binding saga leaves behind for a bound card, without running a partner's requests. Adaptive
verification reads it through binding's services (``BoundCards``, ``BindingFirstUse``), as on AWS."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from local_stack import LocalStack
from shared.binding import wiring
from shared.binding.models import Binding, CardType
from shared.binding.repository import OUTBOX_TTL
from shared.binding.settings import BindingSettings
from shared.clock import utcnow
from shared.crypto import ID_NUMBER, canonical_id_number
from shared.outbox import outbox_writes
from shared.writes import transact

CARD = {"last4": "6217", "id_number": "51010719900307002X"}


@dataclass
class BindingFixture:
    stack: LocalStack
    held: dict[str, Binding] = field(default_factory=dict)

    @property
    def settings(self) -> BindingSettings:
        env = self.stack.registry.environment("AttemptVerificationFunction")
        return BindingSettings.model_validate({k.lower(): v for k, v in env.items()})

    def bind(self, owner: str, gated: bool = False) -> Binding:
        """A BOUND card (``CARD``) on the owner's account; ``gated``: the first-use gate up, as the saga's
        activation leaves it."""
        deps = wiring.deps(self.settings)
        account = deps.accounts.store.find_account_by_owner(owner)
        assert account is not None, owner
        binding = Binding(binding_id=f"bnd_{uuid.uuid4().hex[:24]}", binding_request_id=f"brq_{uuid.uuid4().hex}",
                          owner=owner, account_id=account.account_id, partner_id="ptn_fixture",
                          partner_name="Fixture Bank", card_fingerprint=uuid.uuid4().hex,
                          card_last4=CARD["last4"], card_type=CardType.DEBIT,
                          id_hash=deps.hasher.keyed_hash(ID_NUMBER, canonical_id_number(CARD["id_number"])),
                          activated=True, created_at=utcnow())
        # as the saga's activation commits it: the card claim, the activated binding and its event
        activated = wiring.user_bindings(self.settings).binding_event("BindingActivated", binding,
                                                                      security_authentication_required=gated)
        transact(deps.bindings.client, [*deps.bindings.claim_card_writes(binding),  # type: ignore[attr-defined]
                                        *outbox_writes(self.settings.bindings_table, [activated], OUTBOX_TTL)])
        if gated:
            deps.accounts.store.activate_for_binding(account.account_id, binding.binding_id)
        self.held[owner] = binding
        return binding

    def drop(self, owner: str) -> None:
        """The owner's fixture card is gone (CARD no longer offered)."""
        binding = self.held.pop(owner)
        wiring.deps(self.settings).bindings.remove_pending_binding(binding)

    def is_required(self, owner: str) -> bool:
        return wiring.first_use_gate(self.settings).is_required(owner)

    def cleared_at(self, owner: str) -> object:
        """When the owner's first-use gate was lifted (binding's record), or None."""
        binding = wiring.deps(self.settings).bindings.get_binding(self.held[owner].binding_id)
        return binding.first_use_cleared_at if binding else None


def install(stack: LocalStack) -> BindingFixture:
    return BindingFixture(stack)
