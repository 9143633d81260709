"""The payment password (a weak method): the first one is set without a token; changing it needs an
ACCOUNT_UPDATE token (consumed in the same transaction). scrypt with a per-user salt; never logged."""

from __future__ import annotations

from datetime import timedelta

from shared.crypto import equal, new_salt, scrypt_hash
from shared.observability import logger
from shared.verification.errors import InvalidPassword, StaleState, VerificationRequired
from shared.verification.models import Operation, PasswordRecord
from shared.verification.services.base import STALE_RETRIES, VerificationBase, VerificationDeps, bounded
from shared.verification.services.tokens import TokenService
from shared.writes import GuardedWrite

MAX_PASSWORD_LENGTH = 64
SEQUENCES = ("01234567890", "09876543210")  # a password inside either is sequential
# The first payment password needs no token, so it is a sensitive change the risk rules see for a while.
SENSITIVE_KEEP = timedelta(days=30)


def check_password_rules(password: str, min_length: int) -> None:
    if not min_length <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidPassword(f"The password must be {min_length}-{MAX_PASSWORD_LENGTH} characters.",
                              min_length=min_length, max_length=MAX_PASSWORD_LENGTH)
    if not password.isprintable():
        raise InvalidPassword("The password has a character that cannot be typed.")
    if len(set(password)) == 1 or password in SEQUENCES[0] or password in SEQUENCES[1]:
        raise InvalidPassword("The password is too easy to guess (repeated or sequential characters).")


class PasswordService(VerificationBase):
    def __init__(self, deps: VerificationDeps, tokens: TokenService) -> None:
        super().__init__(deps)
        self.tokens = tokens

    def set(self, owner: str, password: str, verification_token: str | None, request: str | None = None
            ) -> tuple[PasswordRecord, bool]:
        """(record, changed): ``changed`` is False for the first password.

        ``request``: the request's tag (``shared.api.idempotency.request_tag``), recorded on the password. The
        same request again after its commit (a retry after a crash) with the same password answers what it
        answered (no token needed, none consumed again); any other request is a change as usual."""
        policy = self.policy()
        limits = policy.challenge.password
        check_password_rules(password, limits.min_length)
        account = self.deps.accounts.account(owner)
        if account is not None:  # a bank-bound account sets or changes nothing before BINDING_FIRST_USE (§6)
            self.deps.accounts.require_authenticated(account)
        for _ in range(STALE_RETRIES):
            now = self.now()
            existing = self.store.password(owner)
            if existing is not None and request and existing.request == request \
                    and equal(scrypt_hash(password, existing.salt, existing.n, existing.r, existing.p), existing.hash):
                logger.info("payment password request answered again")
                return existing, existing.replaced
            if existing is not None and not verification_token:
                raise VerificationRequired("Changing the payment password needs an ACCOUNT_UPDATE verification.",
                                           operation=Operation.ACCOUNT_UPDATE.value)
            salt = new_salt()
            record = PasswordRecord(owner=owner, salt=salt,
                                    hash=scrypt_hash(password, salt, limits.scrypt_n, limits.scrypt_r,
                                                     limits.scrypt_p),
                                    n=limits.scrypt_n, r=limits.scrypt_r, p=limits.scrypt_p, changed_at=now,
                                    request=request, replaced=existing is not None,
                                    version=(existing.version + 1) if existing else 1)
            history = self.store.history(owner)
            changed = history.model_copy(update={
                "sensitive_changes": (*bounded(history.sensitive_changes, now, SENSITIVE_KEEP), now),
                "version": history.version + 1})
            writes: list[GuardedWrite] = []
            if existing is not None:
                assert verification_token is not None
                writes.append(self.tokens.consume_write(verification_token, owner, Operation.ACCOUNT_UPDATE))
            writes += [self.store.w_put_password(record, existing.version if existing else None),
                       self.store.w_put_history(changed, history.version)]
            try:
                self.store.commit(writes)
            except StaleState:
                continue
            self.change_into_profile(owner, "PASSWORD")
            return record, existing is not None
        raise StaleState()
