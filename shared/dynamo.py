"""DynamoDB item codec and error reading shared by every data-access module.

* ``to_item`` / ``from_item``: Python values <-> attribute values. ``None`` is
  omitted, datetimes are ISO-8601 UTC strings (sortable), floats go through
  ``Decimal``; numbers come back as ``int`` when integral, ``float`` otherwise.
* ``cancellation_reasons``: the per-item codes of a cancelled transaction, the
  only thing repositories map to domain errors (never message text).
* ``Repository``: base with the container's DynamoDB client, created lazily.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from shared.aws import LazyClient
from shared.clock import iso

_ser = TypeSerializer()
_de = TypeDeserializer()

# Worth another attempt: contention and throttling, per item or for the whole call.
RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
RETRYABLE_ERRORS = frozenset(
    {"TransactionConflictException", "ThrottlingException", "ProvisionedThroughputExceededException",
     "TransactionInProgressException", "InternalServerError"}
)


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _python(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    if isinstance(value, dict):
        return {k: _python(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_python(v) for v in value]
    return value


def to_attr(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = _ser.serialize(_plain(value))  # type: ignore[assignment]
    return out


def to_item(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: to_attr(v) for k, v in data.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _python(_de.deserialize(v)) for k, v in item.items()}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def cancellation_reasons(exc: ClientError) -> list[str]:
    return [r.get("Code", "None") for r in exc.response.get("CancellationReasons") or []]


def is_condition_failure(exc: ClientError) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"


class Repository:
    """Base of the data-access classes: the container's DynamoDB client, created on first use."""

    client = LazyClient("dynamodb")

    def __init__(self, client: Any = None) -> None:
        self.client = client
