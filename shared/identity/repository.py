"""DynamoDB data access for identity verification: one table, one class (the only boto3 user here).

Items of ``IdentityTable`` (pk / sk):

* ``VERIFICATION#<id>`` / ``META``: the attempt, its status, path, reasons, score, audit trail;
  the document wait's task token in ``document_task_token`` (never returned by the API).
* ``USER#<sub>`` / ``LATEST#<type>``: the user's latest attempt for a type (links attempts;
  written with the attempt in one transaction, conditioned on the previous pointer).
* ``USER#<sub>`` / ``TAG#<type>``: the identity tag with its validity.
* ``REVIEW#<id>`` / ``META``: a human review; open reviews carry ``gsi1pk = REVIEWS#OPEN``
  (sparse index, ``gsi1sk`` = created time) and the review wait's task token.
* ``CREDENTIAL#<keyed hash>`` / ``HOLDER``: the account a credential is verified for; put once with the
  verified outcome (or again by the same account), so a second account's verification cannot commit.
* ``DOCFP#<index key>`` / ``<submitted at>#<verification id>``: one submitted document under each of its
  fingerprint's index keys (``imagehash.index_keys``), read back to find other accounts' near-identical ones.

Legal state transitions are conditions on the current status; nothing relies on TTL.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.clock import iso
from shared.dynamo import Repository, from_item, is_condition_failure, to_attr, to_item
from shared.errors import InvalidPageToken
from shared.identity.errors import ConcurrentAttempt, CredentialHeldElsewhere, InvalidTransition, ReviewClosed
from shared.identity.models import (
    FINAL,
    AuditEvent,
    CredentialHolder,
    Fingerprint,
    FingerprintEntry,
    IdentityTag,
    Review,
    ReviewStatus,
    Status,
    Verification,
)
from shared.writes import GuardedWrite, transact

OPEN_REVIEWS = "REVIEWS#OPEN"


class DynamoIdentityStore(Repository):
    def __init__(self, table: str, client: Any = None) -> None:
        super().__init__(client)
        self.table = table

    # --- verifications --------------------------------------------------------
    @staticmethod
    def _vkey(verification_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"VERIFICATION#{verification_id}"}, "sk": {"S": "META"}}

    def create_verification(self, v: Verification, previous_id: str | None) -> None:
        data = v.model_dump(mode="python")
        item = to_item({"pk": f"VERIFICATION#{v.verification_id}", "sk": "META", "entity": "VERIFICATION", **data})
        pointer = to_item({"pk": f"USER#{v.user_id}", "sk": f"LATEST#{v.identity_type}",
                         "verification_id": v.verification_id, "updated_at": v.created_at})
        if previous_id:
            cond = {"ConditionExpression": "verification_id = :prev",
                    "ExpressionAttributeValues": {":prev": {"S": previous_id}}}
        else:
            cond = {"ConditionExpression": "attribute_not_exists(pk)"}
        concurrent = ConcurrentAttempt(identity_type=v.identity_type)  # the pointer moved, or the id was taken
        transact(self.client, [
            GuardedWrite.failing_with({"Put": {"TableName": self.table, "Item": item,
                                               "ConditionExpression": "attribute_not_exists(pk)"}}, lambda: concurrent),
            GuardedWrite.failing_with({"Put": {"TableName": self.table, "Item": pointer, **cond}}, lambda: concurrent),
        ])

    def get_verification(self, verification_id: str) -> tuple[Verification, dict[str, Any]] | None:
        """The verification and its private attributes (task token)."""
        resp = self.client.get_item(TableName=self.table, Key=self._vkey(verification_id), ConsistentRead=True)
        item = resp.get("Item")
        if not item:
            return None
        data = from_item(item)
        private = {"document_task_token": data.pop("document_task_token", None)}
        return Verification.model_validate(data), private

    def latest_verification_id(self, user_id: str, identity_type: str) -> str | None:
        resp = self.client.get_item(TableName=self.table, ConsistentRead=True,
                                    Key={"pk": {"S": f"USER#{user_id}"}, "sk": {"S": f"LATEST#{identity_type}"}})
        item = resp.get("Item")
        return item["verification_id"]["S"] if item else None

    def update_verification(
        self,
        verification_id: str,
        *,
        audit: AuditEvent,
        expect: Iterable[Status] | None = None,
        status: Status | None = None,
        fields: Mapping[str, Any] | None = None,
        path: list[str] | None = None,
        reasons: list[str] | None = None,
        remove: Iterable[str] = (),
        require: Mapping[str, Any] | None = None,
    ) -> Verification:
        """One conditional write: status transition (from ``expect``), fields, appended path/reasons/audit."""
        names: dict[str, str] = {"#audit": "audit", "#upd": "updated_at"}
        values: dict[str, Any] = {":audit": to_attr([audit.model_dump()]), ":empty": {"L": []},
                                  ":upd": to_attr(audit.at)}
        sets = ["#audit = list_append(if_not_exists(#audit, :empty), :audit)", "#upd = :upd"]
        conds = ["attribute_exists(pk)"]
        if status is not None:
            names["#st"] = "status"
            values[":st"] = {"S": status.value}
            sets.append("#st = :st")
        if expect is not None:
            names["#st"] = "status"
            allowed = sorted(s.value for s in expect)
            keys = [f":ex{i}" for i in range(len(allowed))]
            values.update({k: {"S": s} for k, s in zip(keys, allowed, strict=True)})
            conds.append(f"#st IN ({', '.join(keys)})")
        for i, (name, value) in enumerate((fields or {}).items()):
            names[f"#f{i}"] = name
            values[f":f{i}"] = to_attr(value)
            sets.append(f"#f{i} = :f{i}")
        for attr, extra in (("path", path), ("reasons", reasons)):
            if extra:
                names[f"#{attr}"] = attr
                values[f":{attr}"] = to_attr(extra)
                sets.append(f"#{attr} = list_append(if_not_exists(#{attr}, :empty), :{attr})")
        for i, (name, value) in enumerate((require or {}).items()):
            names[f"#r{i}"] = name
            values[f":r{i}"] = to_attr(value)
            conds.append(f"#r{i} = :r{i}")
        removes = []
        for i, name in enumerate(remove):
            names[f"#x{i}"] = name
            removes.append(f"#x{i}")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            resp = self.client.update_item(
                TableName=self.table, Key=self._vkey(verification_id), UpdateExpression=expression,
                ConditionExpression=" AND ".join(conds), ExpressionAttributeNames=names,
                ExpressionAttributeValues=values, ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                raise InvalidTransition(verification_id=verification_id) from exc
            raise
        data = from_item(resp["Attributes"])
        data.pop("document_task_token", None)
        return Verification.model_validate(data)

    def record_outcome(self, verification_id: str, status: Status, fields: Mapping[str, Any], reasons: list[str],
                       audit: AuditEvent, tag: IdentityTag | None, holder: CredentialHolder | None = None) -> None:
        """Final status (only from a non-final one) and, when verified, the identity tag and the put-once
        credential holder (``attribute_not_exists`` or the same account), in one transaction."""
        final = sorted(s.value for s in FINAL)
        names = {"#st": "status", "#reasons": "reasons", "#audit": "audit", "#upd": "updated_at"}
        values: dict[str, Any] = {":st": {"S": status.value}, ":reasons": to_attr(reasons), ":audit":
                                  to_attr([audit.model_dump()]), ":empty": {"L": []}, ":upd": to_attr(audit.at),
                                  **{f":fin{i}": {"S": s} for i, s in enumerate(final)}}
        sets = ["#st = :st", "#reasons = list_append(if_not_exists(#reasons, :empty), :reasons)",
                "#audit = list_append(if_not_exists(#audit, :empty), :audit)", "#upd = :upd"]
        for i, (name, value) in enumerate(fields.items()):
            names[f"#f{i}"] = name
            values[f":f{i}"] = to_attr(value)
            sets.append(f"#f{i} = :f{i}")
        not_final = f"NOT (#st IN ({', '.join(f':fin{i}' for i in range(len(final)))}))"
        writes = [GuardedWrite.failing_with({"Update": {
            "TableName": self.table, "Key": self._vkey(verification_id),
            "UpdateExpression": "SET " + ", ".join(sets) + " REMOVE document_task_token",
            "ConditionExpression": f"attribute_exists(pk) AND {not_final}",
            "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
        }}, lambda: InvalidTransition(verification_id=verification_id))]
        if tag is not None:
            writes.append(GuardedWrite.failing_with({"Put": {"TableName": self.table, "Item": to_item(
                {"pk": f"USER#{tag.user_id}", "sk": f"TAG#{tag.identity_type}", "entity": "TAG",
                 **tag.model_dump()})}}, lambda: InvalidTransition(verification_id=verification_id)))
        if holder is not None:
            writes.append(GuardedWrite({"Put": {
                "TableName": self.table, "Item": to_item({**self._holder_key(holder.credential_key),
                                                          "entity": "CREDENTIAL_HOLDER", **holder.model_dump()}),
                "ConditionExpression": "attribute_not_exists(pk) OR user_id = :uid",
                "ExpressionAttributeValues": {":uid": {"S": holder.user_id}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }}, lambda old: CredentialHeldElsewhere(verification_id=(old or {}).get("verification_id"))))
        transact(self.client, writes)

    # --- the credential index: credential (keyed hash) -> the account it is verified for ---------------------
    @staticmethod
    def _holder_key(credential_key: str) -> dict[str, str]:
        return {"pk": f"CREDENTIAL#{credential_key}", "sk": "HOLDER"}

    def credential_holder(self, credential_key: str) -> CredentialHolder | None:
        resp = self.client.get_item(TableName=self.table, ConsistentRead=True,
                                    Key=to_item(self._holder_key(credential_key)))
        item = resp.get("Item")
        return CredentialHolder.model_validate(from_item(item)) if item else None

    # --- the document-fingerprint index: fingerprint band -> submissions ---------------------------------------
    def index_fingerprint(self, entry: FingerprintEntry, keys: list[str]) -> None:
        data = {"entity": "DOCUMENT_FINGERPRINT", "kind": entry.fingerprint.kind, "value": entry.fingerprint.value,
                "verification_id": entry.verification_id, "user_id": entry.user_id,
                "submitted_at": entry.submitted_at}
        sk = f"{iso(entry.submitted_at)}#{entry.verification_id}"
        self.client.transact_write_items(TransactItems=[
            {"Put": {"TableName": self.table, "Item": to_item({"pk": f"DOCFP#{key}", "sk": sk, **data})}}
            for key in keys])

    def fingerprints_under(self, keys: list[str], since: datetime, limit: int) -> tuple[list[FingerprintEntry], bool]:
        found: dict[str, FingerprintEntry] = {}
        read = 0
        for key in keys:
            kwargs: dict[str, Any] = {
                "TableName": self.table, "ConsistentRead": True,
                "KeyConditionExpression": "pk = :pk AND sk >= :since",
                "ExpressionAttributeValues": {":pk": {"S": f"DOCFP#{key}"}, ":since": {"S": iso(since)}},
            }
            while True:
                if read >= limit:
                    return list(found.values()), True
                resp = self.client.query(**kwargs, Limit=limit - read)
                for item in resp.get("Items", []):
                    data = from_item(item)
                    found.setdefault(data["verification_id"], FingerprintEntry(
                        fingerprint=Fingerprint(kind=data["kind"], value=data["value"]),
                        verification_id=data["verification_id"], user_id=data["user_id"],
                        submitted_at=data["submitted_at"]))
                read += len(resp.get("Items", []))
                if "LastEvaluatedKey" not in resp:
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return list(found.values()), False

    # --- tags -----------------------------------------------------------------
    def list_tags(self, user_id: str) -> list[IdentityTag]:
        resp = self.client.query(
            TableName=self.table, KeyConditionExpression="pk = :pk AND begins_with(sk, :tag)",
            ExpressionAttributeValues={":pk": {"S": f"USER#{user_id}"}, ":tag": {"S": "TAG#"}},
        )
        return [IdentityTag.model_validate(from_item(i)) for i in resp.get("Items", [])]

    # --- reviews --------------------------------------------------------------
    @staticmethod
    def _rkey(review_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"REVIEW#{review_id}"}, "sk": {"S": "META"}}

    def open_review(self, review: Review, task_token: str) -> None:
        """Create the review, or refresh its token if this step is retried while it is still open."""
        data = {k: v for k, v in review.model_dump(mode="python").items() if v is not None and k != "review_id"}
        names = {f"#a{i}": k for i, k in enumerate(data)}
        values = {f":a{i}": to_attr(v) for i, v in enumerate(data.values())}
        sets = [f"#a{i} = :a{i}" for i in range(len(data))]
        names.update({"#gpk": "gsi1pk", "#gsk": "gsi1sk", "#tok": "task_token", "#rid": "review_id",
                      "#st2": "status"})
        values.update({":gpk": {"S": OPEN_REVIEWS}, ":gsk": to_attr(f"{iso(review.created_at)}#{review.review_id}"),
                       ":tok": {"S": task_token}, ":rid": {"S": review.review_id},
                       ":open": {"S": ReviewStatus.OPEN.value}})
        sets += ["#gpk = :gpk", "#gsk = :gsk", "#tok = :tok", "#rid = :rid"]
        self.client.update_item(
            TableName=self.table, Key=self._rkey(review.review_id), UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression="attribute_not_exists(pk) OR #st2 = :open",
            ExpressionAttributeNames=names, ExpressionAttributeValues=values,
        )

    def get_review(self, review_id: str) -> tuple[Review, str | None] | None:
        resp = self.client.get_item(TableName=self.table, Key=self._rkey(review_id), ConsistentRead=True)
        item = resp.get("Item")
        if not item:
            return None
        data = from_item(item)
        return Review.model_validate(data), data.get("task_token")

    def close_review(self, review_id: str, status: ReviewStatus, fields: Mapping[str, Any],
                     expect: ReviewStatus = ReviewStatus.OPEN, keep_token: bool = False) -> Review:
        """OPEN -> DECIDED/EXPIRED (conditional on ``expect``); leaves the open-reviews index. ``keep_token``:
        the wait's task token stays (until ``forget_review_token``, once the workflow has been resumed)."""
        names = {"#st": "status", **{f"#f{i}": k for i, k in enumerate(fields)}}
        values = {":st": {"S": status.value}, ":open": {"S": expect.value},
                  **{f":f{i}": to_attr(v) for i, v in enumerate(fields.values())}}
        sets = ["#st = :st", *(f"#f{i} = :f{i}" for i in range(len(fields)))]
        try:
            resp = self.client.update_item(
                TableName=self.table, Key=self._rkey(review_id),
                UpdateExpression="SET " + ", ".join(sets) + " REMOVE gsi1pk, gsi1sk"
                                 + ("" if keep_token else ", task_token"),
                ConditionExpression="attribute_exists(pk) AND #st = :open",
                ExpressionAttributeNames=names, ExpressionAttributeValues=values, ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                raise ReviewClosed(review_id=review_id) from exc
            raise
        return Review.model_validate(from_item(resp["Attributes"]))

    def forget_review_token(self, review_id: str, token: str) -> None:
        """Remove the review's task token if it is still ``token`` (the workflow has been resumed with it)."""
        try:
            self.client.update_item(
                TableName=self.table, Key=self._rkey(review_id), UpdateExpression="REMOVE task_token",
                ConditionExpression="task_token = :t", ExpressionAttributeValues={":t": {"S": token}})
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise

    def list_open_reviews(self, limit: int, cursor: str | None) -> tuple[list[Review], str | None]:
        kwargs: dict[str, Any] = {
            "TableName": self.table, "IndexName": "gsi1", "KeyConditionExpression": "gsi1pk = :open",
            "ExpressionAttributeValues": {":open": {"S": OPEN_REVIEWS}}, "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = _decode_cursor(cursor)
        resp = self.client.query(**kwargs)
        reviews = [Review.model_validate(from_item(i)) for i in resp.get("Items", [])]
        last = resp.get("LastEvaluatedKey")
        return reviews, _encode_cursor(last) if last else None


def _encode_cursor(key: Mapping[str, Any]) -> str:
    plain = {k: v["S"] for k, v in key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain, sort_keys=True).encode()).decode()


def _decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(plain, dict) or set(plain) != {"pk", "sk", "gsi1pk", "gsi1sk"} \
                or plain["gsi1pk"] != OPEN_REVIEWS or not all(isinstance(v, str) for v in plain.values()):
            raise ValueError
    except ValueError as exc:
        raise InvalidPageToken() from exc
    return {k: {"S": v} for k, v in plain.items()}
