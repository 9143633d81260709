"""Every external system of adaptive verification other than its table: the policy document (Powertools
Parameters: AppConfig or the layer's file), the hashing key (Secrets Manager), SMS (SNS), the feasibility model
(ONNX, model layer), IP reputation ranges, and the other capabilities behind this package's ports.

The profile is the risk signals' activity profile (issue 10, ``SignalsReader``), and answered challenges and
trusted devices are written back through its ``SignalsWriter``. FACE is the face capability's enrolment and
liveness (``EnrolledFace``), CARD and the first-use gate are bank binding's services (``BoundCards``,
``BindingFirstUse``).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.base import BaseProvider

from shared.aws import LazyClient
from shared.binding.models import PassedVerification
from shared.binding.ports import FirstUseGatePort
from shared.ledger.models import Account
from shared.ledger.service import AccountService
from shared.signals.errors import DeviceNotFound, InvalidIpAddress
from shared.signals.fold import local_time
from shared.signals.models import ActivityProfile, SensitiveChange
from shared.signals.ports import SignalsReader, SignalsWriter
from shared.verification.errors import FaceNotAvailable
from shared.verification.models import (
    STRONG_METHODS,
    DeviceInfo,
    FaceEvidence,
    Geo,
    Method,
    Operation,
    Profile,
    Strength,
)
from shared.verification.ports import GuardedWrite
from shared.verification.risk import IpInfo, ip_prefix
from shared.verification.settings import VerificationSettings

if TYPE_CHECKING:
    from shared.binding.services import UserBindingService
    from shared.face.enrolment import FaceEnrolmentService
    from shared.face.models import MatchResult
    from shared.verification.policy import Policy

LAYER_MODEL_DIR = Path("/opt/model")
REPO_MODEL_DIR = Path(__file__).resolve().parents[2] / "layers" / "model" / "models"
FEASIBILITY_MODEL = "feasibility"


class ConfigurationError(RuntimeError):
    """The policy document, key or model is missing or malformed: a deployment error, never the caller's."""


