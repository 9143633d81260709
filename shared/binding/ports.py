"""Interfaces the binding services depend on (DynamoDB, KMS, Secrets Manager, Cognito, Step Functions, HTTP in
production; in-memory fakes in unit tests)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from shared.binding.models import Binding, BindingRequest, CustomerIdentity, Partner, PassedVerification
from shared.outbox import OutboxEvent
from shared.writes import GuardedWrite

__all__ = ["BindingStore", "CallbackSender", "Cipher", "FirstUseGatePort", "GuardedWrite", "Hasher",
           "PartnerStore", "RealNameIdentities", "UserDirectory", "VerificationTokens", "Workflow"]


class PartnerStore(Protocol):
    """``events``: outbox events committed with the change (``shared/outbox.py``)."""

    def put_new(self, partner: Partner, events: Sequence[OutboxEvent] = ()) -> None: ...

    def get(self, partner_id: str) -> Partner | None: ...

    def replace(self, partner: Partner, expected_version: int, events: Sequence[OutboxEvent] = ()) -> None:
        """Write ``partner`` if the stored version is ``expected_version`` (``PartnerChanged`` otherwise)."""

    def use_nonce(self, partner_id: str, nonce: str, now: datetime, expires_at: datetime) -> None:
        """Put-once per partner and nonce, unless the stored one has expired (checked in the condition, not by
        TTL). Raises ``NonceReplayed``."""


class BindingStore(Protocol):
    """``events``: outbox events committed in the change's own transaction (``shared/outbox.py``)."""

    def get_request(self, request_id: str) -> BindingRequest | None: ...

    def create_request(self, request: BindingRequest, events: Sequence[OutboxEvent] = ()) -> BindingRequest:
        """Put the request and its in-flight marker once; returns the in-flight request instead when the partner
        already has one for this customer reference and card."""

    def update_request(self, request: BindingRequest, expected: Sequence[str],
                       writes: Sequence[GuardedWrite] = (), release_inflight: bool = False,
                       events: Sequence[OutboxEvent] = ()) -> None:
        """Replace the request if its stored status is one of ``expected`` (``BindingNotAwaitingBank``
        otherwise), together with ``writes``; ``release_inflight`` deletes its in-flight marker."""

    def card_claim(self, partner_id: str, fingerprint: str) -> str | None:
        """The binding id holding the card, if any."""

    def claim_card_writes(self, binding: Binding) -> list[GuardedWrite]:
        """Put-once card claim (``AlreadyBound``) and the binding record."""

    def release_card_writes(self, binding: Binding) -> list[GuardedWrite]:
        """Delete the card claim if it is still this binding's."""

    def get_binding(self, binding_id: str) -> Binding | None: ...

    def binding_write(self, binding: Binding) -> GuardedWrite:
        """Replace the binding while it is ACTIVE (``BindingNotFound`` otherwise)."""

    def record_first_use(self, binding: Binding, gate: GuardedWrite, events: Sequence[OutboxEvent]) -> None:
        """The binding (first use cleared), the account's gate lifted (``gate``) and ``events``, all or nothing."""

    def remove_pending_binding(self, binding: Binding) -> None:
        """Delete the binding of a request that did not complete (never BOUND), with its card claim."""

    def unbind(self, unbound: Binding, also: Sequence[GuardedWrite] = (), events: Sequence[OutboxEvent] = ()) -> None:
        """Replace the ACTIVE binding with ``unbound`` and release its card claim, with ``also`` and ``events``."""

    def mark_callback_delivered(self, request_id: str) -> None: ...

    def list_bindings(self, owner: str) -> list[Binding]: ...

    def get_identity(self, owner: str) -> CustomerIdentity | None: ...

    def put_identity_if_absent(self, identity: CustomerIdentity) -> None: ...


class Cipher(Protocol):
    """Envelope encryption (KMS data key, AES-GCM); ``context`` is bound to the ciphertext."""

    def encrypt(self, plaintext: bytes, context: Mapping[str, str]) -> str: ...

    def decrypt(self, ciphertext: str, context: Mapping[str, str]) -> bytes: ...


class Hasher(Protocol):
    """The platform's keyed hash (``shared.crypto.KeyedHasher``)."""

    def keyed_hash(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 under the platform's hashing key, hex."""

    def id_number_hash(self, id_number: str) -> str:
        """The ID-number hash every capability compares (purpose and canonical form of ``shared.crypto``)."""


class UserDirectory(Protocol):
    def ensure_user(self, phone: str) -> str:
        """The ``sub`` of the user signing in with ``phone``, created if absent (idempotent)."""


class Workflow(Protocol):
    def start(self, name: str, payload: str) -> None: ...

    def succeed(self, task_token: str, output: str) -> None:
        """Resume a waiting task; raises ``ConfirmationTooLate`` when the task is gone (timed out, ended)."""

    def fail(self, task_token: str, error: str, cause: str) -> None: ...


class CallbackSender(Protocol):
    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """POST; the HTTP status, or raises ``OSError`` (unreachable, timeout)."""


class RealNameIdentities(Protocol):
    def verified_id_hash(self, owner: str) -> str | None:
        """The keyed hash of the ID number of the user's verified real-name identity (§5), if any."""


class VerificationTokens(Protocol):
    def verify(self, token: str, owner: str, operation: str) -> None:
        """Consume a §4 verification token for ``owner`` and ``operation`` (``VerificationInvalid`` otherwise)."""

    def consume_write(self, token: str, owner: str, operation: str) -> GuardedWrite:
        """The write that consumes the token (``VerificationInvalid`` when it cannot): committed with the protected
        change, so a crash never spends the token without the change (or the reverse)."""


class FirstUseGatePort(Protocol):
    """What §4 calls: whether the user's first-use gate is up, and lifting it when a verification passed."""

    def is_required(self, owner: str) -> bool: ...

    def clear(self, verification: PassedVerification) -> bool: ...

