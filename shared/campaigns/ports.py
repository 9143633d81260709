"""Interfaces the campaign services depend on (DynamoDB / EventBridge / Step Functions in production, fakes in
unit tests), and the signals the store raises to them.

Store implementations enforce the invariants *in the write*: every voucher move
is one atomic write that removes it from exactly one place and puts it in
exactly one other, conditioned on the user's state version, on the pool entry
still being there and on the pool shard's gate still being OPEN. Each condition
is a ``GuardedWrite`` carrying what its failure means: a closed gate is the
domain error ``CampaignClosed``; the others are ``StaleWrite`` signals, each
naming the race that was lost, on which the service re-reads and re-decides
(as on ``ConflictingWrite``, contention).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from shared.campaigns.models import (
    Campaign,
    DrawSet,
    DrawTally,
    Payment,
    PoolEntry,
    PoolShard,
    UserState,
    Voucher,
)
from shared.groups.models import Group
from shared.outbox import OutboxEvent
from shared.writes import ConflictingWrite, GuardedWrite

__all__ = ["CampaignStore", "ConflictingWrite", "DrawStarter", "GroupDirectory", "GuardedWrite",
           "HoldingChanged", "PoolEntryExists", "PoolEntryTaken", "SetAlreadyRecorded", "StaleWrite",
           "StateChanged", "VoucherIdTaken"]


class StaleWrite(Exception):
    """A concurrent write won the race: what the decision was made on changed. Re-read and retry.

    The draw's state machine retries its steps on this name (``StaleWrite``), so a draw step re-raises the
    subclasses below under it."""


class StateChanged(StaleWrite):
    """The user's campaign state is not at the version the move was decided on."""


class PoolEntryTaken(StaleWrite):
    """The pooled voucher the claim chose was taken by another claim."""


class PoolEntryExists(StaleWrite):
    """A pool entry with the same key (voucher and time) is already pooled."""


class HoldingChanged(StaleWrite):
    """The holding is gone or no longer HELD (passed on or consumed meanwhile)."""


class VoucherIdTaken(StaleWrite):
    """A voucher with the new voucher's id is already held (a random id collided)."""


class SetAlreadyRecorded(StaleWrite):
    """The draw set with this number is already recorded (another run of the step recorded it)."""


