"""The draw (SPEC §2 flow 5), one method per step of the ``CampaignDraw`` state machine.

Every step is idempotent, so the whole workflow can be re-run after any failure:

* ``freeze``        the membership of every group holding a group-shared voucher of the campaign is locked
                    (no one joins or leaves them until settlement), then campaign -> DRAWING and every pool
                    shard's gate closed (no voucher moves after it);
* ``snapshot_groups`` per group bucket, right after the freeze: each such group's members, as they were
                    locked at the freeze, are recorded once: the draw time's membership that shares the prize;
* ``consume``       per holder bucket: each holder's complete sets are consumed, one put-once set record
                    each (``<user>#<n>``, n from the user's version-checked ``sets`` counter);
* ``tally``         the pot split, fixed once: ``share = pot // total_sets``, remainder stays in the
                    campaign account;
* ``pay``           per holder bucket: the bucket's payouts move once from the pot to the bucket's payout
                    account, then each share is paid from there through the ledger with a transaction id
                    derived from (campaign, set, payee), so a retried step or a re-run pays nobody twice; the
                    payment's record and the bucket's paid total commit in the same transaction;
* ``settle``        campaign -> SETTLED, and the groups' membership unlocked.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from shared.campaigns.errors import CampaignNotFound, DrawNotReady
from shared.campaigns.models import Campaign, CampaignStatus, DrawSet, DrawTally, Payment, UserState, campaign_event
from shared.campaigns.ports import CampaignStore, ConflictingWrite, GroupDirectory, StaleWrite
from shared.campaigns.services.campaigns import bucket_account_id
from shared.clock import utcnow
from shared.ledger.errors import AccountAlreadyExists
from shared.ledger.models import CAMPAIGN_ONLY, CUSTOMER_ONLY, AccountKind
from shared.ledger.service import AccountService, LedgerService, derived_transaction_id
from shared.types import Money


class DrawService:
    def __init__(self, store: CampaignStore, ledger: LedgerService, groups: GroupDirectory,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.ledger = ledger
        self.accounts = AccountService(ledger)
        self.groups = groups
        self.clock = clock

    def _campaign(self, campaign_id: str) -> Campaign:
        campaign = self.store.get_campaign(campaign_id)
        if campaign is None:
            raise CampaignNotFound(campaign_id=campaign_id)
        return campaign

    # --- steps ----------------------------------------------------------------
    def freeze(self, campaign_id: str) -> dict[str, Any]:
        campaign = self._campaign(campaign_id)
        # First the groups: from here no membership of a group holding a group-shared voucher changes, so the
        # snapshot taken next is the membership at the draw time (a re-run after settlement locks nothing).
        self.groups.lock_for_draw(campaign_id)
        frozen = campaign_event("CampaignFrozen", {"campaign_id": campaign_id}, self.clock(), campaign_id)
        self.store.set_status(campaign, CampaignStatus.DRAWING.value, [CampaignStatus.OPEN.value], events=[frozen])
        self.store.freeze_shards(campaign)
        return {"campaign_id": campaign_id, "buckets": list(range(campaign.holder_buckets))}

    def snapshot_groups(self, campaign_id: str, bucket: int) -> dict[str, Any]:
        """Record, once, the members of every group of the bucket that holds a group-shared voucher."""
        campaign = self._campaign(campaign_id)
        if campaign.status is CampaignStatus.OPEN:
            raise DrawNotReady("Freeze the campaign before taking the groups' snapshot.", campaign_id=campaign_id)
        taken = 0
        for group_id in self.store.group_registry(campaign, bucket):
            if self.store.get_group_snapshot(campaign, group_id) is None:
                self.store.save_group_snapshot(campaign, group_id, self.groups.members(group_id))
                taken += 1
        return {"campaign_id": campaign_id, "bucket": bucket, "snapshots": taken}

    def consume(self, campaign_id: str, bucket: int) -> dict[str, Any]:
        campaign = self._campaign(campaign_id)
        if campaign.status is CampaignStatus.OPEN:
            raise DrawNotReady("Freeze the campaign before consuming sets.", campaign_id=campaign_id)
        for state in self.store.holders(campaign, bucket):
            try:
                self._consume_holder(campaign, state)
            except (StaleWrite, ConflictingWrite) as exc:
                # The state machine retries this step by error name: every lost race is ``StaleWrite`` to it.
                raise StaleWrite(f"{type(exc).__name__} while consuming bucket {bucket}; the step is re-run") from exc
        sets = self.store.list_sets(campaign, bucket)
        return {"campaign_id": campaign_id, "bucket": bucket, "sets": len(sets)}

    def _consume_holder(self, campaign: Campaign, state: UserState) -> None:
        complete = min(state.held.get(k, 0) for k in campaign.kind_names)
        if complete <= 0:
            return
        by_kind: dict[str, list[Any]] = {}
        for v in sorted(self.store.held_vouchers(campaign, state.user_id), key=lambda v: (v.obtained_at,
                                                                                          v.voucher_id)):
            by_kind.setdefault(v.kind, []).append(v)
        for _ in range(complete):
            if any(not by_kind.get(k) for k in campaign.kind_names):
                raise StaleWrite(f"held counts of {state.user_id} disagree with the holdings")
            chosen = [by_kind[k].pop(0) for k in campaign.kind_names]
            group_id = next((v.group_id for v in chosen if v.group_id), None)
            n = state.sets + 1
            drawset = DrawSet(set_id=f"{campaign.bucket_of(state.user_id)}#{state.user_id}#{n:04d}",
                              campaign_id=campaign.campaign_id, user_id=state.user_id,
                              voucher_ids=tuple(v.voucher_id for v in chosen), group_id=group_id)
            held = {**state.held, **{k: state.held[k] - 1 for k in campaign.kind_names}}
            after = state.model_copy(update={"version": state.version + 1, "sets": n, "held": held})
            self.store.commit_set(campaign, state, after, drawset, self.clock())
            state = after

    def tally(self, campaign_id: str) -> dict[str, Any]:
        campaign = self._campaign(campaign_id)
        if campaign.status is CampaignStatus.OPEN:
            raise DrawNotReady("Freeze the campaign before the tally.", campaign_id=campaign_id)
        with ThreadPoolExecutor(max_workers=16) as pool:
            total = sum(pool.map(lambda b: self.store.count_sets(campaign, b), range(campaign.holder_buckets)))
        pot = campaign.prize_pot.amount
        share = pot // total if total else 0
        tally = DrawTally(total_sets=total, share=share, remainder=pot - share * total)
        tallied = campaign_event("DrawTallied", {"campaign_id": campaign_id, **tally.model_dump()}, self.clock(),
                                 campaign_id)
        tally = self.store.save_tally(campaign, tally, events=[tallied])  # a re-run: the first tally, no event
        return {"campaign_id": campaign_id, "buckets": list(range(campaign.holder_buckets)), **tally.model_dump()}

    def pay(self, campaign_id: str, bucket: int) -> dict[str, Any]:
        campaign = self._campaign(campaign_id)
        tally = self.store.get_tally(campaign_id)
        if tally is None:
            raise DrawNotReady("Tally the draw before paying.", campaign_id=campaign_id)
        payments = [p for s in self.store.list_sets(campaign, bucket) for p in self.payments_for(campaign, tally, s)]
        paid = sum(p.amount.amount for p in payments)
        source = self._fund_bucket(campaign, bucket, paid)
        for payment in payments:
            self._pay(campaign, bucket, source, payment)
        return {"campaign_id": campaign_id, "bucket": bucket, "paid": paid, "payments": len(payments)}

    def _fund_bucket(self, campaign: Campaign, bucket: int, amount: int) -> str:
        """Move exactly the bucket's payouts from the pot into the bucket's own payout account, once.

        Every payout would otherwise debit the one campaign account: a single hot item that serializes
        millions of transfers. Per-bucket accounts spread the debits; the remainder stays in the pot."""
        account_id = bucket_account_id(campaign, bucket)
        if amount <= 0:
            return account_id
        self.ledger.ensure_system_account(account_id, AccountKind.CAMPAIGN, campaign.prize_pot.currency,
                                          owner=f"campaign:{campaign.campaign_id}:bucket:{bucket}")
        self.ledger.transfer(derived_transaction_id("cfundb", campaign.campaign_id, str(bucket)), campaign.account_id,
                             account_id, Money(amount=amount, currency=campaign.prize_pot.currency),
                             "CAMPAIGN_PAYOUT_FUNDING", metadata={"campaign_id": campaign.campaign_id,
                                                                  "bucket": str(bucket)},
                             credit_kinds=CAMPAIGN_ONLY)
        return account_id

    def payments_for(self, campaign: Campaign, tally: DrawTally, drawset: DrawSet) -> list[Payment]:
        """The set's share for its winner, or split equally among the group's members at the snapshot."""
        payees = [drawset.user_id]
        if drawset.group_id:
            snapshot = self.store.get_group_snapshot(campaign, drawset.group_id)
            if snapshot is None:  # every group-shared voucher registers its group, which the freeze snapshots
                raise DrawNotReady("A winning group has no snapshot of its members.", campaign_id=campaign.campaign_id,
                                   group_id=drawset.group_id)
            payees = snapshot or payees
        amount = tally.share // len(payees)
        if amount <= 0:
            return []
        return [Payment(transaction_id=derived_transaction_id("cdraw", campaign.campaign_id, drawset.set_id, p),
                        set_id=drawset.set_id, payee=p, group_id=drawset.group_id,
                        amount=Money(amount=amount, currency=campaign.prize_pot.currency)) for p in payees]

    def _pay(self, campaign: Campaign, bucket: int, source_account_id: str, payment: Payment) -> None:
        paid = campaign_event("PrizePaid", {"campaign_id": campaign.campaign_id, "payee": payment.payee,
                                            "transaction_id": payment.transaction_id,
                                            "amount": payment.amount.model_dump()},
                              self.clock(), payment.transaction_id)  # recorded with the money, once
        account = self.accounts.store.find_account_by_owner(payment.payee)
        if account is None:  # a winner without a payment account gets one opened for the prize
            try:
                account = self.accounts.register(payment.payee, campaign.prize_pot.currency)
            except AccountAlreadyExists:
                account = self.accounts.my_account(payment.payee)
        self.ledger.transfer(payment.transaction_id, source_account_id, account.account_id, payment.amount,
                             "CAMPAIGN_PRIZE", metadata={"campaign_id": campaign.campaign_id,
                                                         "set_id": payment.set_id}, credit_kinds=CUSTOMER_ONLY,
                             writes=self.store.payment_writes(campaign, bucket, payment, events=[paid]))


    def settle(self, campaign_id: str) -> dict[str, Any]:
        campaign = self._campaign(campaign_id)
        tally = self.store.get_tally(campaign_id)
        if tally is None:
            raise DrawNotReady("Tally the draw before settling.", campaign_id=campaign_id)
        settled = campaign_event("CampaignSettled", {"campaign_id": campaign_id, **tally.model_dump()},
                                 self.clock(), campaign_id)
        self.store.set_status(campaign, CampaignStatus.SETTLED.value, [CampaignStatus.DRAWING.value],
                              events=[settled])
        self.groups.unlock_after_draw(campaign_id)  # also on a re-run: members may join and leave again
        return {"campaign_id": campaign_id, "status": CampaignStatus.SETTLED.value, **tally.model_dump()}
