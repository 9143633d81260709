"""External systems of bank binding other than its own tables.

* ``KmsEnvelope``: envelope encryption (a KMS data key, generated once per container and cached; AES-256-GCM per
  value, with the value's context as associated data). Partner signing secrets and customers' names are stored
  only this way; decrypted data keys are cached per container by their encrypted blob.
* ``SecretHasher``: HMAC-SHA256 under the key in Secrets Manager (``BINDING_HASH_KEY_SECRET_ID``, cached with
  Powertools Parameters): ID-number hashes for look-up, card-token fingerprints.
* ``CognitoUserDirectory`` (AWS): the customer's Cognito user, the phone as username (``AdminCreateUser``,
  invitation suppressed: the customer signs in with a phone OTP); ``TableUserDirectory`` (local stack and tests):
  the same contract on a ``USER#<phone>`` item.
* ``StepFunctionsWorkflow``: start the saga, resume or fail its waiting task.
* ``HttpCallbackSender``: the signed callback POST to the bank (``urllib``, short timeout).
* ``TableRealNames``: the §5 real-name identity as recorded on ``IDENTITY#<sub>`` (``verified``); none means
  unverified.
* ``PendingVerificationService``: the §4 token check until §4 lands: no token verifies (fails closed).
* ``event_publisher``: the platform's one EventBridge publisher, source ``wallet.binding``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.aws import LazyClient
from shared.binding.errors import ConfirmationTooLate, VerificationInvalid
from shared.binding.repository import DynamoBindingStore
from shared.binding.settings import BindingSettings
from shared.events import EventBridgePublisher

EVENT_SOURCE = "wallet.binding"
_KMS_CONTEXT = {"purpose": "wallet-binding"}


class CryptoError(RuntimeError):
    """A stored ciphertext does not decrypt (tampered, or another context): a server-side problem."""


class KmsEnvelope:
    client = LazyClient("kms")

    def __init__(self, key_id: str, client: Any = None) -> None:
        self.key_id = key_id
        self.client = client
        self._lock = threading.Lock()
        self._data_key: tuple[bytes, bytes] | None = None  # (plaintext, encrypted blob)
        self._plain: dict[bytes, bytes] = {}

    def _current(self) -> tuple[bytes, bytes]:
        with self._lock:
            if self._data_key is None:
                resp = self.client.generate_data_key(KeyId=self.key_id, KeySpec="AES_256",
                                                     EncryptionContext=_KMS_CONTEXT)
                self._data_key = (resp["Plaintext"], resp["CiphertextBlob"])
                self._plain[resp["CiphertextBlob"]] = resp["Plaintext"]
            return self._data_key

    def _key_for(self, blob: bytes) -> bytes:
        with self._lock:
            if blob not in self._plain:
                self._plain[blob] = self.client.decrypt(CiphertextBlob=blob, EncryptionContext=_KMS_CONTEXT)[
                    "Plaintext"]
            return self._plain[blob]

    @staticmethod
    def _aad(context: Mapping[str, str]) -> bytes:
        return json.dumps(dict(context), sort_keys=True, separators=(",", ":")).encode()

    def encrypt(self, plaintext: bytes, context: Mapping[str, str]) -> str:
        key, blob = self._current()
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, plaintext, self._aad(context))
        return "v1." + ".".join(base64.b64encode(p).decode() for p in (blob, nonce + sealed))

    def decrypt(self, ciphertext: str, context: Mapping[str, str]) -> bytes:
        try:
            version, blob64, sealed64 = ciphertext.split(".")
            if version != "v1":
                raise ValueError(version)
            blob, sealed = base64.b64decode(blob64), base64.b64decode(sealed64)
            return AESGCM(self._key_for(blob)).decrypt(sealed[:12], sealed[12:], self._aad(context))
        except (ValueError, InvalidTag) as exc:
            raise CryptoError("a stored secret does not decrypt") from exc


class SecretHasher:
    def __init__(self, secret_id: str, max_age: int) -> None:
        self.secret_id = secret_id
        self.max_age = max_age

    def _key(self) -> bytes:
        from aws_lambda_powertools.utilities import parameters

        value: Any = parameters.get_secret(self.secret_id, max_age=self.max_age)
        return str(value).encode()

    def keyed_hash(self, purpose: str, value: str) -> str:
        return hmac.new(self._key(), f"{purpose}\x1f{value}".encode(), hashlib.sha256).hexdigest()


class CognitoUserDirectory:
    client = LazyClient("cognito-idp")

    def __init__(self, user_pool_id: str, client: Any = None) -> None:
        self.user_pool_id = user_pool_id
        self.client = client

    @staticmethod
    def _sub(attributes: list[dict[str, str]]) -> str:
        return next(a["Value"] for a in attributes if a["Name"] == "sub")

    def ensure_user(self, phone: str) -> str:
        try:
            resp = self.client.admin_create_user(
                UserPoolId=self.user_pool_id, Username=phone, MessageAction="SUPPRESS",
                UserAttributes=[{"Name": "phone_number", "Value": phone},
                                {"Name": "phone_number_verified", "Value": "true"}])
            return self._sub(resp["User"]["Attributes"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "UsernameExistsException":
                raise
        user = self.client.admin_get_user(UserPoolId=self.user_pool_id, Username=phone)
        return self._sub(user["UserAttributes"])


class TableUserDirectory:
    def __init__(self, store: DynamoBindingStore) -> None:
        self.store = store

    def ensure_user(self, phone: str) -> str:
        return self.store.local_user(phone, f"usr-{uuid.uuid4().hex}")


class StepFunctionsWorkflow:
    client = LazyClient("stepfunctions")

    def __init__(self, state_machine_arn: str, client: Any = None) -> None:
        self.state_machine_arn = state_machine_arn
        self.client = client

    def start(self, name: str, payload: str) -> None:
        try:
            self.client.start_execution(stateMachineArn=self.state_machine_arn, name=name, input=payload)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
                raise

    def _gone(self, exc: ClientError) -> bool:
        return exc.response.get("Error", {}).get("Code") in ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist")

    def succeed(self, task_token: str, output: str) -> None:
        try:
            self.client.send_task_success(taskToken=task_token, output=output)
        except ClientError as exc:
            if self._gone(exc):
                raise ConfirmationTooLate() from exc
            raise

    def fail(self, task_token: str, error: str, cause: str) -> None:
        try:
            self.client.send_task_failure(taskToken=task_token, error=error, cause=cause)
        except ClientError as exc:
            if self._gone(exc):
                raise ConfirmationTooLate() from exc
            raise


class HttpCallbackSender:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        if not url.startswith(("https://", "http://")):  # validated when the partner was registered
            raise OSError("callback URL scheme")
        request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)


class TableRealNames:
    def __init__(self, store: DynamoBindingStore) -> None:
        self.store = store

    def verified_id_hash(self, owner: str) -> str | None:
        identity = self.store.get_identity(owner)
        return identity.id_hash if identity is not None and identity.verified else None


class PendingVerificationService:
    """§4 (adaptive verification) issues and checks verification tokens; until it is wired here, no token is
    accepted, so routes that require one refuse (fail closed)."""

    def verify(self, token: str, owner: str, operation: str) -> None:
        raise VerificationInvalid(operation=operation)


def event_publisher(settings: BindingSettings) -> EventBridgePublisher:
    return EventBridgePublisher(settings.binding_event_bus, EVENT_SOURCE)
