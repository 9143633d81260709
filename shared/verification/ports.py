"""Interfaces the verification services depend on (DynamoDB, SNS, AppConfig, Secrets Manager, the ONNX model and
the other capabilities in production; in-memory fakes in unit tests).

The store is write-builder shaped: each ``w_*`` returns a ``GuardedWrite`` (its condition and the domain error
it means), ``commit`` writes several in one transaction, so a verification's state, the user's history and a
token change together or not at all, and the ledger can commit a token's consumption with a transfer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from shared.ledger.models import Account
from shared.types import Money
from shared.verification.models import (
    FaceEvidence,
    History,
    Operation,
    PasswordRecord,
    PhoneChange,
    PhoneConfirmationRecord,
    Profile,
    TokenGrant,
    Verification,
)
from shared.verification.risk import IpInfo
from shared.writes import GuardedWrite

if TYPE_CHECKING:  # the policy's models are built when a policy is first read
    from shared.verification.policy import Policy

__all__ = ["Accounts", "CardBindings", "FaceMethod", "FeasibilityModel", "FirstUseGate",
           "GuardedWrite", "IpReputation", "KeyedHasher", "Notifier", "PolicySource", "ProfileSource", "ProfileWriter",
           "VerificationStore"]


class VerificationStore(Protocol):
    # --- reads ---------------------------------------------------------------------------------------------
    def get(self, verification_id: str) -> Verification | None: ...

    def list_by_owner(self, owner: str, limit: int, cursor: str | None) -> tuple[list[Verification], str | None]:
        """Newest first (the audit index)."""

    def history(self, owner: str) -> History:
        """The user's history (an empty one, version 0, when none is stored)."""

    def password(self, owner: str) -> PasswordRecord | None: ...

    def phone_change(self, owner: str) -> PhoneChange | None: ...

    def phone_confirmation(self, owner: str) -> PhoneConfirmationRecord | None:
        """The latest phone change's outcome so far, done or not (a retried confirmation answers from it)."""

    def token(self, token_hash: str) -> TokenGrant | None: ...

    # --- writes (commit together) ---------------------------------------------------------------------------
    def commit(self, writes: Sequence[GuardedWrite]) -> None:
        """One transaction; a failed condition raises that write's own error (``StaleState`` for versions)."""

    def w_put_verification(self, v: Verification) -> GuardedWrite:
        """Put once."""

    def w_replace_verification(self, v: Verification, expected_version: int, open_at: datetime | None = None,
                               otp_valid_at: datetime | None = None) -> GuardedWrite:
        """Replace if the stored version is ``expected_version`` (``v.version`` is the new one); with ``open_at``
        also only while it is OPEN and not expired at that instant; with ``otp_valid_at`` only while its code is
        unexpired at that instant (the expiry is checked in the write, not only before it)."""

    def w_put_history(self, h: History, expected_version: int, reset_counters: bool = False) -> GuardedWrite:
        """Write the user's history if the stored version is ``expected_version`` (0: none stored). The exemption
        counters are left alone (``w_count_exemption`` adds to them concurrently) unless ``reset_counters``: a
        passed verification restarts them under ``h.exempt_epoch``."""

    def w_count_exemption(self, owner: str, epoch: str, amount: int, cumulative_limit: int | None = None,
                          count_limit: int | None = None) -> GuardedWrite:
        """Add one exempted payment of ``amount`` to the counters (every exemption counts, PSD2 art. 16). With
        limits (a LOW_VALUE exemption) only if the counters of ``epoch`` stay within them, ``ExemptionExhausted``
        otherwise: concurrent low-value exemptions cannot exceed them."""

    def w_put_token(self, token_hash: str, grant: TokenGrant) -> GuardedWrite: ...

    def w_consume_token(self, token_hash: str, owner: str, operation: Operation, now: datetime,
                        amount: Money | None = None, payee_account_id: str | None = None) -> GuardedWrite:
        """Mark used if it is this owner's, for this operation (and amount and payee), unused and unexpired at
        ``now``; ``VerificationInvalid`` otherwise."""

    def w_put_password(self, record: PasswordRecord, expected_version: int | None) -> GuardedWrite:
        """``expected_version`` None: put once (the first password)."""

    def w_put_phone_change(self, change: PhoneChange) -> GuardedWrite: ...

    def w_update_phone_change(self, change: PhoneChange, expected_tries: int, valid_at: datetime | None = None,
                              done: bool = False) -> GuardedWrite:
        """Replace the pending change of the same id if its tries are ``expected_tries`` (and, with
        ``valid_at``, it is unexpired then); ``done`` closes it."""


