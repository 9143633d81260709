"""Passing a held voucher on into the campaign's shared pool (SPEC §2 flow 2)."""

from __future__ import annotations

from datetime import datetime

from shared.campaigns.errors import (
    PassesPerDayExceeded,
    VoucherNotFound,
    VoucherNotHeld,
    VoucherNotTransferable,
)
from shared.campaigns.models import PoolEntry, VoucherStatus, campaign_event
from shared.campaigns.services.moves import MAX_ATTEMPTS, RETRY, VoucherMoves
from shared.clock import iso
from shared.errors import TemporarilyUnavailable


class PassService(VoucherMoves):
    def pass_on(self, campaign_id: str, user_id: str, voucher_id: str, request: str | None = None) -> PoolEntry:
        """``request``: the request's tag (``shared.api.idempotency.request_tag``), recorded on the user's state with
        the pass; the same request retried after a crash past its commit answers that pass again (another request:
        ``VoucherNotFound``, the voucher is no longer the user's)."""
        campaign = self.campaigns.config(campaign_id)
        shard = campaign.shard_of(voucher_id)
        for attempt in range(MAX_ATTEMPTS):
            state, shards, voucher = self.store.read_for_user(campaign, user_id, [shard], voucher_id=voucher_id)
            self._require_open(campaign, shards)
            if voucher is None and state is not None and request and (state.last_pass_request, state.last_pass_voucher
                                                                      ) == (request, voucher_id):
                passed_before = self._passed(campaign_id, user_id, voucher_id, shard)
                if passed_before is not None:
                    return passed_before
            if voucher is None or state is None:
                raise VoucherNotFound(voucher_id=voucher_id)
            if voucher.status is not VoucherStatus.HELD:
                raise VoucherNotHeld(voucher_id=voucher_id, status=voucher.status.value)
            if voucher.group_id:
                raise VoucherNotTransferable(voucher_id=voucher_id)
            now = self.clock()
            day = now.date().isoformat()
            if state.passes_on(day) >= campaign.limits.passes_per_day:
                raise PassesPerDayExceeded(limit="passes_per_day", maximum=campaign.limits.passes_per_day, day=day)
            after = self._after(state, day, voucher.kind, -1, passes_today=state.passes_on(day) + 1,
                                last_pass_request=request or "", last_pass_voucher=voucher_id)
            entry = PoolEntry(voucher_id=voucher_id, kind=voucher.kind, shard=shard, donor=user_id, pooled_at=now)
            passed = campaign_event("VoucherPassed", {"campaign_id": campaign_id, "voucher_id": voucher_id,
                                                      "kind": voucher.kind, "donor": user_id, "shard": shard},
                                    now, campaign_id, voucher_id, user_id, iso(voucher.obtained_at))
            try:
                self.store.commit_pass(campaign, state, after, voucher, entry, events=[passed])
            except RETRY:
                self._backoff(attempt)
                continue
            return entry
        raise TemporarilyUnavailable(campaign_id=campaign_id)

    def _passed(self, campaign_id: str, user_id: str, voucher_id: str, shard: int) -> PoolEntry | None:
        """The pool entry the user's last pass of the voucher made (from the voucher's audit trail)."""
        passes = [a for a in self.store.voucher_history(campaign_id, voucher_id)
                  if a.get("action") == "PASSED" and a.get("donor") == user_id]
        if not passes:
            return None
        last = max(passes, key=lambda a: str(a["at"]))
        return PoolEntry(voucher_id=voucher_id, kind=str(last["kind"]), shard=int(last.get("shard", shard)),
                         donor=user_id, pooled_at=datetime.fromisoformat(str(last["at"])))
