"""Typed writes that commit together: a capability's condition and the domain error it stands for.

A ``GuardedWrite`` is one write of a capability (for DynamoDB: one
``TransactWriteItems`` entry; for the in-memory fakes: a check/commit pair)
together with the domain error it means when its condition cancels the
transaction. Capabilities hand them to ``LedgerService.transfer(..., writes=…)``
so their state changes atomically with money, or commit them alone through
their repository; either way the store raises the failing write's own error.
Nobody maps a position in a list to a meaning.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from shared.dynamo import RETRYABLE_ERRORS, RETRYABLE_REASONS, from_item

OldImage = Mapping[str, Any] | None
"""The item as it was when its condition failed (plain values), when the store returns it."""


@dataclass(frozen=True)
class GuardedWrite:
    operation: Any
    """The store's representation: a ``TransactWriteItems`` entry (DynamoDB) or a fake's check/commit pair."""
    on_condition_failure: Callable[[OldImage], Exception]
    """Builds the domain error raised when this write's condition cancelled the transaction."""

    @classmethod
    def failing_with(cls, operation: Any, error: Callable[[], Exception]) -> GuardedWrite:
        """A write whose failure always means the same error (``error`` is called when it happens)."""
        return cls(operation, lambda _old: error())


class ConflictingWrite(Exception):
    """Contention (a concurrent transaction or throttling) cancelled the transaction: safe to retry."""


def condition_failures(exc: ClientError) -> list[tuple[int, OldImage]]:
    """(index, old image) of every item whose condition failed in a cancelled transaction."""
    raw = exc.response.get("CancellationReasons") or []
    return [
        (i, from_item(r["Item"]) if r.get("Item") else None)
        for i, r in enumerate(raw) if r.get("Code") == "ConditionalCheckFailed"
    ]


def transact(client: Any, writes: Sequence[GuardedWrite], before: Sequence[Mapping[str, Any]] = ()) -> None:
    """``TransactWriteItems`` of ``before`` (the caller's own items) then ``writes``.

    A failed condition of one of ``writes`` raises that write's domain error (the first failing one: they are
    preconditions). Contention raises ``ConflictingWrite``. Anything else about ``before`` is re-raised as the
    ``ClientError`` for the caller to diagnose.
    """
    try:
        client.transact_write_items(TransactItems=[*before, *(w.operation for w in writes)])
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in RETRYABLE_ERRORS:
            raise ConflictingWrite(code) from exc
        if code != "TransactionCanceledException":
            raise
        for index, old in condition_failures(exc):
            if index >= len(before):
                raise writes[index - len(before)].on_condition_failure(old) from exc
        reasons = [r.get("Code") for r in exc.response.get("CancellationReasons") or []]
        if any(r in RETRYABLE_REASONS for r in reasons):
            raise ConflictingWrite(",".join(str(r) for r in reasons)) from exc
        raise
