"""Bindings stream -> ``BindingEventBus``: each new outbox item (binding request, binding and partner events).

The mapping's FilterCriteria deliver only INSERTs of ``OUTBOX#`` items; the handler is the one every outboxed
table's publisher runs (``shared.outbox.stream_publisher``: partial batch failures, bisect, DLQ). Delivery is at
least once: consumers deduplicate on ``detail.event_id``.
"""

from shared.outbox import OutboxSettings, stream_publisher

SETTINGS = OutboxSettings.load()  # at import: a misconfigured function fails its cold start
lambda_handler = stream_publisher(SETTINGS)
