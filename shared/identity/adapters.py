"""External systems of identity verification other than its own table: the document bucket (S3), the
verification workflow (Step Functions), the authoritative registries (the ``Registry`` port) and the key of the
credential index (``CredentialKeys``: the platform's keyed hash, ``shared.crypto``).

Registries, both raising ``RegistryUnavailable`` when they cannot answer (the state machine retries that
error with back-off, then falls through to the document path):

* ``TableRegistry``: the embedded default, a DynamoDB table standing for an education registry
  (``pk = <registry>#<type>#<normalised key fields>``, the record as JSON). It is an adapter, not a
  repository: it stands for a system the platform does not own and is swapped for ``HttpRegistry`` by
  ``IDENTITY_REGISTRY_BACKEND``. Nothing here writes to it (local demo records: ``local_stack/demo_data.py``).
* ``HttpRegistry``: a real registry over HTTPS: short timeouts, bounded retries with back-off on
  timeouts/5xx, and the response validated like user input (anything unexpected is "unavailable",
  never a match).

Only the registry key fields are sent (data minimisation); the name is compared by the service, never sent.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from shared.aws import LazyClient
from shared.crypto import CREDENTIAL, hasher
from shared.dynamo import Repository
from shared.identity.catalog import IdentityType
from shared.identity.checks import credential_identity
from shared.identity.errors import RegistryUnavailable, TaskExpired
from shared.identity.models import RegistryRecord, normalize
from shared.identity.settings import IdentitySettings


class S3DocumentStore:
    client = LazyClient("s3")

    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self.client = client

    def presigned_post(self, key: str, content_type: str, max_bytes: int, expires: int) -> dict[str, Any]:
        """A form upload limited to this key, this content type and 1..max_bytes bytes."""
        post: dict[str, Any] = self.client.generate_presigned_post(
            Bucket=self.bucket, Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires,
        )
        return post

    def head(self, key: str) -> tuple[int, str] | None:
        """(size, content type) of the uploaded object, or None if it is not there."""
        try:
            resp = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(resp["ContentLength"]), str(resp.get("ContentType", ""))

    def read(self, key: str, max_bytes: int) -> bytes:
        resp = self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{max_bytes}")
        return bytes(resp["Body"].read(max_bytes + 1))

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def presigned_get(self, key: str, expires: int) -> str:
        return str(self.client.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                                      ExpiresIn=expires))


class StepFunctionsWorkflow:
    client = LazyClient("stepfunctions")

    def __init__(self, state_machine_arn: str, client: Any = None) -> None:
        self.state_machine_arn = state_machine_arn
        self.client = client

    def start(self, name: str, payload: str) -> str:
        """Start the execution named ``name``; one already started under that name (a retried start) is it."""
        try:
            resp = self.client.start_execution(stateMachineArn=self.state_machine_arn, name=name, input=payload)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
                raise
            return self.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
        return str(resp["executionArn"])

    def resume(self, task_token: str, output: str) -> None:
        try:
            self.client.send_task_success(taskToken=task_token, output=output)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist"):
                raise TaskExpired(exc.response["Error"]["Code"]) from exc
            raise


# --- the credential index's keyed hash ----------------------------------------------
class HmacCredentialKeys:
    """``CredentialKeys``: the platform's keyed hash (``shared.crypto``, purpose ``credential``, the one
    ``PersonalDataHashKeySecret`` every capability hashes personal data with) over
    ``checks.credential_identity``. Without a configured secret it raises ``shared.crypto.KeyUnavailable``.

    A plain hash of a school and a student number is reversed by trying every number; without the key it
    cannot be. The key is a lookup key, not a signing key: rotating it orphans the index (re-key first)."""

    def __init__(self, settings: IdentitySettings) -> None:
        self.settings = settings

    def key_for(self, identity_type: IdentityType, fields: Mapping[str, str]) -> str:
        keyed = hasher(self.settings.personal_data_hash_secret_id)
        return keyed.hash(CREDENTIAL, credential_identity(identity_type, fields))


# --- registries ------------------------------------------------------------------
def registry_key(identity_type: IdentityType, claimed: dict[str, str]) -> str:
    """The embedded registry's key: ``<registry>#<type>#<normalised key fields>``."""
    parts = [normalize(claimed[f]) for f in identity_type.registry_key]
    return "#".join([identity_type.registry, identity_type.name, *parts])


class TableRegistry(Repository):
    """``Registry`` on the embedded registry table (read only)."""

    def __init__(self, table: str, client: Any = None) -> None:
        super().__init__(client)
        self.table = table

    def lookup(self, identity_type: IdentityType, claimed: dict[str, str]) -> RegistryRecord | None:
        try:
            resp = self.client.get_item(TableName=self.table,
                                        Key={"pk": {"S": registry_key(identity_type, claimed)}})
        except (ClientError, BotoCoreError) as exc:
            raise RegistryUnavailable(type(exc).__name__) from exc
        item = resp.get("Item")
        if not item:
            return None
        try:
            return RegistryRecord.model_validate_json(item["record"]["S"])
        except (KeyError, ValidationError) as exc:
            raise RegistryUnavailable("malformed registry record") from exc


class HttpRegistry:
    """``POST {base_url}/v1/lookup {"registry", "identity_type", "key": {...}}`` -> 200 record | 404."""

    def __init__(self, base_url: str, timeout: float = 2.0, attempts: int = 2, backoff: float = 0.2) -> None:
        if not base_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ValueError("registry URL must be https (or loopback for local tests)")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff

    def lookup(self, identity_type: IdentityType, claimed: dict[str, str]) -> RegistryRecord | None:
        body = json.dumps({"registry": identity_type.registry, "identity_type": identity_type.name,
                           "key": {f: claimed[f] for f in identity_type.registry_key}}).encode()
        last = "no attempt"
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            request = urllib.request.Request(f"{self.base_url}/v1/lookup", data=body, method="POST",  # noqa: S310
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310 - checked scheme
                    raw = resp.read(64 * 1024 + 1)
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    return None
                last = f"HTTP {exc.code}"
                if exc.code < 500 and exc.code != 429:
                    break  # our request is wrong: retrying will not help
                continue
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                last = type(exc).__name__
                continue
            return self._parse(raw)
        raise RegistryUnavailable(last)

    @staticmethod
    def _parse(raw: bytes) -> RegistryRecord:
        if len(raw) > 64 * 1024:
            raise RegistryUnavailable("registry answer too large")
        try:
            record = RegistryRecord.model_validate_json(raw)
        except ValidationError as exc:
            raise RegistryUnavailable("malformed registry answer") from exc
        return record  # a record of another identity type is a mismatch (service.match), never a match
