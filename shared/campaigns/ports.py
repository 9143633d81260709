"""Interfaces the campaign services depend on (DynamoDB / EventBridge / Step Functions in production, fakes in
unit tests), and the two signals the store raises to them.

Store implementations enforce the invariants *in the write*: every voucher move
is one atomic write that removes it from exactly one place and puts it in
exactly one other, conditioned on the user's state version, on the pool entry
still being there and on the pool shard's gate still being OPEN.
"""

from __future__ import annotations

from collections.abc import Iterable
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
from shared.events import EventPublisher
from shared.writes import GuardedWrite

__all__ = ["CampaignFrozen", "CampaignStore", "DrawStarter", "EventPublisher", "GroupDirectory", "StaleWrite"]


class StaleWrite(Exception):
    """A concurrent write won the race (the user's state changed or the pool entry was taken): re-read, retry."""


class CampaignFrozen(Exception):
    """The pool shard's gate is no longer OPEN: the draw has frozen the campaign."""


class CampaignStore(Protocol):
    # --- campaign -------------------------------------------------------------
    def create_campaign(self, campaign: Campaign) -> None:
        """Put-once (raises ``AlreadyExists``): the campaign and its pool shards, OPEN."""

    def get_campaign(self, campaign_id: str) -> Campaign | None: ...

    def due_campaigns(self, now: datetime) -> list[tuple[str, str]]:
        """(campaign id, index key) of campaigns still listed as awaiting their draw with draw_at <= now."""

    def unlist_due(self, index_key: str) -> None: ...

    def get_shards(self, campaign: Campaign) -> list[PoolShard]: ...

    def set_status(self, campaign: Campaign, to: str, allowed_from: Iterable[str]) -> bool:
        """Conditional status transition; False when the current status is not in ``allowed_from``."""

    def freeze_shards(self, campaign: Campaign) -> None:
        """Close every pool shard's gate (idempotent): no voucher moves after this returns."""

    # --- user operations ------------------------------------------------------
    def record_interaction(self, campaign_id: str, user_id: str, interaction_id: str, interaction_type: str,
                           at: datetime) -> bool:
        """Put-once the interaction and grant one claim right, atomically. False if the id was already recorded."""

    def read_for_user(self, campaign: Campaign, user_id: str, shards: Iterable[int],
                      voucher_id: str | None = None) -> tuple[UserState | None, list[PoolShard], Voucher | None]:
        """One consistent batch read: the user's state, the given pool shards, and optionally one holding."""

    def pool_candidates(self, campaign: Campaign, shard: int, kind: str | None, limit: int) -> list[PoolEntry]:
        """Oldest pool entries of one shard (of one kind, or of any kind when ``kind`` is None)."""

    def commit_claim(self, campaign: Campaign, before: UserState, after: UserState, voucher: Voucher,
                     gate_shard: int, taken: PoolEntry | None) -> None:
        """Give ``voucher`` to the user: from the pool (``taken`` removed) or newly issued.

        Raises ``StaleWrite`` (state version moved / pool entry gone / voucher id taken) or ``CampaignFrozen``."""

    def commit_pass(self, campaign: Campaign, before: UserState, after: UserState, voucher: Voucher,
                    entry: PoolEntry) -> None:
        """Move a HELD voucher from the user into the pool. Raises ``StaleWrite``, ``CampaignFrozen``."""

    def list_vouchers(self, campaign_id: str, user_id: str) -> list[Voucher]: ...

    def voucher_history(self, campaign_id: str, voucher_id: str) -> list[dict[str, Any]]: ...

    # --- draw -----------------------------------------------------------------
    def holders(self, campaign: Campaign, bucket: int) -> list[UserState]: ...

    def held_vouchers(self, campaign: Campaign, user_id: str) -> list[Voucher]: ...

    def commit_set(self, campaign: Campaign, before: UserState, after: UserState, drawset: DrawSet,
                   at: datetime) -> None:
        """Consume one set's vouchers (HELD -> CONSUMED), record the set put-once, update the user's state."""

    def list_sets(self, campaign: Campaign, bucket: int, user_id: str | None = None) -> list[DrawSet]: ...

    def count_sets(self, campaign: Campaign, bucket: int) -> int: ...

    def save_tally(self, campaign: Campaign, tally: DrawTally) -> DrawTally:
        """Put-once; returns the tally already stored if there is one."""

    def get_tally(self, campaign_id: str) -> DrawTally | None: ...

    def save_group_snapshot(self, campaign_id: str, group_id: str, members: list[str]) -> list[str]:
        """Put-once; returns the snapshot already stored if there is one."""

    def get_group_snapshot(self, campaign_id: str, group_id: str) -> list[str] | None: ...

    def payment_writes(self, campaign: Campaign, bucket: int, payment: Payment) -> list[GuardedWrite]:
        """The payment's record and the bucket's paid total, committed with the prize's transfer (so a payment
        is recorded exactly when its money moves, and a replayed transfer records nothing twice)."""

    def list_payments(self, campaign_id: str, user_id: str) -> list[Payment]: ...

    def paid_total(self, campaign: Campaign) -> int:
        """Σ of the prizes paid (the buckets' paid totals, recorded with each payment's transfer)."""


class GroupDirectory(Protocol):
    """What campaigns need from groups (``shared.groups``' ``GroupService`` provides it)."""

    def key_user_group(self, user_id: str) -> str | None:
        """The id of the group ``user_id`` created and still leads, if any."""

    def members(self, group_id: str) -> list[str]: ...


class DrawStarter(Protocol):
    def start(self, campaign_id: str, reason: str) -> str:
        """Start a CampaignDraw execution; returns its ARN."""
