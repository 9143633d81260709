"""The interfaces real-name services depend on (fakes in ``tests/realname/fakes.py``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from shared.realname.models import (
    AuthorityIdentity,
    FailureCounter,
    RealNameSession,
    RequestContext,
    SignalsSnapshot,
    VerifiedIdentity,
)
from shared.realname.policy import Policy
from shared.signals.models import RealName
from shared.writes import GuardedWrite


class PolicySource(Protocol):
    def current(self) -> Policy: ...


class RiskSignals(Protocol):
    """The signals store (issue 10) seen from real-name detection (``adapters.ProfileSignals``)."""

    def snapshot(self, user_id: str, context: RequestContext, policy: Policy) -> SignalsSnapshot:
        """What risk and trust detection read for one request (profile, device index, area counts)."""

    def record_attempt(self, user_id: str, context: RequestContext, attempt_id: str | None = None) -> None:
        """Count this real-name attempt in the cross-user indexes (the device's accounts, the area cell and IP
        prefix of ``REAL_NAME`` attempts) that later snapshots read; once per ``attempt_id`` (the session's id)."""


class ProfileWriter(Protocol):
    """The signals profile's ``real_name`` part (``SignalsWriter.real_name_write``), committed with the
    verification's own writes."""

    def real_name_write(self, user_id: str, real_name: RealName) -> GuardedWrite: ...


class IdentityAuthority(Protocol):
    """The authoritative identity-photo store (an external authority on AWS; an embedded table locally)."""

    def by_phone(self, phone: str) -> list[str]:
        """Identity references linked to a phone number."""

    def by_id_number(self, id_number: str) -> AuthorityIdentity | None: ...

    def get(self, identity_ref: str) -> AuthorityIdentity | None: ...


class PresetIdentitySources(Protocol):
    """Where the request's candidate identities come from (the patent's preset identity set)."""

    def phone_of(self, user_id: str) -> str | None:
        """The phone number the user's account records (the Cognito ``phone_number`` claim)."""

    def card_holder_id_numbers(self, user_id: str) -> list[str]:
        """ID numbers of the holders of the cards bound to the account (§6, through ``CardHolders``)."""

    def contact_phones(self, user_id: str, limit: int) -> list[str]:
        """Phone numbers of the user's contacts (the ledger's counterparties, from the signals store)."""


class CardHolders(Protocol):
    """Bank binding (§6) seen from real-name: the ID numbers of the holders of the user's bound cards. Binding
    keeps the holder's ID number envelope-encrypted (``shared.crypto``) to answer this; until binding is merged
    the adapter is ``adapters.NoBoundCards`` (no card holders)."""

    def holder_id_numbers(self, user_id: str) -> list[str]: ...


class Sealer(Protocol):
    def encrypt(self, plaintext: bytes, context: Mapping[str, str]) -> str: ...

    def decrypt(self, ciphertext: str, context: Mapping[str, str]) -> bytes: ...


class Hasher(Protocol):
    def hash(self, purpose: str, value: str) -> str: ...


class RecentFace(Protocol):
    @property
    def user_id(self) -> str: ...

    @property
    def sealed(self) -> str: ...


class SessionStore(Protocol):
    def create(self, session: RealNameSession, sealed_probe: str) -> None: ...

    def get(self, session_id: str) -> tuple[RealNameSession, str] | None:
        """The session and its sealed probe embedding."""

    def transition(self, session: RealNameSession, expected: RealNameSession, now: datetime) -> None:
        """Replace ``expected`` (its status, unexpired: ``expires_at > now`` in the condition) with ``session``;
        ``SessionNotAwaiting``/``SessionExpired`` when the condition fails."""

    def verify(self, session: RealNameSession, expected: RealNameSession, identity: VerifiedIdentity,
               sealed_id_number: str, now: datetime, also: Sequence[GuardedWrite] = ()) -> None:
        """One transaction: the session's transition, the identity's put-once claim (``IdentityInUse`` if
        another account holds it), the account's real-name record (``AlreadyVerified`` if it has one) and
        ``also`` (another capability's writes: the signals profile's ``real_name``)."""


class RealNameRecords(Protocol):
    def get(self, user_id: str) -> VerifiedIdentity | None: ...


class RecentFaces(Protocol):
    """Recent attempts' embeddings across accounts (encrypted; kept for the policy's short window)."""

    def add(self, user_id: str, session_id: str, sealed: str, at: datetime, keep_for: timedelta) -> None: ...

    def since(self, since: datetime, limit: int) -> Sequence[RecentFace]: ...


class ReferenceFaces(Protocol):
    """The face capability's enrolment (``shared.face.enrolment.FaceEnrolmentService``): a verified live face
    becomes the user's reference for §4's FACE method."""

    def enrol_verified(self, user_id: str, embedding: Sequence[float], model_version: str, session_id: str) -> None:
        ...


class FailureCounters(Protocol):
    def get(self, key: str) -> FailureCounter: ...

    def fail(self, key: str, now: datetime, delay_for: Callable[[int], int],
             event: str | None = None) -> FailureCounter:
        """Add one consecutive failure; lock for ``delay_for(failures)`` seconds when that is > 0. With ``event``
        (the failed step of one session) the failure counts once: the same event again changes nothing."""

    def succeed(self, key: str) -> None: ...
