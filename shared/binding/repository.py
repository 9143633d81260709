"""DynamoDB data access of bank binding: the Bindings table and the Partners table.

Bindings table (``pk``; sparse index ``ByOwner`` on ``gsi1pk``/``gsi1sk``)
    ``REQUEST#<id>``                         a binding request and its saga's progress (``version``-checked)
    ``INFLIGHT#<partner>#<ref>#<card fp>``   put-once while a request for that customer and card is open
    ``CARD#<partner>#<card fp>``             put-once: the card is bound (deleted by an unbind or compensation)
    ``BINDING#<id>``                         a binding (``gsi1pk = OWNER#<sub>``: the user's bindings)
    ``IDENTITY#<sub>``                       the bank-provided (unverified) identity recorded for a user
    ``USER#<e164>``                          the local user directory (``TableUserDirectory``; not on AWS)
    ``OUTBOX#<event id>``                    the capability's events (requests, bindings and partners), each put in
                                             its change's transaction; the stream publishes them (TTL
                                             ``outbox_expires_at``: ``shared/outbox.py``)

Partners table (``pk``)
    ``PARTNER#<id>``                         the partner with its encrypted signing keys (``version``-checked)
    ``NONCE#<partner>#<nonce>``              put-once unless expired (``expires_at`` in the condition; TTL only
                                             garbage-collects)
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.binding.errors import (
    AlreadyBound,
    BindingNotAwaitingBank,
    BindingNotFound,
    NonceReplayed,
    PartnerChanged,
)
from shared.binding.models import Binding, BindingRequest, BindingStatus, CustomerIdentity, Partner
from shared.dynamo import Repository, from_item, is_condition_failure, to_item
from shared.errors import AlreadyExists
from shared.outbox import OutboxEvent, outbox_writes
from shared.writes import GuardedWrite, transact

OUTBOX_TTL = "outbox_expires_at"  # a binding request's own times are not TTLs: only outbox items expire


class _InFlight(Exception):
    def __init__(self, request_id: str | None) -> None:
        super().__init__(request_id)
        self.request_id = request_id


def _plain(model: Any) -> dict[str, Any]:
    return dict(model.model_dump(mode="json"))


class DynamoBindingStore(Repository):
    def __init__(self, table: str, client: Any = None) -> None:
        super().__init__(client)
        self.table = table

    # --- helpers ----------------------------------------------------------------
    def _get(self, pk: str) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self.table, Key={"pk": {"S": pk}}, ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def _put(self, item: Mapping[str, Any], condition: str | None = None,
             values: Mapping[str, Any] | None = None, names: Mapping[str, str] | None = None) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self.table, "Item": to_item(item)}
        if condition:
            put["ConditionExpression"] = condition
        if values:
            put["ExpressionAttributeValues"] = {k: to_item({"v": v})["v"] for k, v in values.items()}
        if names:
            put["ExpressionAttributeNames"] = dict(names)
        return {"Put": put}

    # --- requests ---------------------------------------------------------------
    def get_request(self, request_id: str) -> BindingRequest | None:
        data = self._get(f"REQUEST#{request_id}")
        return BindingRequest.model_validate(data) if data else None

    def _outbox(self, events: Sequence[OutboxEvent]) -> list[GuardedWrite]:
        return outbox_writes(self.table, events, OUTBOX_TTL)

    def create_request(self, request: BindingRequest, events: Sequence[OutboxEvent] = ()) -> BindingRequest:
        item = {"pk": f"REQUEST#{request.binding_request_id}", "entity": "REQUEST", **_plain(request)}
        marker = {"pk": request.inflight_key, "entity": "INFLIGHT", "request_id": request.binding_request_id}
        inflight = self._put(marker, "attribute_not_exists(pk)")
        inflight["Put"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        taken = AlreadyExists("The binding request id already exists.")
        try:
            transact(self.client, [
                GuardedWrite.failing_with(self._put(item, "attribute_not_exists(pk)"), lambda: taken),
                GuardedWrite(inflight, lambda old: _InFlight(str((old or {}).get("request_id") or "") or None)),
                *self._outbox(events),
            ])
        except _InFlight as exc:
            existing = self.get_request(exc.request_id) if exc.request_id else None
            if existing is None:
                raise AlreadyExists("A binding request for this customer and card is being created.") from exc
            return existing
        return request

    def update_request(self, request: BindingRequest, expected: Sequence[str],
                       writes: Sequence[GuardedWrite] = (), release_inflight: bool = False,
                       events: Sequence[OutboxEvent] = ()) -> None:
        """Replace the request (its ``version`` + 1 is the caller's job) if the stored one has ``version - 1`` and a
        status in ``expected``, with ``writes`` and the outbox items of ``events`` in the same transaction."""
        statuses = {f":s{i}": s for i, s in enumerate(expected)}
        item = {"pk": f"REQUEST#{request.binding_request_id}", "entity": "REQUEST", **_plain(request)}
        put = self._put(item, f"version = :v AND #st IN ({', '.join(statuses)})",
                        {":v": request.version - 1, **statuses}, {"#st": "status"})
        stale = BindingNotAwaitingBank(status_expected=list(expected))
        ops = [GuardedWrite.failing_with(put, lambda: stale), *writes]
        if release_inflight:
            delete = {"Delete": {"TableName": self.table, "Key": {"pk": {"S": request.inflight_key}},
                                 "ConditionExpression": "attribute_not_exists(pk) OR request_id = :id",
                                 "ExpressionAttributeValues": {":id": {"S": request.binding_request_id}}}}
            ops.append(GuardedWrite.failing_with(delete, lambda: stale))
        transact(self.client, [*ops, *self._outbox(events)])

    def mark_callback_delivered(self, request_id: str) -> None:
        self.client.update_item(TableName=self.table, Key={"pk": {"S": f"REQUEST#{request_id}"}},
                                UpdateExpression="SET callback_delivered = :yes",
                                ConditionExpression="attribute_exists(pk)",
                                ExpressionAttributeValues={":yes": {"BOOL": True}})

    # --- cards and bindings -----------------------------------------------------
    @staticmethod
    def _card_key(partner_id: str, fingerprint: str) -> str:
        return f"CARD#{partner_id}#{fingerprint}"

    def card_claim(self, partner_id: str, fingerprint: str) -> str | None:
        data = self._get(self._card_key(partner_id, fingerprint))
        return str(data["binding_id"]) if data else None

    def _binding_item(self, binding: Binding) -> dict[str, Any]:
        return {"pk": f"BINDING#{binding.binding_id}", "entity": "BINDING", "gsi1pk": f"OWNER#{binding.owner}",
                "gsi1sk": f"{binding.created_at.isoformat()}#{binding.binding_id}", **_plain(binding)}

    def claim_card_writes(self, binding: Binding) -> list[GuardedWrite]:
        claim = {"pk": self._card_key(binding.partner_id, binding.card_fingerprint), "entity": "CARD",
                 "binding_id": binding.binding_id, "account_id": binding.account_id,
                 "binding_request_id": binding.binding_request_id}
        taken = AlreadyExists("The binding id already exists.")
        return [GuardedWrite.failing_with(self._put(claim, "attribute_not_exists(pk)"), AlreadyBound),
                GuardedWrite.failing_with(self._put(self._binding_item(binding), "attribute_not_exists(pk)"),
                                          lambda: taken)]

    def release_card_writes(self, binding: Binding) -> list[GuardedWrite]:
        delete = {"Delete": {"TableName": self.table,
                             "Key": {"pk": {"S": self._card_key(binding.partner_id, binding.card_fingerprint)}},
                             "ConditionExpression": "attribute_not_exists(pk) OR binding_id = :b",
                             "ExpressionAttributeValues": {":b": {"S": binding.binding_id}}}}
        return [GuardedWrite.failing_with(delete, lambda: BindingNotFound(binding_id=binding.binding_id))]

    def get_binding(self, binding_id: str) -> Binding | None:
        data = self._get(f"BINDING#{binding_id}")
        return Binding.model_validate(data) if data else None

    def binding_write(self, binding: Binding) -> GuardedWrite:
        """Replace the ACTIVE binding (activated, first use cleared), in the transaction of the change that decides
        it; an unbound one is never brought back."""
        put = self._put(self._binding_item(binding), "#st = :active", {":active": BindingStatus.ACTIVE.value},
                        {"#st": "status"})
        return GuardedWrite.failing_with(put, lambda: BindingNotFound(binding_id=binding.binding_id))

    def record_first_use(self, binding: Binding, gate: GuardedWrite, events: Sequence[OutboxEvent]) -> None:
        """The binding's first use verified, the account's gate lifted (``gate``, whose condition fails when it is
        no longer up) and the event, in one transaction."""
        transact(self.client, [gate, self.binding_write(binding), *self._outbox(events)])

    def remove_pending_binding(self, binding: Binding) -> None:
        """Delete the binding of a request that did not complete, with its card claim (compensation)."""
        delete = {"Delete": {"TableName": self.table, "Key": {"pk": {"S": f"BINDING#{binding.binding_id}"}},
                             "ConditionExpression": "attribute_not_exists(pk) OR binding_request_id = :r",
                             "ExpressionAttributeValues": {":r": {"S": binding.binding_request_id}}}}
        gone = BindingNotFound(binding_id=binding.binding_id)
        transact(self.client, [*self.release_card_writes(binding), GuardedWrite.failing_with(delete, lambda: gone)])

    def unbind(self, unbound: Binding, also: Sequence[GuardedWrite] = (), events: Sequence[OutboxEvent] = ()) -> None:
        """Replace the ACTIVE binding with ``unbound`` and release its card; ``also``: writes committed in the same
        transaction (the verification token's consumption)."""
        put = self._put(self._binding_item(unbound), "#st = :active", {":active": BindingStatus.ACTIVE.value},
                        {"#st": "status"})
        gone = BindingNotFound(binding_id=unbound.binding_id)
        transact(self.client, [*also, GuardedWrite.failing_with(put, lambda: gone),
                               *self.release_card_writes(unbound), *self._outbox(events)])

    def list_bindings(self, owner: str) -> list[Binding]:
        items: list[Binding] = []
        kwargs: dict[str, Any] = {"TableName": self.table, "IndexName": "ByOwner",
                                  "KeyConditionExpression": "gsi1pk = :o",
                                  "ExpressionAttributeValues": {":o": {"S": f"OWNER#{owner}"}}}
        while True:
            resp = self.client.query(**kwargs)
            items.extend(Binding.model_validate(from_item(i)) for i in resp.get("Items", []))
            if not resp.get("LastEvaluatedKey"):
                return items
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    # --- identities and the local user directory --------------------------------
    def get_identity(self, owner: str) -> CustomerIdentity | None:
        data = self._get(f"IDENTITY#{owner}")
        return CustomerIdentity.model_validate(data) if data else None

    def put_identity_if_absent(self, identity: CustomerIdentity) -> None:
        try:
            self.client.put_item(TableName=self.table, ConditionExpression="attribute_not_exists(pk)",
                                 Item=to_item({"pk": f"IDENTITY#{identity.owner}", "entity": "IDENTITY",
                                               **_plain(identity)}))
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise

    def local_user(self, phone: str, new_sub: str) -> str:
        """The sub recorded for ``phone``, recording ``new_sub`` if there is none (put-once)."""
        try:
            self.client.put_item(TableName=self.table, ConditionExpression="attribute_not_exists(pk)",
                                 Item=to_item({"pk": f"USER#{phone}", "entity": "USER", "sub": new_sub}))
            return new_sub
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
        data = self._get(f"USER#{phone}")
        assert data is not None
        return str(data["sub"])


class DynamoPartnerStore(Repository):
    """``outbox_table``: where partner events are put (the Bindings table: one stream and publisher for the
    capability), in the same transaction as the partner's change."""

    def __init__(self, table: str, outbox_table: str, client: Any = None) -> None:
        super().__init__(client)
        self.table = table
        self.outbox_table = outbox_table

    def _item(self, partner: Partner) -> dict[str, Any]:
        return to_item({"pk": f"PARTNER#{partner.partner_id}", "entity": "PARTNER", **_plain(partner)})

    def put_new(self, partner: Partner, events: Sequence[OutboxEvent] = ()) -> None:
        put = {"Put": {"TableName": self.table, "Item": self._item(partner),
                       "ConditionExpression": "attribute_not_exists(pk)"}}
        taken = AlreadyExists("The partner id already exists.")
        transact(self.client, [GuardedWrite.failing_with(put, lambda: taken),
                               *outbox_writes(self.outbox_table, events, OUTBOX_TTL)])

    def get(self, partner_id: str) -> Partner | None:
        item = self.client.get_item(TableName=self.table, Key={"pk": {"S": f"PARTNER#{partner_id}"}},
                                    ConsistentRead=True).get("Item")
        return Partner.model_validate(from_item(item)) if item else None

    def replace(self, partner: Partner, expected_version: int, events: Sequence[OutboxEvent] = ()) -> None:
        put = {"Put": {"TableName": self.table, "Item": self._item(partner), "ConditionExpression": "version = :v",
                       "ExpressionAttributeValues": {":v": {"N": str(expected_version)}}}}
        changed = PartnerChanged(partner_id=partner.partner_id)
        transact(self.client, [GuardedWrite.failing_with(put, lambda: changed),
                               *outbox_writes(self.outbox_table, events, OUTBOX_TTL)])

    def use_nonce(self, partner_id: str, nonce: str, now: datetime, expires_at: datetime) -> None:
        """``attempt`` is new for each call: when the SDK retries this put after a timeout that hid its commit, the
        stored nonce carries our own attempt and is not a replay; another request with the nonce never does."""
        attempt = uuid.uuid4().hex
        key = f"NONCE#{partner_id}#{nonce}"
        try:
            self.client.put_item(
                TableName=self.table,
                Item=to_item({"pk": key, "entity": "NONCE", "attempt": attempt,
                              "expires_at": int(expires_at.timestamp()), "ttl": int(expires_at.timestamp()) + 3600}),
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(int(now.timestamp()))}})
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            stored = self.client.get_item(TableName=self.table, Key={"pk": {"S": key}}, ConsistentRead=True)
            if stored.get("Item", {}).get("attempt", {}).get("S") != attempt:
                raise NonceReplayed() from exc
