"""External systems of proxy mode other than DynamoDB: the signing-key ring.

Signing keys (Secrets Manager through Powertools Parameters):

* ``PROXY_CODE_KEYS`` set (local/dev): that JSON, no AWS call.
* otherwise the secret ``PROXY_CODE_SECRET_ID``, fetched with Powertools'
  ``get_secret`` and cached in the container for ``PROXY_KEY_CACHE_SECONDS``
  (a rotation reaches every container within that time; codes signed with the
  previous key keep verifying as long as the secret still lists it).

Events are not published from here: the store writes each into its change's own
transaction (the transactional outbox, ``shared/outbox.py``; source ``wallet.proxy``,
ids, amounts and masked account ids only) and ``PublishProxyEventsFunction``
publishes them from the ProxyOrders table's stream to ``ProxyEventBus``.
"""

from __future__ import annotations

import json
from typing import Any

from shared.proxy.codes import KeyRing
from shared.proxy.settings import ProxySettings


class KeyConfigurationError(RuntimeError):
    """No usable signing keys: a deployment error, not a client's."""


def load_key_ring(settings: ProxySettings) -> KeyRing:
    """The current key ring (called per use: the secret's container cache decides when it is fetched again)."""
    try:
        if settings.proxy_code_keys:
            return KeyRing.from_mapping(json.loads(settings.proxy_code_keys))
        if not settings.proxy_code_secret_id:
            raise KeyConfigurationError("set PROXY_CODE_SECRET_ID (or PROXY_CODE_KEYS locally)")
        from aws_lambda_powertools.utilities import parameters

        data: Any = parameters.get_secret(
            settings.proxy_code_secret_id, transform="json", max_age=settings.proxy_key_cache_seconds
        )
        return KeyRing.from_mapping(data)
    except (ValueError, TypeError, AttributeError) as exc:
        raise KeyConfigurationError(f"proxy code keys are malformed: {type(exc).__name__}") from exc