class ProfileSource(Protocol):
    def profile(self, owner: str) -> Profile | None:
        """The activity profile (risk signals, issue 10) with what this capability recorded; None if unknown."""


class ProfileWriter(Protocol):
    """What this capability writes into the activity profile (risk signals' reserved parts)."""

    def trust(self, owner: str, device_id: str, at: datetime) -> bool:
        """A strong verification passed on the device: it becomes trusted in the activity profile (False when the
        profile does not list the device: it never signed in on it)."""

    def record(self, owner: str, *, passed: bool, strong: bool) -> None:
        """An answered challenge into the profile's verification history."""

    def sensitive_change(self, owner: str, kind: str) -> None:
        """The time of a sensitive change (``PHONE``, ``PASSWORD``) into the profile."""


class IpReputation(Protocol):
    def lookup(self, ip: str | None) -> IpInfo: ...


class Notifier(Protocol):
    def send_sms(self, phone: str, text: str) -> None:
        """Deliver or raise; never logs the text or the number."""


class FeasibilityModel(Protocol):
    def predict(self, features: Sequence[float]) -> tuple[float, str]:
        """(P(skipping verification is safe), model version)."""


class PolicySource(Protocol):
    def current(self) -> Policy: ...


class KeyedHasher(Protocol):
    def keyed_hash(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 under the verification key, hex (codes, tokens, card ID numbers)."""


class FaceMethod(Protocol):
    """The real-name capability's face pipeline, liveness and enrolled reference (issue 11)."""

    def enrolled(self, owner: str) -> bool: ...

    def compare(self, owner: str, image: bytes) -> FaceEvidence:
        """A face capture sent with a trigger against the enrolled face (no liveness): biometric risk."""

    def verify_live(self, owner: str, image: bytes, challenge_id: str, frames: Sequence[bytes]) -> FaceEvidence:
        """The FACE method: liveness (the challenge consumed once) then 1:1 against the enrolled face."""


class CardBindings(Protocol):
    """Bank bindings (issue 13): the CARD method checks the last 4 digits and the ID number against one."""

    def holds_binding(self, owner: str) -> bool: ...

    def matches(self, owner: str, last4: str, id_number: str) -> bool: ...


class FirstUseGate(Protocol):
    """The binding's first-use gate (issue 13), lifted by a passed strong BINDING_FIRST_USE verification."""

    def is_required(self, owner: str) -> bool: ...

    def clear(self, owner: str, verification_id: str, method: str) -> bool: ...


class Accounts(Protocol):
    """The ledger's accounts: the phone (the SMS OTP destination) and changing it."""

    def account(self, owner: str) -> Account | None: ...

    def owner_of(self, account_id: str) -> str | None: ...

    def require_authenticated(self, account: Account) -> None:
        """``SecurityAuthenticationRequired`` (403) while a bank binding's first-use verification is due: a
        profile change waits for BINDING_FIRST_USE (§6)."""

    def change_phone(self, owner: str, new_phone: str, writes: Sequence[GuardedWrite] = ()) -> Account:
        """Release the old phone claim, claim the new one and update the account, with ``writes``, atomically
        (``PhoneInUse`` when another account holds it)."""