class CampaignStore(Protocol):
    # --- campaign -------------------------------------------------------------
    def create_campaign(self, campaign: Campaign, events: Sequence[OutboxEvent] = ()) -> None:
        """Put-once (raises ``AlreadyExists``): the campaign and its pool shards, OPEN; ``events`` are written
        with the campaign (the transactional outbox, ``shared/outbox.py``), as in every method taking them."""

    def get_campaign(self, campaign_id: str) -> Campaign | None: ...

    def due_campaigns(self, now: datetime) -> list[tuple[str, str]]:
        """(campaign id, index key) of campaigns still listed as awaiting their draw with draw_at <= now."""

    def unlist_due(self, index_key: str) -> None: ...

    def get_shards(self, campaign: Campaign) -> list[PoolShard]: ...

    def set_status(self, campaign: Campaign, to: str, allowed_from: Iterable[str],
                   events: Sequence[OutboxEvent] = ()) -> bool:
        """Conditional status transition; False when the current status is not in ``allowed_from``."""

    def freeze_shards(self, campaign: Campaign) -> None:
        """Close every pool shard's gate (idempotent): no voucher moves after this returns."""

    # --- user operations ------------------------------------------------------
    def record_interaction(self, campaign_id: str, user_id: str, interaction_id: str, interaction_type: str,
                           at: datetime, events: Sequence[OutboxEvent] = ()) -> bool:
        """Put-once the interaction and grant one claim right, atomically. False if the id was already recorded.
        Raises ``ConflictingWrite``."""

    def read_for_user(self, campaign: Campaign, user_id: str, shards: Iterable[int],
                      voucher_id: str | None = None) -> tuple[UserState | None, list[PoolShard], Voucher | None]:
        """One consistent batch read: the user's state, the given pool shards, and optionally one holding."""

    def pool_candidates(self, campaign: Campaign, shard: int, kind: str, limit: int) -> list[PoolEntry]:
        """The oldest pool entries of one kind in one shard, oldest first."""

    def commit_claim(self, campaign: Campaign, before: UserState, after: UserState, voucher: Voucher,
                     gate_shard: int, taken: PoolEntry | None, next_oldest: str | None = None,
                     writes: Sequence[GuardedWrite] = (), events: Sequence[OutboxEvent] = ()) -> None:
        """Give ``voucher`` to the user: from the pool (``taken`` removed; the shard's ``oldest`` hint of its
        kind becomes ``next_oldest``, removed when None) or newly issued; a group-shared voucher also registers
        its group for the draw's snapshot. ``writes`` (another capability's) commit in the same transaction.

        Raises ``CampaignClosed`` (gate), ``StateChanged``, ``PoolEntryTaken``, ``VoucherIdTaken``, the error
        of a failing ``writes`` item, or ``ConflictingWrite``."""

    def commit_pass(self, campaign: Campaign, before: UserState, after: UserState, voucher: Voucher,
                    entry: PoolEntry, events: Sequence[OutboxEvent] = ()) -> None:
        """Move a HELD voucher from the user into the pool. Raises ``CampaignClosed``, ``StateChanged``,
        ``HoldingChanged``, ``PoolEntryExists`` or ``ConflictingWrite``."""

    def list_vouchers(self, campaign_id: str, user_id: str) -> list[Voucher]: ...

    def voucher_history(self, campaign_id: str, voucher_id: str) -> list[dict[str, Any]]: ...

    # --- draw -----------------------------------------------------------------
    def holders(self, campaign: Campaign, bucket: int) -> list[UserState]: ...

    def held_vouchers(self, campaign: Campaign, user_id: str) -> list[Voucher]: ...

    def commit_set(self, campaign: Campaign, before: UserState, after: UserState, drawset: DrawSet,
                   at: datetime) -> None:
        """Consume one set's vouchers (HELD -> CONSUMED), record the set put-once, update the user's state.
        Raises ``StateChanged``, ``HoldingChanged``, ``SetAlreadyRecorded`` or ``ConflictingWrite``."""

    def list_sets(self, campaign: Campaign, bucket: int, user_id: str | None = None) -> list[DrawSet]: ...

    def count_sets(self, campaign: Campaign, bucket: int) -> int: ...

    def save_tally(self, campaign: Campaign, tally: DrawTally, events: Sequence[OutboxEvent] = ()) -> DrawTally:
        """Put-once; returns the tally already stored if there is one."""

    def get_tally(self, campaign_id: str) -> DrawTally | None: ...

    def group_registry(self, campaign: Campaign, bucket: int) -> list[str]:
        """Ids of the groups of one bucket (``campaign.bucket_of(group_id)``) that hold a group-shared voucher."""

    def save_group_snapshot(self, campaign: Campaign, group_id: str, members: list[str]) -> list[str]:
        """Put-once; returns the snapshot already stored if there is one."""

    def get_group_snapshot(self, campaign: Campaign, group_id: str) -> list[str] | None: ...

    def payment_writes(self, campaign: Campaign, bucket: int, payment: Payment,
                       events: Sequence[OutboxEvent] = ()) -> list[GuardedWrite]:
        """The payment's record and the bucket's paid total, committed with the prize's transfer (so a payment
        is recorded exactly when its money moves, and a replayed transfer records nothing twice)."""

    def list_payments(self, campaign_id: str, user_id: str) -> list[Payment]: ...

    def paid_total(self, campaign: Campaign) -> int:
        """Σ of the prizes paid (the buckets' paid totals, recorded with each payment's transfer)."""


class GroupDirectory(Protocol):
    """What campaigns need from groups (``shared.groups``' ``GroupService`` provides it)."""

    def create(self, owner: str, name: str, campaign_id: str, request: str | None = None) -> Group:
        """A group in the campaign's context, its creator the key user. Raises ``AlreadyInGroup``, except to the
        request (its tag) that created the user's group: it gets that group again."""

    def key_user_group(self, user_id: str, campaign_id: str) -> str | None:
        """The id of the group ``user_id`` created in this campaign (which makes them its key user), if any."""

    def members(self, group_id: str) -> list[str]: ...

    def shared_voucher_write(self, group_id: str, key_user: str, campaign_id: str, voucher_id: str,
                             on_failure: Callable[[], Exception]) -> GuardedWrite:
        """Records on the group that it holds ``voucher_id``, on condition that ``key_user`` created the group in
        this campaign (``on_failure()`` otherwise). Committed with the key-user claim."""

    def lock_for_draw(self, campaign_id: str) -> None:
        """From now until ``unlock_after_draw``, no one joins or leaves a group that holds a group-shared voucher
        of the campaign (idempotent; does nothing once the campaign's draw was settled)."""

    def unlock_after_draw(self, campaign_id: str) -> None: ...


class DrawStarter(Protocol):
    def start(self, campaign_id: str, reason: str) -> str:
        """Start a CampaignDraw execution; returns its ARN."""
