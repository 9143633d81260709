"""Every writing use case of the platform, registered once: the crash, fault and coverage tests read this.

A use case names the functions whose AWS calls it crashes and a ``prepare`` that builds a fresh run (its own
users and objects). ``tests/reliability/test_registry.py`` fails while a function of the template that writes
(per ``tests/infra/dynamodb_access.yaml``) is neither the function of a registered use case nor listed in
``NOT_CRASH_TESTED`` with its reason: a new writing function is covered by adding one entry here.
"""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import Reply, User, new_key
from tests.reliability.harness import ApiRun, InvokeRun, Run, UseCase, World

REGISTRY: dict[str, UseCase] = {}


def use_case(name: str, *functions: str, long: bool = False, skip_checks: tuple[str, ...] = ()) -> Any:
    def register(prepare: Any) -> Any:
        REGISTRY[name] = UseCase(name, tuple(functions), prepare, long, skip_checks)
        return prepare
    return register


def _money(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "CNY"}


# --- ledger (SPEC §1) -------------------------------------------------------------------------------------------
@use_case("transfer", "CreateTransferFunction")
def transfer(world: World) -> Run:
    api = world.api
    payer, payee = api.user(balance=10_000), api.user()

    def after(reply: Reply) -> None:
        assert api.balance(payer) == 10_000 - 1_250 and api.balance(payee) == 1_250, "applied more than once"

    return ApiRun(world, "POST", "/transfers", {"to_account_id": payee.account_id, "amount": _money(1_250),
                                                "note": "lunch"}, payer.token, (201,), new_key(), after)


@use_case("deposit", "AdminDepositFunction")
def deposit(world: World) -> Run:
    api = world.api
    user = api.user()

    def after(reply: Reply) -> None:
        assert api.balance(user) == 5_000, "applied more than once"

    return ApiRun(world, "POST", f"/admin/accounts/{user.account_id}/deposits", {"amount": _money(5_000)},
                  world.admin(), (201,), new_key(), after)


def users(world: World, n: int, balance: int = 0) -> list[User]:
    return [world.api.user(f"rel-{uuid.uuid4().hex[:8]}", balance=balance) for _ in range(n)]


__all__ = ["REGISTRY", "InvokeRun", "users"]
