"""EventBridge publisher for campaign and group state changes (data access: the only boto3 user here)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from shared import aws
from shared.observability import logger

SOURCE = "wallet.campaigns"


class EventBridgePublisher:
    def __init__(self, bus_name: str, source: str = SOURCE, client: Any = None) -> None:
        self.bus_name = bus_name
        self.source = source
        self._client = client

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        """Best effort: the state change is already committed and its audit trail written with it."""
        client = self._client or aws.client("events")
        entry = {"Source": self.source, "DetailType": detail_type, "EventBusName": self.bus_name,
                 "Detail": json.dumps(dict(detail), default=str)}
        try:
            resp = client.put_events(Entries=[entry])
            if resp.get("FailedEntryCount"):
                logger.warning("event not published", extra={"detail_type": detail_type})
        except Exception:  # noqa: BLE001 - publishing must never undo or fail a committed change
            logger.exception("event not published", extra={"detail_type": detail_type})
