"""Changing the account's phone (CONTRACTS.md): an ACCOUNT_UPDATE token starts it, an OTP sent to the NEW number
confirms it, and only then the ledger swaps the phone claims (release the old, claim the new, update the account)
in the same transaction that closes the pending change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from shared.crypto import PHONE_OTP, equal, new_otp
from shared.errors import TemporarilyUnavailable, TooManyAttempts
from shared.ledger.errors import AccountNotFound
from shared.ledger.models import Account
from shared.observability import logger
from shared.verification.errors import (
    PhoneChangeNotFound,
    SamePhone,
    StaleState,
    VerificationRequired,
)
from shared.verification.models import AttemptResult, Operation, PhoneChange, new_id, otp_material
from shared.verification.services.base import STALE_RETRIES, VerificationBase, VerificationDeps, _seconds, bounded
from shared.verification.services.challenges import ChallengeService
from shared.verification.services.tokens import TokenService

SENSITIVE_KEEP = timedelta(days=30)


@dataclass(frozen=True)
class PhoneConfirmation:
    result: AttemptResult
    tries_left: int
    account: Account | None = None


class PhoneChangeService(VerificationBase):
    def __init__(self, deps: VerificationDeps, tokens: TokenService, challenges: ChallengeService) -> None:
        super().__init__(deps)
        self.tokens = tokens
        self.challenges = challenges

    def request(self, owner: str, new_phone: str, verification_token: str | None, request: str | None = None
                ) -> PhoneChange:
        """Consume the ACCOUNT_UPDATE token and send a code to ``new_phone``; the account is unchanged until the
        code is confirmed.

        ``request``: the request's tag (``shared.api.idempotency.request_tag``), recorded on the change. The same
        request again (a retry after a crash past the commit: its token is spent) answers the pending change it
        started and sends nothing (the code exists only hashed; the client asks again with a new token if the
        SMS never came)."""
        if not verification_token:
            raise VerificationRequired("Changing the phone needs an ACCOUNT_UPDATE verification token.",
                                       operation=Operation.ACCOUNT_UPDATE.value)
        account = self.deps.accounts.account(owner)
        if account is None:
            raise AccountNotFound("The caller has no payment account.")
        self.deps.accounts.require_authenticated(account)  # a bank-bound account: BINDING_FIRST_USE first (§6)
        pending = self.store.phone_change(owner) if request else None
        if pending is not None and pending.request == request and pending.new_phone == new_phone:
            logger.info("phone change request answered again", extra={"change_id": pending.change_id})
            return pending
        if account.phone == new_phone:
            raise SamePhone()
        for _ in range(STALE_RETRIES):
            policy, now = self.policy(), self.now()
            history = self.store.history(owner)
            self.check_lockout(history, now, policy)
            sends = sorted(bounded(history.otp_sends, now, timedelta(hours=1)))
            if len(sends) >= policy.challenge.otp_sends_per_hour:
                oldest = sends[len(sends) - policy.challenge.otp_sends_per_hour]
                raise TooManyAttempts(message="Too many codes requested this hour.", scope="otp_sends",
                                      retry_after_seconds=_seconds(oldest + timedelta(hours=1) - now))
            code, change_id = new_otp(), new_id("pc")
            change = PhoneChange(owner=owner, change_id=change_id, new_phone=new_phone,
                                 otp_hash=self.deps.hasher.keyed_hash(PHONE_OTP, otp_material(change_id, code)),
                                 expires_at=now + timedelta(seconds=policy.challenge.otp_ttl_seconds),
                                 max_tries=policy.challenge.max_tries, created_at=now, request=request)
            after = history.model_copy(update={"otp_sends": (*sends, now), "version": history.version + 1})
            try:
                self.store.commit([
                    self.tokens.consume_write(verification_token, owner, Operation.ACCOUNT_UPDATE),
                    self.store.w_put_phone_change(change),
                    self.store.w_put_history(after, history.version)])
            except StaleState:
                continue
            self.challenges.deliver(new_phone, code, policy)
            return change
        raise TemporarilyUnavailable()

    def confirm(self, owner: str, otp: str, request: str | None = None) -> PhoneConfirmation:
        """``request``: the request's tag (``shared.api.idempotency.request_tag``), recorded on the change with
        the confirmation's outcome. The same request again after its commit (a retry after a crash) answers that
        outcome (PASSED with the account as it is now; FAILED / LOCKED with the tries left then); any other
        request finds the change as it left it (``PHONE_CHANGE_NOT_FOUND`` once done)."""
        for _ in range(STALE_RETRIES):
            policy, now = self.policy(), self.now()
            change = self.store.phone_change(owner)
            if change is None:  # none pending: this request may be the one that confirmed it
                replayed = self._confirmed_by(owner, request)
                if replayed is not None:
                    return replayed
                raise PhoneChangeNotFound()
            if request and change.confirm_request == request:  # this request's wrong code, answered again
                left = max(0, change.max_tries - change.tries)
                return PhoneConfirmation(result=AttemptResult.LOCKED if left == 0 else AttemptResult.FAILED,
                                         tries_left=left)
            account = self.deps.accounts.account(owner)
            if account is None:
                raise AccountNotFound("The caller has no payment account.")
            self.deps.accounts.require_authenticated(account)
            history = self.store.history(owner)
            self.check_lockout(history, now, policy)
            if change.tries >= change.max_tries:
                raise TooManyAttempts(message="Too many wrong codes for this phone change; start again.",
                                      retry_after_seconds=1, scope="phone_change")
            given = self.deps.hasher.keyed_hash(PHONE_OTP, otp_material(change.change_id, otp))
            ok = equal(given, change.otp_hash) and change.expires_at > now
            try:
                if ok:
                    after = history.model_copy(update={
                        "sensitive_changes": (*bounded(history.sensitive_changes, now, SENSITIVE_KEEP), now),
                        "version": history.version + 1})
                    account = self.deps.accounts.change_phone(owner, change.new_phone, writes=[
                        self.store.w_update_phone_change(change.model_copy(update={"confirm_request": request}),
                                                         change.tries, valid_at=now, done=True),
                        self.store.w_put_history(after, history.version)])
                    self.change_into_profile(owner, "PHONE")
                    return PhoneConfirmation(result=AttemptResult.PASSED, tries_left=change.max_tries - change.tries,
                                             account=account)
                tries = change.tries + 1
                failed = history.model_copy(update={
                    "failures": (*bounded(history.failures, now, timedelta(hours=24)), now),
                    "version": history.version + 1})
                self.store.commit([
                    self.store.w_update_phone_change(change.model_copy(update={"tries": tries,
                                                                               "confirm_request": request}),
                                                     change.tries),
                    self.store.w_put_history(failed, history.version)])
                left = max(0, change.max_tries - tries)
                return PhoneConfirmation(result=AttemptResult.LOCKED if left == 0 else AttemptResult.FAILED,
                                         tries_left=left)
            except StaleState:
                continue
        raise TemporarilyUnavailable()

    def _confirmed_by(self, owner: str, request: str | None) -> PhoneConfirmation | None:
        """The answer of the confirmation that ``request`` already made (None if it made none)."""
        last = self.store.phone_confirmation(owner) if request else None
        if last is None or last.confirm_request != request:
            return None
        left = max(0, last.max_tries - last.tries)
        logger.info("phone change confirmation answered again", extra={"change_id": last.change_id})
        if last.done:
            return PhoneConfirmation(result=AttemptResult.PASSED, tries_left=left,
                                     account=self.deps.accounts.account(owner))
        return PhoneConfirmation(result=AttemptResult.LOCKED if left == 0 else AttemptResult.FAILED, tries_left=left)
