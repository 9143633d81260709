"""DynamoDB data access for adaptive verification: the Verifications table.

Items (``pk``; the only place these shapes exist):

    ``VER#<id>``         a decision record and its challenge state (``audit_owner`` + ``created_at``: the
                         ``ByOwner`` index, for audit by user id)
    ``HIST#<sub>``       the user's verification history, limits and low-value exemption counters
    ``TOKEN#<hash>``     a verification token's grant (the token only keyed-hashed), ``used_at`` once consumed
    ``PWD#<sub>``        the payment password (scrypt hash, salt, failures, delay, lock)
    ``PHONECHG#<sub>``   the pending phone change (new number, code keyed-hashed, tries; once done, only its
                         outcome: tries, ``done``, the request tags that started and last confirmed it)

Every write is a ``GuardedWrite``: a conditional item of one ``TransactWriteItems`` and the domain error its
condition means. Expiries are conditions (``expires_at > :now``), never TTL; times are ISO-8601 UTC strings
(``shared.clock.iso``: fixed width, so they compare as strings).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from shared.clock import iso
from shared.dynamo import Repository, from_item, to_item
from shared.errors import AlreadyExists, InvalidPageToken
from shared.types import Money
from shared.verification.errors import ExemptionExhausted, StaleState, VerificationInvalid
from shared.verification.models import (
    History,
    Operation,
    PasswordRecord,
    PhoneChange,
    PhoneConfirmationRecord,
    TokenGrant,
    Verification,
)
from shared.writes import GuardedWrite, OldImage, transact

BY_OWNER_INDEX = "ByOwner"
_TIME_FIELDS = ("expires_at", "otp_expires_at", "created_at")


def _plain(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    for name in _TIME_FIELDS:  # conditions compare these as strings: always the fixed-width form
        value = getattr(model, name, None)
        if isinstance(value, datetime):
            data[name] = iso(value)
    return data


def _stale(_: OldImage) -> Exception:
    return StaleState()


class DynamoVerificationStore(Repository):
    """``VerificationStore`` on the Verifications table."""

    def __init__(self, table: str, client: Any = None) -> None:
        super().__init__(client)
        self.table = table

    # --- reads ---------------------------------------------------------------------------------------------
    def _get(self, pk: str) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self.table, Key={"pk": {"S": pk}}, ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def get(self, verification_id: str) -> Verification | None:
        data = self._get(f"VER#{verification_id}")
        return Verification.model_validate(data) if data else None

    def list_by_owner(self, owner: str, limit: int, cursor: str | None) -> tuple[list[Verification], str | None]:
        kwargs: dict[str, Any] = {
            "TableName": self.table, "IndexName": BY_OWNER_INDEX,
            "KeyConditionExpression": "audit_owner = :o",
            "ExpressionAttributeValues": {":o": {"S": owner}}, "ScanIndexForward": False, "Limit": limit}
        if cursor:
            kwargs["ExclusiveStartKey"] = _decode_cursor(cursor, owner)
        resp = self.client.query(**kwargs)
        items = [Verification.model_validate(from_item(i)) for i in resp.get("Items", [])]
        last = resp.get("LastEvaluatedKey")
        return items, _encode_cursor(last) if last else None

    def history(self, owner: str) -> History:
        data = self._get(f"HIST#{owner}")
        if not data:
            return History(owner=owner)
        data.setdefault("owner", owner)
        return History.model_validate(data)

    def password(self, owner: str) -> PasswordRecord | None:
        data = self._get(f"PWD#{owner}")
        return PasswordRecord.model_validate(data) if data else None

    def phone_change(self, owner: str) -> PhoneChange | None:
        data = self._get(f"PHONECHG#{owner}")
        if not data or data.get("done"):
            return None
        return PhoneChange.model_validate(data)

    def phone_confirmation(self, owner: str) -> PhoneConfirmationRecord | None:
        data = self._get(f"PHONECHG#{owner}")
        return PhoneConfirmationRecord.model_validate(data) if data else None

    def token(self, token_hash: str) -> TokenGrant | None:
        data = self._get(f"TOKEN#{token_hash}")
        return TokenGrant.model_validate(data) if data else None

    # --- writes --------------------------------------------------------------------------------------------
    def commit(self, writes: Sequence[GuardedWrite]) -> None:
        transact(self.client, writes)

    def w_put_verification(self, v: Verification) -> GuardedWrite:
        item = {"pk": f"VER#{v.verification_id}", "entity": "VERIFICATION", "audit_owner": v.owner, **_plain(v)}
        taken = AlreadyExists(verification_id=v.verification_id)
        return GuardedWrite.failing_with({"Put": {"TableName": self.table, "Item": to_item(item),
                                                  "ConditionExpression": "attribute_not_exists(pk)"}},
                                         lambda: taken)

    def w_replace_verification(self, v: Verification, expected_version: int, open_at: datetime | None = None,
                               otp_valid_at: datetime | None = None) -> GuardedWrite:
        item = {"pk": f"VER#{v.verification_id}", "entity": "VERIFICATION", "audit_owner": v.owner, **_plain(v)}
        condition = "version = :v"
        values: dict[str, Any] = {":v": {"N": str(expected_version)}}
        names: dict[str, str] = {}
        if open_at is not None:
            condition += " AND #st = :open AND expires_at > :now"
            names["#st"] = "status"
            values.update({":open": {"S": "OPEN"}, ":now": {"S": iso(open_at)}})
        if otp_valid_at is not None:
            condition += " AND otp_expires_at > :otp_now"
            values[":otp_now"] = {"S": iso(otp_valid_at)}
        put: dict[str, Any] = {"TableName": self.table, "Item": to_item(item), "ConditionExpression": condition,
                               "ExpressionAttributeValues": values}
        if names:
            put["ExpressionAttributeNames"] = names
        return GuardedWrite({"Put": put}, _stale)

    def w_put_history(self, h: History, expected_version: int, reset_counters: bool = False) -> GuardedWrite:
        data = {k: v for k, v in h.model_dump(mode="json").items() if k != "owner"}
        if not reset_counters:
            data.pop("exempt_amount", None)
            data.pop("exempt_count", None)
        sets, removes = [], []
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        for i, (key, value) in enumerate(sorted(data.items())):
            names[f"#a{i}"] = key
            if value is None:
                removes.append(f"#a{i}")
            else:
                sets.append(f"#a{i} = :a{i}")
                values[f":a{i}"] = to_item({"v": value})["v"]
        names["#owner"] = "owner"
        values[":owner"] = {"S": h.owner}
        sets.append("#owner = :owner")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        values[":expected"] = {"N": str(expected_version)}
        condition = "version = :expected"
        if expected_version == 0:
            condition = "attribute_not_exists(pk) OR attribute_not_exists(version) OR version = :expected"
        return GuardedWrite({"Update": {"TableName": self.table, "Key": {"pk": {"S": f"HIST#{h.owner}"}},
                                        "UpdateExpression": expression, "ConditionExpression": condition,
                                        "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}},
                            _stale)

    def w_count_exemption(self, owner: str, epoch: str, amount: int, cumulative_limit: int | None = None,
                          count_limit: int | None = None) -> GuardedWrite:
        values: dict[str, Any] = {":epoch": {"S": epoch}, ":zero": {"N": "0"}, ":owner": {"S": owner},
                                  ":amt": {"N": str(amount)}, ":one": {"N": "1"}}
        condition = None
        if cumulative_limit is not None and count_limit is not None:
            condition = ("exempt_epoch = :epoch AND "
                         "(attribute_not_exists(exempt_count) OR (exempt_count < :maxc AND exempt_amount <= :room))")
            if epoch == History.model_fields["exempt_epoch"].default:  # the user's first epoch: maybe no item yet
                condition = f"attribute_not_exists(exempt_epoch) OR ({condition})"
            values.update({":maxc": {"N": str(count_limit)}, ":room": {"N": str(cumulative_limit - amount)}})
        update: dict[str, Any] = {
            "TableName": self.table, "Key": {"pk": {"S": f"HIST#{owner}"}},
            "UpdateExpression": "SET exempt_epoch = if_not_exists(exempt_epoch, :epoch), "
                                "version = if_not_exists(version, :zero), #owner = :owner "
                                "ADD exempt_amount :amt, exempt_count :one",
            "ExpressionAttributeNames": {"#owner": "owner"},
            "ExpressionAttributeValues": values}
        if condition:
            update["ConditionExpression"] = condition
        return GuardedWrite({"Update": update}, lambda _old: ExemptionExhausted())

    def w_put_token(self, token_hash: str, grant: TokenGrant) -> GuardedWrite:
        item = {"pk": f"TOKEN#{token_hash}", "entity": "TOKEN", **_plain(grant)}
        if grant.amount is not None:
            item.update(amount_value=grant.amount.amount, amount_currency=grant.amount.currency)
        taken = AlreadyExists()
        return GuardedWrite.failing_with({"Put": {"TableName": self.table, "Item": to_item(item),
                                                  "ConditionExpression": "attribute_not_exists(pk)"}},
                                         lambda: taken)

    def w_consume_token(self, token_hash: str, owner: str, operation: Operation, now: datetime,
                        amount: Money | None = None, payee_account_id: str | None = None) -> GuardedWrite:
        condition = ("attribute_exists(pk) AND attribute_not_exists(used_at) AND #owner = :owner "
                     "AND operation = :op AND expires_at > :now")
        values: dict[str, Any] = {":owner": {"S": owner}, ":op": {"S": operation.value}, ":now": {"S": iso(now)}}
        if operation is Operation.PAYMENT:  # dynamic linking: exactly this amount to this payee
            condition += " AND amount_value = :amt AND amount_currency = :cur AND payee_account_id = :payee"
            values.update({":amt": {"N": str(amount.amount if amount else -1)},
                           ":cur": {"S": amount.currency if amount else "-"}, ":payee": {"S": payee_account_id or "-"}})
        update = {"TableName": self.table, "Key": {"pk": {"S": f"TOKEN#{token_hash}"}},
                  "UpdateExpression": "SET used_at = :now", "ConditionExpression": condition,
                  "ExpressionAttributeNames": {"#owner": "owner"}, "ExpressionAttributeValues": values,
                  "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}

        def refused(old: OldImage) -> Exception:
            image = old if old is not None else self._get(f"TOKEN#{token_hash}")
            return VerificationInvalid(operation=operation.value, reason=token_refusal(image, owner, operation, now))

        return GuardedWrite({"Update": update}, refused)

    def w_put_password(self, record: PasswordRecord, expected_version: int | None) -> GuardedWrite:
        item = {"pk": f"PWD#{record.owner}", "entity": "PASSWORD", **_plain(record)}
        if expected_version is None:
            put = {"TableName": self.table, "Item": to_item(item), "ConditionExpression": "attribute_not_exists(pk)"}
        else:
            put = {"TableName": self.table, "Item": to_item(item), "ConditionExpression": "version = :v",
                   "ExpressionAttributeValues": {":v": {"N": str(expected_version)}}}
        return GuardedWrite({"Put": put}, _stale)

    def w_put_phone_change(self, change: PhoneChange) -> GuardedWrite:
        item = {"pk": f"PHONECHG#{change.owner}", "entity": "PHONE_CHANGE", **_plain(change)}
        return GuardedWrite({"Put": {"TableName": self.table, "Item": to_item(item)}}, _stale)

    def w_update_phone_change(self, change: PhoneChange, expected_tries: int, valid_at: datetime | None = None,
                              done: bool = False) -> GuardedWrite:
        condition = "change_id = :id AND tries = :t AND attribute_not_exists(done)"
        values: dict[str, Any] = {":id": {"S": change.change_id}, ":t": {"N": str(expected_tries)},
                                  ":tries": {"N": str(change.tries)}}
        expression = "SET tries = :tries"
        if change.confirm_request:
            expression += ", confirm_request = :req"
            values[":req"] = {"S": change.confirm_request}
        if valid_at is not None:
            condition += " AND expires_at > :now"
            values[":now"] = {"S": iso(valid_at)}
        if done:
            expression += ", done = :yes REMOVE new_phone, otp_hash"
            values[":yes"] = {"BOOL": True}
        return GuardedWrite({"Update": {"TableName": self.table, "Key": {"pk": {"S": f"PHONECHG#{change.owner}"}},
                                        "UpdateExpression": expression, "ConditionExpression": condition,
                                        "ExpressionAttributeValues": values}}, _stale)


def token_refusal(old: Mapping[str, Any] | None, owner: str, operation: Operation, now: datetime) -> str:
    """Why a token was refused (from the item as it was; another user's token reads as unknown)."""
    if not old or old.get("owner") != owner:
        return "UNKNOWN"
    if old.get("used_at"):
        return "ALREADY_USED"
    if str(old.get("expires_at", "")) <= iso(now):
        return "EXPIRED"
    if old.get("operation") != operation.value:
        return "WRONG_OPERATION"
    return "AMOUNT_OR_PAYEE_DIFFERS"


def _encode_cursor(key: Mapping[str, Any]) -> str:
    plain = {k: v["S"] for k, v in key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, owner: str) -> dict[str, Any]:
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(plain, dict) or plain.get("audit_owner") != owner \
                or not all(isinstance(v, str) for v in plain.values()) \
                or set(plain) != {"pk", "audit_owner", "created_at"}:
            raise ValueError
    except (ValueError, TypeError):
        raise InvalidPageToken() from None
    return {k: {"S": v} for k, v in plain.items()}
