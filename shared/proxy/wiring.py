"""Builds the proxy service once per container (per distinct configuration) from the function's settings.

Settings are read from the environment on each call (a few microseconds) and the
service is cached per settings value: on AWS that is once per container; on the
local stack, where every function shares one process, each function still gets
the service built from its own template environment.
"""

from __future__ import annotations

from functools import lru_cache, partial

from shared.ledger.wiring import ledger_service
from shared.proxy.events import EventBridgePublisher
from shared.proxy.keys import load_key_ring
from shared.proxy.repository import DynamoProxyStore
from shared.proxy.service import ProxyService
from shared.proxy.settings import ProxySettings


def proxy_service() -> ProxyService:
    return _service(ProxySettings.from_env())


@lru_cache(maxsize=16)
def _service(settings: ProxySettings) -> ProxyService:
    return ProxyService(
        store=DynamoProxyStore(settings.proxy_orders_table, settings.proxy_agents_table),
        ledger=ledger_service(),
        keys=partial(load_key_ring, settings),
        events=EventBridgePublisher(settings.proxy_event_bus),
        settings=settings,
    )
