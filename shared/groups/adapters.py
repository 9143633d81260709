"""External systems of groups other than DynamoDB: the event bus (``shared.events.EventBridgePublisher``).

Group events keep the source they have always had, ``wallet.campaigns``: groups exist for the
campaigns' key users and consumers subscribe to that source (changing it is a contract change).
"""

from __future__ import annotations

from shared.events import EventBridgePublisher

EVENT_SOURCE = "wallet.campaigns"


def event_publisher(bus_name: str) -> EventBridgePublisher:
    return EventBridgePublisher(bus_name, EVENT_SOURCE)
