"""The one EventBridge publisher of the platform (an adapter: capabilities depend on a port).

Events are published after the state change committed, best effort: a failed
publish never undoes or fails a change that is already recorded. It is logged
(ids only, no personal data) and counted with the ``EventPublishFailed``
metric, and only AWS SDK errors are caught: a bug (a ``TypeError`` in the
detail) still surfaces.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from shared.aws import LazyClient
from shared.observability import logger, metrics


class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> bool:
        """Best effort after the commit; ``False`` when the event was not published. Never raises for AWS."""


class EventBridgePublisher:
    client = LazyClient("events")

    def __init__(self, bus_name: str, source: str, client: Any = None) -> None:
        self.bus_name = bus_name
        self.source = source
        self.client = client

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> bool:
        if not self.bus_name:  # events switched off for this function
            return True
        entry = {"Source": self.source, "DetailType": detail_type, "EventBusName": self.bus_name,
                 "Detail": json.dumps(dict(detail), default=str, separators=(",", ":"))}
        try:
            failed = int(self.client.put_events(Entries=[entry]).get("FailedEntryCount", 0))
            error = "FailedEntry" if failed else ""
        except (BotoCoreError, ClientError) as exc:
            failed, error = 1, type(exc).__name__
        if failed:
            logger.warning("event not published",
                           extra={"event_source": self.source, "detail_type": detail_type, "error": error})
            metrics.add_metric(name="EventPublishFailed", unit="Count", value=1)
            return False
        return True
