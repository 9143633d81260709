"""External systems of bank binding other than its own tables.

* Encryption and keyed hashes are the platform's (``shared.crypto``: ``cipher``/``hasher`` over ``PersonalDataKey``
  and ``PersonalDataHashKeySecret``), built in ``wiring``; binding has no key of its own.
* ``CognitoUserDirectory`` (AWS): the customer's Cognito user, the phone as username (``AdminCreateUser``,
  invitation suppressed: the customer signs in with a phone OTP); ``TableUserDirectory`` (local stack and tests):
  the same contract on a ``USER#<phone>`` item.
* ``StepFunctionsWorkflow``: start the saga, resume or fail its waiting task.
* ``HttpCallbackSender``: the signed callback POST to the bank (``urllib``, short timeout).
* ``RealNameRecordIdentities``: the §5 real-name record's ID-number hash when the identity is VERIFIED; none means
  unverified.
* ``PendingVerificationService``: the §4 token check until §4 lands: no token verifies (fails closed).
"""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from shared.aws import LazyClient
from shared.binding.errors import ConfirmationTooLate, VerificationInvalid
from shared.binding.repository import DynamoBindingStore
from shared.writes import GuardedWrite


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


class RealNameRecordIdentities:
    """``RealNameIdentities`` over §5's records (``REALNAME#<sub>`` in ``RealNameTable``, read through real-name's
    own ``RealNameDirectory``): the keyed ID-number hash of a VERIFIED real-name identity, made with the platform's
    one hash key and canonical form (``shared.crypto``), so it compares with the bank's number hashed here. A
    function without ``REALNAME_TABLE`` refuses to answer rather than treat everyone as unverified."""

    def __init__(self, realname_table: str, hash_secret_id: str) -> None:
        self.realname_table = realname_table
        self.hash_secret_id = hash_secret_id

    def verified_id_hash(self, owner: str) -> str | None:
        if not self.realname_table:
            raise RuntimeError("REALNAME_TABLE is not configured on this function")
        from shared.realname.wiring import directory_for  # the sibling's read side (no face or numpy import)

        return directory_for(self.realname_table, self.hash_secret_id).verified_id_hash(owner)


class PendingVerificationService:
    """§4 (adaptive verification) issues and checks verification tokens; until it is wired here, no token is
    accepted, so routes that require one refuse (fail closed)."""

    def verify(self, token: str, owner: str, operation: str) -> None:
        raise VerificationInvalid(operation=operation)

    def consume_write(self, token: str, owner: str, operation: str) -> GuardedWrite:
        raise VerificationInvalid(operation=operation)
