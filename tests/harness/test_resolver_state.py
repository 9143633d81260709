"""Concurrent invocations in one process never see each other's Powertools event (local_stack.resolver_state)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from local_stack import resolver_state


def test_current_event_is_per_thread_for_class_and_instance_access() -> None:
    resolver_state.install()
    resolver_state.install()  # idempotent
    app = APIGatewayRestResolver()
    barrier = threading.Barrier(8)

    @app.get("/who")
    def who() -> dict[str, str]:
        barrier.wait()  # every request is in flight at once
        return {"me": app.current_event.headers["x-me"], "cls": BaseRouter.current_event.headers["x-me"]}

    def call(i: int) -> dict[str, str]:
        event = {"path": "/who", "httpMethod": "GET", "headers": {"x-me": str(i)}, "requestContext": {},
                 "queryStringParameters": None, "body": None, "isBase64Encoded": False}
        import json

        return dict(json.loads(app.resolve(event, None)["body"]))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, range(8)))
    assert results == [{"me": str(i), "cls": str(i)} for i in range(8)]