# --- the policy document ---------------------------------------------------------------------------------------
class FileProvider(BaseProvider):
    """Powertools Parameters provider for a file in the layer (the local policy source): same caching and
    transforms as the AppConfig provider, so the code path is one."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory

    def _get(self, name: str, **sdk_options: Any) -> str:
        return (self.directory / name).read_text()

    def _get_multiple(self, path: str, **sdk_options: Any) -> dict[str, str]:
        raise NotImplementedError


class ParametersPolicySource:
    """The current policy: fetched through a Powertools provider (cached ``max_age`` seconds in the container),
    validated once per distinct document."""

    def __init__(self, provider: BaseProvider, name: str, max_age: int) -> None:
        self.provider = provider
        self.name = name
        self.max_age = max_age
        self._parsed: tuple[str, Policy] | None = None

    def current(self) -> Policy:
        try:
            raw = self.provider.get(self.name, max_age=self.max_age)
        except (OSError, parameters.exceptions.GetParameterError) as exc:
            raise ConfigurationError(f"verification policy not readable: {type(exc).__name__}") from exc
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        digest = hashlib.sha256(text.encode()).hexdigest()
        if self._parsed is None or self._parsed[0] != digest:
            from shared.verification.policy import Policy  # its ~20 models are built on the first read

            try:
                self._parsed = (digest, Policy.model_validate_json(text))
            except ValueError as exc:
                raise ConfigurationError("verification policy is malformed (see the validation error)") from exc
        return self._parsed[1]


def policy_source(settings: VerificationSettings) -> ParametersPolicySource:
    if settings.verification_policy_source == "appconfig":
        provider: BaseProvider = parameters.AppConfigProvider(
            environment=settings.verification_policy_environment,
            application=settings.verification_policy_application)
        return ParametersPolicySource(provider, settings.verification_policy_profile,
                                      settings.verification_policy_cache_seconds)
    path = settings.policy_file
    return ParametersPolicySource(FileProvider(path.parent), path.name, settings.verification_policy_cache_seconds)


# --- SMS -------------------------------------------------------------------------------------------------------
class SnsSmsNotifier:
    """Direct SMS publish through SNS (transactional). Locally the emulator keeps the message, which the local
    gateway's ``GET /local/outbox?phone=`` shows; nothing here logs the number or the text."""

    client = LazyClient("sns")

    def __init__(self, sender_id: str, client: Any = None) -> None:
        self.sender_id = sender_id
        self.client = client

    def send_sms(self, phone: str, text: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.publish(PhoneNumber=phone, Message=text, MessageAttributes={
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": self.sender_id}})
        except (BotoCoreError, ClientError) as exc:
            raise RuntimeError(f"SMS not sent: {type(exc).__name__}") from None


# --- the feasibility model -------------------------------------------------------------------------------------
def model_dir(configured: str = "") -> Path:
    for candidate in (configured, os.environ.get("MODEL_DIR"), LAYER_MODEL_DIR, REPO_MODEL_DIR):
        if candidate and (Path(candidate) / "manifest.json").is_file():
            return Path(candidate)
    raise ConfigurationError("no model directory with a manifest.json (MODEL_DIR, /opt/model, layers/model/models)")


class OnnxFeasibilityModel:
    """The feasibility model on onnxruntime: created on first use (numpy and onnxruntime imported then), once
    per container."""

    def __init__(self, directory: str = "") -> None:
        self.directory = directory
        self._session: tuple[Any, str, int] | None = None
        self._lock = threading.Lock()

    def session(self) -> tuple[Any, str, int]:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    import onnxruntime as ort

                    directory = model_dir(self.directory)
                    entry = json.loads((directory / "manifest.json").read_text()).get(FEASIBILITY_MODEL)
                    if not entry:
                        raise ConfigurationError("the feasibility model is not in the manifest (make train)")
                    options = ort.SessionOptions()
                    options.intra_op_num_threads = 1
                    options.inter_op_num_threads = 1
                    session = ort.InferenceSession(str(directory / entry["file"]), sess_options=options,
                                                   providers=["CPUExecutionProvider"])
                    self._session = (session, str(entry["version"]), len(entry["features"]))
        return self._session

    def predict(self, features: Sequence[float]) -> tuple[float, str]:
        import numpy as np

        session, version, width = self.session()
        if len(features) != width:
            raise ValueError(f"expected {width} features, got {len(features)}")
        x = np.asarray([features], dtype=np.float32)
        probabilities = session.run(["probabilities"], {"features": x})[0]
        return float(probabilities[0][1]), version


# --- IP reputation ---------------------------------------------------------------------------------------------
class SignalsIpReputation:
    """The ``IpReputation`` port on the risk signals' lists (``SignalsReader.ip_reputation``): one set of ranges
    for sign-ins and verifications. Its categories (PROXY_VPN, HOSTING, TOR, KNOWN_BAD) are the policy's
    ``IP_<category>`` weights; an address the gateway did not give, or not an address, is no evidence."""

    def __init__(self, reader: SignalsReader) -> None:
        self.reader = reader

    def lookup(self, ip: str | None) -> IpInfo:
        if not ip:
            return IpInfo(prefix=None)
        try:
            found = self.reader.ip_reputation(ip)
        except InvalidIpAddress:
            return IpInfo(prefix=None)
        return IpInfo(prefix=ip_prefix(ip), categories=frozenset(found.categories))


# --- the other capabilities, as they exist on this branch ----------------------------------------------------
class LedgerAccounts:
    """The ``Accounts`` port on the ledger's account service."""

    def __init__(self, accounts: AccountService) -> None:
        self.service = accounts

    def account(self, owner: str) -> Account | None:
        return self.service.store.find_account_by_owner(owner)

    def owner_of(self, account_id: str) -> str | None:
        account = self.service.store.get_account(account_id)
        return account.owner if account else None

    def require_authenticated(self, account: Account) -> None:
        self.service.require_authenticated(account)

    def change_phone(self, owner: str, new_phone: str, writes: Sequence[GuardedWrite] = ()) -> Account:
        return self.service.change_phone(owner, new_phone, writes)


class SignalsProfiles:
    """The ``ProfileSource`` port on the risk-signals profile (``SignalsReader``, issue 10) and the ledger account
    (the phone the one-time code goes to)."""

    def __init__(self, reader: SignalsReader, accounts: AccountService, utc_offset: timedelta) -> None:
        self.reader = reader
        self.accounts = accounts
        self.utc_offset = utc_offset

    def profile(self, owner: str) -> Profile | None:
        account = self.accounts.store.find_account_by_owner(owner)
        if account is None:
            return None
        return to_profile(self.reader.profile(owner), account, self.utc_offset)


def to_profile(ap: ActivityProfile, account: Account, utc_offset: timedelta) -> Profile:
    """The activity profile as the decision reads it. Inactivity counts from the last ledger activity (a user who
    never moved money: from the account's creation); the spend since the last passed verification sums the
    profile's local days from that verification's day on (whole days: it may count a little more, never less)."""
    last_passed = ap.verification.last_passed_at
    since_day = local_time(last_passed, utc_offset).date() if last_passed else None
    days = [d for d in ap.window(90) if since_day is None or d.day >= since_day]
    last = ap.last_location
    return Profile(
        owner=ap.user_id, account_created_at=ap.account_created_at or account.created_at,
        last_activity_at=ap.last_active_at or ap.account_created_at or account.created_at,
        devices={d.device_id: DeviceInfo(device_id=d.device_id, first_seen=d.first_seen, last_seen=d.last_seen,
                                         trusted=d.trusted) for d in ap.devices},
        ip_prefixes=frozenset(p.prefix for p in ap.ip_prefixes),
        network_types=frozenset(n.value for n, count in ap.networks.items() if count > 0),
        last_geo=Geo(lat=last.lat, lon=last.lon) if last else None, last_geo_at=last.at if last else None,
        txn_count_90d=ap.spend_count(90), txn_amount_90d=ap.spend(90),
        watch_tags=frozenset(t.value for t in ap.tags), sensitive_changes=tuple(ap.sensitive_changes.values()),
        bindings=ap.bindings.count, phone=account.phone,
        spent_since_verification=sum(d.spend for d in days), count_since_verification=sum(d.spend_count for d in days))


class SignalsProfileWriter:
    """The ``ProfileWriter`` port on the risk signals' writer: answered challenges into the profile's
    verification history, and a device trusted once a strong verification passed on it."""

    def __init__(self, writer: SignalsWriter) -> None:
        self.writer = writer

    def trust(self, owner: str, device_id: str, at: datetime) -> bool:
        try:
            self.writer.trust_device(owner, device_id)
        except DeviceNotFound:
            return False  # never signed in on it: trusted in this capability's history only
        return True

    def record(self, owner: str, *, passed: bool, strong: bool) -> None:
        self.writer.record_verification(owner, passed=passed, strong=strong)

    def sensitive_change(self, owner: str, kind: str) -> None:
        self.writer.record_sensitive_change(owner, SensitiveChange(kind))


class EnrolledFace:
    """The ``FaceMethod`` port on the face capability (shared/face, served with real-name §5): the user's reference
    face is their enrolment (``PUT /me/face``, or the live probe a real-name verification matched against the
    identity's authoritative photo); the FACE method is the one liveness check every face use calls (the
    challenge from ``POST /real-name/challenges``, consumed once) then 1:1 against that reference with the face
    settings' threshold (``FACE_MATCH_THRESHOLD``, 0.45 cosine: docs/face_accuracy.md). A liveness answer that
    did not follow the challenge is a failed try (counted), not an error; an unusable image is the pipeline's 4xx
    before anything is consumed. Nothing here logs an image or an embedding."""

    def __init__(self, enrolments: FaceEnrolmentService) -> None:
        self.enrolments = enrolments

    def enrolled(self, owner: str) -> bool:
        return self.enrolments.status(owner) is not None

    def _reference(self, owner: str) -> tuple[float, ...] | None:
        from shared.face.errors import FaceNotEnrolled

        try:
            return self.enrolments.reference(owner)[1]
        except FaceNotEnrolled:
            return None

    def compare(self, owner: str, image: bytes) -> FaceEvidence:
        reference = self._reference(owner)
        if reference is None:
            return FaceEvidence(enrolled=False)
        faces = self.enrolments.faces
        return self._evidence(faces.verify(faces.analyze_selfie(image), reference))

    def verify_live(self, owner: str, image: bytes, challenge_id: str, frames: Sequence[bytes]) -> FaceEvidence:
        reference = self._reference(owner)
        if reference is None:
            raise FaceNotAvailable()  # before the challenge is consumed
        outcome = self.enrolments.liveness.check(owner, challenge_id, frames, image)
        if not outcome.result.passed:
            return FaceEvidence(enrolled=True, matched=False, liveness_passed=False)
        return self._evidence(self.enrolments.faces.verify(outcome.selfie, reference), liveness_passed=True)

    @staticmethod
    def _evidence(match: MatchResult, liveness_passed: bool | None = None) -> FaceEvidence:
        return FaceEvidence(enrolled=True, similarity=match.similarity, threshold=match.threshold,
                            matched=match.matched, model_version=match.model_version,
                            liveness_passed=liveness_passed)


class BoundCards:
    """The ``CardBindings`` port on bank binding's user service (§6): CARD is offered while the user holds a bound
    card, and matches when one of them has the last 4 digits and its holder's ID-number hash (binding's record,
    the platform's keyed hash) equals the given number's."""

    def __init__(self, bindings: UserBindingService) -> None:
        self.bindings = bindings

    def holds_binding(self, owner: str) -> bool:
        return self.bindings.holds_card(owner)

    def matches(self, owner: str, last4: str, id_number: str) -> bool:
        return self.bindings.card_matches(owner, last4, id_number)


class BindingFirstUse:
    """The ``FirstUseGate`` port on bank binding's ``FirstUseGatePort``: a passed BINDING_FIRST_USE verification
    lifts the gate by itself (binding refuses a weak method: the decision never offers one for it)."""

    def __init__(self, gate: FirstUseGatePort) -> None:
        self.gate = gate

    def is_required(self, owner: str) -> bool:
        return self.gate.is_required(owner)

    def clear(self, owner: str, verification_id: str, method: str) -> bool:
        strength = Strength.STRONG if Method(method) in STRONG_METHODS else Strength.WEAK
        return self.gate.clear(PassedVerification(owner=owner, operation=Operation.BINDING_FIRST_USE.value,
                                                  method=method, strength=strength.value,
                                                  verification_id=verification_id))


class NotInThisFunction:
    """Face and binding for a function that is not given their settings (nothing there decides on them): no face,
    no card, no gate. Every function that decides or answers a challenge gets the real adapters."""

    def enrolled(self, owner: str) -> bool:
        return False

    def compare(self, owner: str, image: bytes) -> FaceEvidence:
        return FaceEvidence(enrolled=False)

    def verify_live(self, owner: str, image: bytes, challenge_id: str, frames: Sequence[bytes]) -> FaceEvidence:
        raise FaceNotAvailable()

    def holds_binding(self, owner: str) -> bool:
        return False

    def matches(self, owner: str, last4: str, id_number: str) -> bool:
        return False

    def is_required(self, owner: str) -> bool:
        return False

    def clear(self, owner: str, verification_id: str, method: str) -> bool:
        return False
