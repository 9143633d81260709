"""AWS clients: one per service per container, created only when first used.

Only data-access modules (``repository.py``, ``adapters.py``) use this.
Locally ``AWS_ENDPOINT_URL`` points every client at the embedded emulator; on
AWS it is unset.

The one lazy-client pattern: a class declares ``client = LazyClient("events")``;
instances get the container's client on first use, or the one injected in
their constructor (tests, the local stack's tools).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Retries of throttling are the SDK's job; conditional/transaction conflicts are ours.
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5, max_pool_connections=64
)


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=_CONFIG)  # type: ignore[call-overload]


def dynamodb() -> DynamoDBClient:
    return client("dynamodb")  # type: ignore[no-any-return]


class LazyClient:
    """Descriptor: the container's boto3 client for ``service``, unless the instance was given its own.

    ``self.client = None`` (the constructor default) means "the container's, on first use".
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self.slot = f"_{service}_client"

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    def __get__(self, obj: object, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__.get(self.slot)
        if value is None:
            value = obj.__dict__[self.slot] = client(self.service)
        return value

    def __set__(self, obj: object, value: Any) -> None:
        obj.__dict__[self.slot] = value
