"""Every external system of adaptive verification other than its table: the policy document (Powertools
Parameters: AppConfig or the layer's file), the hashing key (Secrets Manager), SMS (SNS), the feasibility model
(ONNX, model layer), IP reputation ranges, and the other capabilities behind this package's ports.

Until the risk-signals (issue 10), real-name/face (issue 11) and bank-binding (issue 13) branches are merged, the
adapters for them read what exists on this branch: the profile is built from the ledger (account age, last
transaction, counterparties) and this capability's own history (devices verified on, places, networks); FACE and
CARD are not offered (no enrolled face, no binding) and there is no first-use gate to lift.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.base import BaseProvider

from shared.aws import LazyClient
from shared.ledger.models import Account
from shared.ledger.service import AccountService
from shared.verification.errors import FaceNotAvailable
from shared.verification.models import DeviceInfo, FaceEvidence, History, Profile
from shared.verification.ports import GuardedWrite, VerificationStore
from shared.verification.risk import IpInfo, ip_prefix
from shared.verification.settings import VerificationSettings

if TYPE_CHECKING:
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


# --- the hashing key -------------------------------------------------------------------------------------------
class SecretHasher:
    """HMAC-SHA256 under the verification key: Secrets Manager (``{"key": "..."}``, cached by Powertools), or
    ``VERIFICATION_HASH_KEY`` locally."""

    def __init__(self, secret_id: str, local_key: str, cache_seconds: int) -> None:
        self.secret_id = secret_id
        self.local_key = local_key
        self.cache_seconds = cache_seconds

    def key(self) -> bytes:
        if self.local_key:
            return self.local_key.encode()
        if not self.secret_id:
            raise ConfigurationError("set VERIFICATION_KEY_SECRET_ID (or VERIFICATION_HASH_KEY locally)")
        data: Any = parameters.get_secret(self.secret_id, transform="json", max_age=self.cache_seconds)
        if not isinstance(data, dict) or not isinstance(data.get("key"), str) or len(data["key"]) < 32:
            raise ConfigurationError("the verification key secret must be {\"key\": \"<32+ characters>\"}")
        return str(data["key"]).encode()

    def keyed_hash(self, purpose: str, value: str) -> str:
        return hmac.new(self.key(), f"{purpose}\x1f{value}".encode(), hashlib.sha256).hexdigest()


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
class RangeIpReputation:
    """Categories of address ranges (PROXY, VPN, HOSTING, TOR, BAD_REPUTATION) from a JSON file in the layer
    (``{"HOSTING": ["203.0.113.0/24", ...], ...}``); replace with a reputation feed where one is licensed."""

    def __init__(self, path: Path) -> None:
        raw = json.loads(path.read_text())
        self.ranges = [(ipaddress.ip_network(cidr), category) for category, cidrs in raw.get("ranges", {}).items()
                       for cidr in cidrs]

    def lookup(self, ip: str | None) -> IpInfo:
        if not ip:
            return IpInfo(prefix=None)
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return IpInfo(prefix=None)
        categories = frozenset(c for net, c in self.ranges if addr.version == net.version and addr in net)
        return IpInfo(prefix=ip_prefix(ip), categories=categories)


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

    def change_phone(self, owner: str, new_phone: str, writes: Sequence[GuardedWrite] = ()) -> Account:
        return self.service.change_phone(owner, new_phone, writes)


class LedgerHistoryProfiles:
    """A profile from what exists without the risk-signals store: the ledger account (created, phone), its
    recent entries (last activity, counterparties, count and amount) and this capability's history (devices
    verified on, trusted when a strong verification passed on them, places, networks, sensitive changes)."""

    RECENT_ENTRIES = 50

    def __init__(self, accounts: AccountService, store: VerificationStore) -> None:
        self.accounts = accounts
        self.store = store

    def profile(self, owner: str) -> Profile | None:
        account = self.accounts.store.find_account_by_owner(owner)
        if account is None:
            return None
        entries = self.accounts.store.list_entries(account.account_id, self.RECENT_ENTRIES, None).items
        history = self.store.history(owner)
        moments = [account.created_at, *(e.created_at for e in entries[:1])]
        if history.last_passed_at:
            moments.append(history.last_passed_at)
        debits = [e for e in entries if e.direction.value == "DEBIT"]
        return Profile(owner=owner, account_created_at=account.created_at, last_activity_at=max(moments),
                       devices=devices_of(history), ip_prefixes=frozenset(history.ip_prefixes),
                       network_types=frozenset(history.network_types), last_geo=history.last_geo,
                       last_geo_at=history.last_geo_at, txn_count_90d=len(debits),
                       txn_amount_90d=sum(e.amount.amount for e in debits),
                       counterparties=frozenset(e.counterparty_account_id for e in debits),
                       sensitive_changes=history.sensitive_changes, phone=account.phone)


def devices_of(history: History) -> dict[str, DeviceInfo]:
    seen: dict[str, tuple[datetime, datetime]] = {}
    for event in history.events:
        if event.passed and event.device_id:
            first, _ = seen.get(event.device_id, (event.at, event.at))
            seen[event.device_id] = (min(first, event.at), event.at)
    return {d: DeviceInfo(device_id=d, first_seen=first, last_seen=last, trusted=d in history.strong_devices)
            for d, (first, last) in seen.items()}


class HistoryDeviceTrust:
    """Trust is recorded in this capability's history (``strong_devices``); the activity profile gets it when the
    risk-signals port is wired."""

    def trust(self, owner: str, device_id: str, at: datetime) -> None:
        return None


class NoFace:
    """No enrolled faces on this branch (real-name/face, issue 11, adds them): FACE is never offered."""

    def enrolled(self, owner: str) -> bool:
        return False

    def compare(self, owner: str, image: bytes) -> FaceEvidence:
        return FaceEvidence(enrolled=False)

    def verify_live(self, owner: str, image: bytes, challenge_id: str, frames: Sequence[bytes]) -> FaceEvidence:
        raise FaceNotAvailable()


class NoCardBindings:
    """No bank bindings on this branch (issue 13 adds them): CARD is never offered."""

    def holds_binding(self, owner: str) -> bool:
        return False

    def matches(self, owner: str, last4: str, id_number: str) -> bool:
        return False


class NoFirstUseGate:
    def is_required(self, owner: str) -> bool:
        return False

    def clear(self, owner: str, verification_id: str, method: str) -> bool:
        return False
