"""Labels on decisions (``FRAUD`` / ``LEGITIMATE``) by admins and reviewers: the feedback loop the feasibility
model's training can read (``training/feasibility.py --feedback``). Nobody labels a case they are a party to:
the platform's one rule (``shared.decisions.ensure_not_party``, ``403 SELF_REVIEW``); the parties are the
decision's user and the owner of its payee's account.
"""

from __future__ import annotations

from shared.decisions import ensure_not_party
from shared.verification.errors import DecisionNotFound, StaleState
from shared.verification.models import Label, Verification
from shared.verification.services.base import STALE_RETRIES, VerificationBase


class FeedbackService(VerificationBase):
    def label(self, reviewer: str, verification_id: str, label: Label, note: str | None) -> Verification:
        for _ in range(STALE_RETRIES):
            v = self.store.get(verification_id)
            if v is None:
                raise DecisionNotFound(verification_id=verification_id)
            payee_owner = self.deps.accounts.owner_of(v.payee_account_id) if v.payee_account_id else None
            ensure_not_party(reviewer, [v.owner, payee_owner], "verification-decision")
            labelled = v.model_copy(update={"label": label, "label_note": note, "labelled_by": reviewer,
                                            "labelled_at": self.now(), "version": v.version + 1})
            try:
                self.store.commit([self.store.w_replace_verification(labelled, v.version)])
            except StaleState:
                continue
            return labelled
        raise StaleState()
