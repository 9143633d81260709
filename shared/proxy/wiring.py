"""Builds the proxy services from the function's settings, once per container and configuration.

Handlers load ``ProxySettings`` at import and pass them in; every factory is
cached per settings value (settings are frozen, hence hashable), so on AWS each
service is built once per container, and on the local stack, where many
functions share one process, each function gets the services of its own
environment. Nothing here reads the environment.
"""

from __future__ import annotations

from functools import cache, partial

from shared.ledger.wiring import ledger_service
from shared.proxy.adapters import load_key_ring
from shared.proxy.repository import DynamoProxyStore
from shared.proxy.services import (
    AgentService,
    ExecutionService,
    HoldsService,
    ProxyDeps,
    RequesterOrderService,
    ReversalService,
)
from shared.proxy.settings import ProxySettings


@cache
def deps(settings: ProxySettings) -> ProxyDeps:
    return ProxyDeps(
        store=DynamoProxyStore(settings.proxy_orders_table, settings.proxy_agents_table),
        ledger=ledger_service(settings.ledger),
        keys=partial(load_key_ring, settings),
        settings=settings,
    )


@cache
def requester_orders(settings: ProxySettings) -> RequesterOrderService:
    return RequesterOrderService(deps(settings))


@cache
def execution(settings: ProxySettings) -> ExecutionService:
    return ExecutionService(deps(settings))


@cache
def reversals(settings: ProxySettings) -> ReversalService:
    return ReversalService(deps(settings))


@cache
def agents(settings: ProxySettings) -> AgentService:
    return AgentService(deps(settings))


@cache
def holds(settings: ProxySettings) -> HoldsService:
    return HoldsService(deps(settings))
