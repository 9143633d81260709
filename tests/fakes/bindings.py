"""A bank binding held by a customer and its first-use gate, installed in place of adaptive verification's
"no binding" adapters (CONTRACTS.md: "until bank binding exists, tests give the user a binding fixture through
the binding repository"). The local stack runs the handlers in this process, so patching the adapter classes
reaches every function."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from shared.verification import adapters

CARD = {"last4": "6217", "id_number": "51010719900307002X"}


@dataclass
class BindingFixture:
    bindings: dict[str, tuple[str, str]] = field(default_factory=dict)
    gated: set[str] = field(default_factory=set)
    cleared: list[str] = field(default_factory=list)

    def bind(self, owner: str, gated: bool = False) -> None:
        self.bindings[owner] = (CARD["last4"], CARD["id_number"])
        if gated:
            self.gated.add(owner)

    def holds_binding(self, owner: str) -> bool:
        return owner in self.bindings

    def matches(self, owner: str, last4: str, id_number: str) -> bool:
        return self.bindings.get(owner) == (last4, id_number.upper())

    def is_required(self, owner: str) -> bool:
        return owner in self.gated

    def clear(self, owner: str, verification_id: str, method: str) -> bool:
        if owner not in self.gated:
            return False
        self.gated.discard(owner)
        self.cleared.append(verification_id)
        return True


def install(monkeypatch: pytest.MonkeyPatch) -> BindingFixture:
    """A fresh fixture in place of the adapters that say "no binding" (undone with ``monkeypatch``)."""
    fixture = BindingFixture()
    for name in ("holds_binding", "matches"):
        monkeypatch.setattr(adapters.NoCardBindings, name, lambda _self, *a, _n=name: getattr(fixture, _n)(*a))
    for name in ("is_required", "clear"):
        monkeypatch.setattr(adapters.NoFirstUseGate, name, lambda _self, *a, _n=name: getattr(fixture, _n)(*a))
    return fixture
