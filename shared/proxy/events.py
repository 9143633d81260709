"""State-change events of proxy orders on EventBridge (data access).

Published after the state change committed, best effort: a failed publish is
logged and counted (metric ``ProxyEventPublishFailed``), never turned into an
error for a request whose money already moved. Details carry ids, amounts and
masked account ids only (no personal data).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared import aws
from shared.observability import logger, metrics

SOURCE = "wallet.proxy"


class EventBridgePublisher:
    def __init__(self, bus_name: str, client: Any = None) -> None:
        self.bus_name = bus_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("events")
        return self._client

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        if not self.bus_name:
            return
        entry = {"Source": SOURCE, "DetailType": detail_type, "EventBusName": self.bus_name,
                 "Detail": json.dumps(detail, default=str, separators=(",", ":"))}
        try:
            resp = self.client.put_events(Entries=[entry])
            failed = int(resp.get("FailedEntryCount", 0))
        except (BotoCoreError, ClientError) as exc:
            logger.warning("proxy event not published", extra={"detail_type": detail_type, "error": type(exc).__name__})
            failed = 1
        if failed:
            metrics.add_metric(name="ProxyEventPublishFailed", unit="Count", value=1)
