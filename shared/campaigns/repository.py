"""DynamoDB data access for campaigns: the Campaigns table (``pk``, ``sk``; LSI ``ByAge``; GSI ``Holders``).

Items (the only place these shapes exist), all keyed under the campaign ``C#<cid>``:

``C#<cid>`` / ``META``                     the campaign (configuration, status)
``C#<cid>`` / ``TALLY``                    the draw's split of the pot (put-once)
``C#<cid>#G#<bucket>`` / ``<gid>``        a group holding a group-shared voucher (put with the key-user claim,
                                            bucket = ``bucket_of(gid)``); the draw's freeze adds ``members``, the
                                            group's membership at the draw (once)
``C#<cid>`` / ``PAID#<bucket>``            prizes paid from a holder bucket (``amount``, ``count``), added in each
                                            payment's transfer (reconciliation: pot = prize pot - paid)
``C#<cid>#P#<s>`` / ``#SHARD``             pool shard ``s``: gate ``status``, ``pool`` counts per kind, ``issued``,
                                            ``oldest``: per kind the ``age`` of its oldest pooled voucher (a hint)
``C#<cid>#P#<s>`` / ``K#<kind>#<ts>#<v>``  a pooled voucher (``age`` = ``<ts>#<v>``, also the ``ByAge`` LSI key)
``C#<cid>#U#<user>`` / ``#STATE``          the user's state (rights, day counters, held per kind, ``version``)
``C#<cid>#H#<bucket>`` / ``<user>``        holder registry for the draw, put in the user's first voucher write
                                            (base table, so the draw reads it strongly consistent; no GSI lag)
``C#<cid>#U#<user>`` / ``V#<v>``           a voucher the user holds (HELD) or had consumed (CONSUMED)
``C#<cid>#U#<user>`` / ``PAY#<tx>``        a prize payment to the user
``C#<cid>#I#<interaction>`` / ``#I``       put-once: one claim right per interaction id
``C#<cid>#V#<v>`` / ``<ts>#<action>#..``   the voucher's audit trail (written in the same transaction as the move)
``C#<cid>#S#<bucket>`` / ``<user>#<n>``    a complete set consumed by the draw (put-once)

A voucher is therefore always exactly one item: a ``V#`` item in one user's partition or a ``K#`` item in one
pool shard; every move deletes one and puts the other in one ``TransactWriteItems`` whose conditions are the
invariants. Each conditional item is built as a ``GuardedWrite`` with the error its condition stands for (gate →
``CampaignClosed``, state version → ``StateChanged``, pool entry → ``PoolEntryTaken`` …) and committed by
``shared.writes.transact``, which raises the failing write's own error; nothing reads a position in the list.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.campaigns.errors import CampaignClosed
from shared.campaigns.models import (
    Campaign,
    CampaignStatus,
    DrawSet,
    DrawTally,
    KindWeight,
    Limits,
    Payment,
    PoolEntry,
    PoolShard,
    UserState,
    Voucher,
    VoucherSource,
    VoucherStatus,
)
from shared.campaigns.ports import (
    HoldingChanged,
    PoolEntryExists,
    PoolEntryTaken,
    SetAlreadyRecorded,
    StateChanged,
    VoucherIdTaken,
)
from shared.clock import iso
from shared.dynamo import Repository, from_item, is_condition_failure, to_item
from shared.errors import AlreadyExists
from shared.ledger.ports import TransactionAlreadyApplied
from shared.outbox import OutboxEvent, outbox_write, outbox_writes
from shared.types import Money
from shared.writes import ConflictingWrite, GuardedWrite, transact

STATE_SK = "#STATE"
SHARD_SK = "#SHARD"
DUE_PK = "DRAWS_DUE"  # one small partition: campaigns awaiting their draw, by draw time
AGE_INDEX = "ByAge"


def _c(cid: str) -> str:
    return f"C#{cid}"


def _user_pk(cid: str, user: str) -> str:
    return f"C#{cid}#U#{user}"


def _shard_pk(cid: str, shard: int) -> str:
    return f"C#{cid}#P#{shard}"


def _group_pk(cid: str, bucket: int) -> str:
    return f"C#{cid}#G#{bucket}"


def _pool_sk(entry: PoolEntry) -> str:
    return f"K#{entry.kind}#{entry.age}"


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


class _InteractionRecorded(Exception):
    """The interaction id was recorded before (its put-once failed): nothing to grant."""


class _StatusNotAllowed(Exception):
    """The campaign's status is not one the transition starts from (``set_status`` answers False)."""


class _TallyRecorded(Exception):
    """The draw's tally was recorded before (``save_tally`` returns the stored one)."""


def _campaign(d: dict[str, Any]) -> Campaign:
    return Campaign(
        campaign_id=d["campaign_id"], name=d["name"],
        kinds=tuple(KindWeight(kind=k["kind"], weight=int(k["weight"])) for k in d["kinds"]),
        prize_pot=Money(amount=int(d["pot_amount"]), currency=d["currency"]), account_id=d["account_id"],
        draw_at=datetime.fromisoformat(d["draw_at"]), interaction_types=frozenset(d["interaction_types"]),
        limits=Limits(**d["limits"]), status=CampaignStatus(d["status"]), pool_shards=int(d["pool_shards"]),
        holder_buckets=int(d["holder_buckets"]), created_by=d["created_by"],
        created_at=datetime.fromisoformat(d["created_at"]),
    )


def _shard(d: dict[str, Any]) -> PoolShard:
    return PoolShard(shard=int(d["shard"]), status=CampaignStatus(d["status"]),
                     counts={k: int(v) for k, v in (d.get("pool") or {}).items()}, issued=int(d.get("issued", 0)),
                     oldest={k: str(v) for k, v in (d.get("oldest") or {}).items()})


def _state(d: dict[str, Any]) -> UserState:
    return UserState(
        user_id=d["user_id"], version=int(d.get("version", 0)), rights_granted=int(d.get("rights_granted", 0)),
        rights_used=int(d.get("rights_used", 0)), day=d.get("day", ""), claims_today=int(d.get("claims_today", 0)),
        passes_today=int(d.get("passes_today", 0)), held={k: int(v) for k, v in (d.get("held") or {}).items()},
        key_user_claimed=bool(d.get("key_user_claimed", False)), sets=int(d.get("sets", 0)),
        last_claim_request=str(d.get("last_claim_request", "")),
        last_claim_voucher=str(d.get("last_claim_voucher", "")),
        last_pass_request=str(d.get("last_pass_request", "")),
        last_pass_voucher=str(d.get("last_pass_voucher", "")),
    )


def _voucher(d: dict[str, Any]) -> Voucher:
    return Voucher(
        voucher_id=d["voucher_id"], campaign_id=d["campaign_id"], kind=d["kind"], status=VoucherStatus(d["status"]),
        source=VoucherSource(d["source"]), holder=d["holder"], obtained_at=datetime.fromisoformat(d["obtained_at"]),
        donor=d.get("donor"), group_id=d.get("group_id"),
    )


def _entry(d: dict[str, Any], shard: int) -> PoolEntry:
    return PoolEntry(voucher_id=d["voucher_id"], kind=d["kind"], shard=shard, donor=d["donor"],
                     pooled_at=datetime.fromisoformat(d["pooled_at"]), group_id=d.get("group_id"))


class DynamoCampaignStore(Repository):
    """``CampaignStore`` on the Campaigns table."""

    def __init__(self, table: str, client: Any = None) -> None:
        super().__init__(client)
        self.table = table

    # --- campaign -------------------------------------------------------------
    def create_campaign(self, campaign: Campaign, events: Sequence[OutboxEvent] = ()) -> None:
        cid = campaign.campaign_id
        meta = to_item({
            "pk": _c(cid), "sk": "META", "entity": "CAMPAIGN", "campaign_id": cid, "name": campaign.name,
            "kinds": [{"kind": k.kind, "weight": k.weight} for k in campaign.kinds],
            "pot_amount": campaign.prize_pot.amount, "currency": campaign.prize_pot.currency,
            "account_id": campaign.account_id, "draw_at": iso(campaign.draw_at),
            "interaction_types": sorted(campaign.interaction_types),
            "limits": campaign.limits.model_dump(exclude_none=True), "status": campaign.status.value,
            "pool_shards": campaign.pool_shards, "holder_buckets": campaign.holder_buckets,
            "created_by": campaign.created_by, "created_at": iso(campaign.created_at),
        })
        put_meta = GuardedWrite.failing_with(
            {"Put": {"TableName": self.table, "Item": meta, "ConditionExpression": "attribute_not_exists(pk)"}},
            lambda: AlreadyExists(campaign_id=cid))
        transact(self.client, [put_meta, *outbox_writes(self.table, events)])
        self.client.put_item(TableName=self.table, Item=to_item({
            "pk": DUE_PK, "sk": f"{iso(campaign.draw_at)}#{cid}", "entity": "DRAW_DUE", "campaign_id": cid}))
        # Shards are created after META (idempotent puts): a campaign without all its shards is closed, not open.
        zero = {k: 0 for k in campaign.kind_names}
        for s in range(campaign.pool_shards):
            self.client.put_item(TableName=self.table, Item=to_item({
                "pk": _shard_pk(cid, s), "sk": SHARD_SK, "entity": "POOL_SHARD", "shard": s,
                "status": CampaignStatus.OPEN.value, "pool": zero, "issued": 0, "oldest": {}}),
                ConditionExpression="attribute_not_exists(pk)")

    def get_campaign(self, campaign_id: str) -> Campaign | None:
        resp = self.client.get_item(TableName=self.table, Key=_key(_c(campaign_id), "META"), ConsistentRead=True)
        item = resp.get("Item")
        return _campaign(from_item(item)) if item else None

    def due_campaigns(self, now: datetime) -> list[tuple[str, str]]:
        resp = self.client.query(TableName=self.table, KeyConditionExpression="pk = :pk AND sk <= :now",
                                 ExpressionAttributeValues={":pk": {"S": DUE_PK}, ":now": {"S": iso(now) + "~"}},
                                 ConsistentRead=True)
        return [(str(d["campaign_id"]), str(d["sk"])) for d in (from_item(i) for i in resp.get("Items", []))]

    def unlist_due(self, index_key: str) -> None:
        self.client.delete_item(TableName=self.table, Key=_key(DUE_PK, index_key))

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
        while request:
            resp = self.client.batch_get_item(RequestItems=request)
            out += [from_item(i) for i in resp.get("Responses", {}).get(self.table, [])]
            request = resp.get("UnprocessedKeys") or {}
        return out

    def get_shards(self, campaign: Campaign) -> list[PoolShard]:
        keys = [_key(_shard_pk(campaign.campaign_id, s), SHARD_SK) for s in range(campaign.pool_shards)]
        return sorted((_shard(d) for d in self._batch_get(keys)), key=lambda s: s.shard)

    def set_status(self, campaign: Campaign, to: str, allowed_from: Iterable[str],
                   events: Sequence[OutboxEvent] = ()) -> bool:
        allowed = list(allowed_from)
        values = {f":s{i}": {"S": s} for i, s in enumerate(allowed)}
        update = GuardedWrite.failing_with({"Update": {
            "TableName": self.table, "Key": _key(_c(campaign.campaign_id), "META"),
            "UpdateExpression": "SET #st = :to",
            "ConditionExpression": f"attribute_exists(pk) AND #st IN ({', '.join(values)})",
            "ExpressionAttributeNames": {"#st": "status"},
            "ExpressionAttributeValues": {":to": {"S": to}, **values},
        }}, lambda: _StatusNotAllowed(to))
        try:
            transact(self.client, [update, *outbox_writes(self.table, events)])
        except _StatusNotAllowed:
            return False
        return True

    def freeze_shards(self, campaign: Campaign) -> None:
        for s in range(campaign.pool_shards):
            self.client.update_item(
                TableName=self.table, Key=_key(_shard_pk(campaign.campaign_id, s), SHARD_SK),
                UpdateExpression="SET #st = :drawing", ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={":drawing": {"S": CampaignStatus.DRAWING.value}},
            )

    # --- user operations ------------------------------------------------------
    def record_interaction(self, campaign_id: str, user_id: str, interaction_id: str, interaction_type: str,
                           at: datetime, events: Sequence[OutboxEvent] = ()) -> bool:
        record = to_item({"pk": f"C#{campaign_id}#I#{interaction_id}", "sk": "#I", "entity": "INTERACTION",
                          "user_id": user_id, "interaction_type": interaction_type, "recorded_at": iso(at)})
        put_once = GuardedWrite.failing_with(
            {"Put": {"TableName": self.table, "Item": record, "ConditionExpression": "attribute_not_exists(pk)"}},
            lambda: _InteractionRecorded(interaction_id))
        grant = {"Update": {
            "TableName": self.table, "Key": _key(_user_pk(campaign_id, user_id), STATE_SK),
            "UpdateExpression": "ADD rights_granted :one SET user_id = :u, entity = :e",
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":u": {"S": user_id}, ":e": {"S": "USER_STATE"}},
        }}
        try:
            transact(self.client, [put_once, *outbox_writes(self.table, events)], before=[grant])
        except _InteractionRecorded:
            return False
        return True

    def read_for_user(self, campaign: Campaign, user_id: str, shards: Iterable[int],
                      voucher_id: str | None = None) -> tuple[UserState | None, list[PoolShard], Voucher | None]:
        cid = campaign.campaign_id
        keys = [_key(_user_pk(cid, user_id), STATE_SK)] + [_key(_shard_pk(cid, s), SHARD_SK) for s in shards]
        if voucher_id:
            keys.append(_key(_user_pk(cid, user_id), f"V#{voucher_id}"))
        state, pool, voucher = None, [], None
        for d in self._batch_get(keys):
            if d["sk"] == STATE_SK:
                state = _state(d)
            elif d["sk"] == SHARD_SK:
                pool.append(_shard(d))
            else:
                voucher = _voucher(d)
        return state, sorted(pool, key=lambda s: s.shard), voucher

    def pool_candidates(self, campaign: Campaign, shard: int, kind: str, limit: int) -> list[PoolEntry]:
        resp = self.client.query(TableName=self.table, KeyConditionExpression="pk = :pk AND begins_with(sk, :k)",
                                 ExpressionAttributeValues={":pk": {"S": _shard_pk(campaign.campaign_id, shard)},
                                                            ":k": {"S": f"K#{kind}#"}},
                                 Limit=limit, ConsistentRead=True)
        return [_entry(from_item(i), shard) for i in resp.get("Items", [])]

    # --- guarded writes (each with the error its condition stands for) -----------------------------------------
    def _state_write(self, cid: str, before: UserState, after: UserState) -> GuardedWrite:
        cond = "attribute_not_exists(version)" if before.version == 0 else "version = :v"
        values: dict[str, Any] = {
            ":nv": {"N": str(after.version)}, ":ru": {"N": str(after.rights_used)}, ":day": {"S": after.day},
            ":ct": {"N": str(after.claims_today)}, ":pt": {"N": str(after.passes_today)},
            ":held": to_item({"h": after.held})["h"] if after.held else {"M": {}},
            ":ku": {"BOOL": after.key_user_claimed}, ":zero": {"N": "0"}, ":u": {"S": after.user_id},
            ":e": {"S": "USER_STATE"}, ":sets": {"N": str(after.sets)},
            ":lcr": {"S": after.last_claim_request}, ":lcv": {"S": after.last_claim_voucher},
            ":lpr": {"S": after.last_pass_request}, ":lpv": {"S": after.last_pass_voucher},
        }
        if before.version:
            values[":v"] = {"N": str(before.version)}
        update = {"Update": {
            "TableName": self.table, "Key": _key(_user_pk(cid, after.user_id), STATE_SK),
            "UpdateExpression": "SET version = :nv, rights_used = :ru, #day = :day, claims_today = :ct,"
                                " passes_today = :pt, held = :held, key_user_claimed = :ku, #sets = :sets,"
                                " rights_granted = if_not_exists(rights_granted, :zero), user_id = :u,"
                                " entity = :e, last_claim_request = :lcr, last_claim_voucher = :lcv,"
                                " last_pass_request = :lpr, last_pass_voucher = :lpv",
            "ConditionExpression": cond, "ExpressionAttributeNames": {"#day": "day", "#sets": "sets"},
            "ExpressionAttributeValues": values,
        }}
        return GuardedWrite.failing_with(update, lambda: StateChanged(after.user_id, before.version))

    def _gate_write(self, cid: str, shard: int, expression: str, values: dict[str, Any],
                    names: dict[str, str]) -> GuardedWrite:
        update = {"Update": {
            "TableName": self.table, "Key": _key(_shard_pk(cid, shard), SHARD_SK), "UpdateExpression": expression,
            "ConditionExpression": "#st = :open", "ExpressionAttributeNames": {"#st": "status", **names},
            "ExpressionAttributeValues": {":open": {"S": CampaignStatus.OPEN.value}, **values},
        }}
        return GuardedWrite.failing_with(update, lambda: CampaignClosed(campaign_id=cid))

    def _take_write(self, cid: str, entry: PoolEntry) -> GuardedWrite:
        delete = {"Delete": {"TableName": self.table, "Key": _key(_shard_pk(cid, entry.shard), _pool_sk(entry)),
                             "ConditionExpression": "attribute_exists(pk)"}}
        return GuardedWrite.failing_with(delete, lambda: PoolEntryTaken(entry.voucher_id))

    def _hold_write(self, voucher: Voucher) -> GuardedWrite:
        put = {"Put": {"TableName": self.table, "Item": self._holding(voucher),
                       "ConditionExpression": "attribute_not_exists(pk)"}}
        return GuardedWrite.failing_with(put, lambda: VoucherIdTaken(voucher.voucher_id))

    def _release_write(self, cid: str, voucher: Voucher) -> GuardedWrite:
        delete = {"Delete": {"TableName": self.table, "Key": _key(_user_pk(cid, voucher.holder),
                                                                  f"V#{voucher.voucher_id}"),
                             "ConditionExpression": "#st = :held", "ExpressionAttributeNames": {"#st": "status"},
                             "ExpressionAttributeValues": {":held": {"S": VoucherStatus.HELD.value}}}}
        return GuardedWrite.failing_with(delete, lambda: HoldingChanged(voucher.voucher_id))

    def _pool_write(self, cid: str, entry: PoolEntry) -> GuardedWrite:
        put = {"Put": {"TableName": self.table, "ConditionExpression": "attribute_not_exists(pk)", "Item": to_item({
            "pk": _shard_pk(cid, entry.shard), "sk": _pool_sk(entry), "age": entry.age, "entity": "POOL_ENTRY",
            "voucher_id": entry.voucher_id, "kind": entry.kind, "donor": entry.donor,
            "pooled_at": iso(entry.pooled_at), "group_id": entry.group_id})}}
        return GuardedWrite.failing_with(put, lambda: PoolEntryExists(entry.voucher_id))

    def _consume_write(self, cid: str, user_id: str, voucher_id: str, set_id: str) -> GuardedWrite:
        update = {"Update": {
            "TableName": self.table, "Key": _key(_user_pk(cid, user_id), f"V#{voucher_id}"),
            "UpdateExpression": "SET #st = :consumed, set_id = :set",
            "ConditionExpression": "#st = :held", "ExpressionAttributeNames": {"#st": "status"},
            "ExpressionAttributeValues": {":consumed": {"S": VoucherStatus.CONSUMED.value},
                                          ":held": {"S": VoucherStatus.HELD.value}, ":set": {"S": set_id}},
        }}
        return GuardedWrite.failing_with(update, lambda: HoldingChanged(voucher_id))

    def _set_write(self, campaign: Campaign, drawset: DrawSet, at: datetime) -> GuardedWrite:
        put = {"Put": {"TableName": self.table, "ConditionExpression": "attribute_not_exists(pk)", "Item": to_item({
            "pk": f"C#{campaign.campaign_id}#S#{campaign.bucket_of(drawset.user_id)}",
            "sk": drawset.set_id.split("#", 1)[1], "entity": "DRAW_SET", "set_id": drawset.set_id,
            "user_id": drawset.user_id, "consumed_at": iso(at), "voucher_ids": list(drawset.voucher_ids),
            "group_id": drawset.group_id})}}
        return GuardedWrite.failing_with(put, lambda: SetAlreadyRecorded(drawset.set_id))

    def _audit(self, cid: str, voucher_id: str, action: str, at: datetime, **fields: Any) -> dict[str, Any]:
        item = to_item({"pk": f"C#{cid}#V#{voucher_id}", "sk": f"{iso(at)}#{action}#{uuid.uuid4().hex[:8]}",
                        "entity": "VOUCHER_AUDIT", "action": action, "voucher_id": voucher_id, "at": iso(at),
                        **fields})
        return {"Put": {"TableName": self.table, "Item": item}}

    def _holding(self, v: Voucher) -> dict[str, Any]:
        return to_item({
            "pk": _user_pk(v.campaign_id, v.holder), "sk": f"V#{v.voucher_id}", "entity": "VOUCHER",
            "voucher_id": v.voucher_id, "campaign_id": v.campaign_id, "kind": v.kind, "status": v.status.value,
            "source": v.source.value, "holder": v.holder, "obtained_at": iso(v.obtained_at), "donor": v.donor,
            "group_id": v.group_id,
        })

    def commit_claim(self, campaign: Campaign, before: UserState, after: UserState, voucher: Voucher,
                     gate_shard: int, taken: PoolEntry | None, next_oldest: str | None = None,
                     writes: Sequence[GuardedWrite] = (), events: Sequence[OutboxEvent] = ()) -> None:
        cid = campaign.campaign_id
        if taken is not None:
            names = {"#pool": "pool", "#k": taken.kind, "#old": "oldest"}
            if next_oldest is None:
                gate = self._gate_write(cid, gate_shard, "SET #pool.#k = #pool.#k - :one REMOVE #old.#k",
                                        {":one": {"N": "1"}}, names)
            else:
                gate = self._gate_write(cid, gate_shard, "SET #pool.#k = #pool.#k - :one, #old.#k = :next",
                                        {":one": {"N": "1"}, ":next": {"S": next_oldest}}, names)
        else:
            gate = self._gate_write(cid, gate_shard, "SET issued = issued + :one", {":one": {"N": "1"}}, {})
        guarded = [gate, self._state_write(cid, before, after)]
        if taken is not None:
            guarded.append(self._take_write(cid, taken))
        guarded.append(self._hold_write(voucher))
        action = "FROM_POOL" if taken is not None else voucher.source.value
        plain = [self._audit(cid, voucher.voucher_id, action, voucher.obtained_at, to=voucher.holder,
                             donor=voucher.donor, kind=voucher.kind, group_id=voucher.group_id)]
        if before.version == 0:  # the user's first voucher: register them as a holder for the draw
            plain.append({"Put": {"TableName": self.table, "Item": to_item({
                "pk": f"C#{cid}#H#{campaign.bucket_of(after.user_id)}", "sk": after.user_id,
                "entity": "HOLDER", "user_id": after.user_id})}})
        if voucher.group_id:  # a group-shared voucher: its group is snapshotted when the draw freezes
            plain.append({"Put": {"TableName": self.table, "Item": to_item({
                "pk": _group_pk(cid, campaign.bucket_of(voucher.group_id)), "sk": voucher.group_id,
                "entity": "SHARED_GROUP", "group_id": voucher.group_id, "voucher_id": voucher.voucher_id})}})
        transact(self.client, [*guarded, *writes, *outbox_writes(self.table, events)], before=plain)

    def commit_pass(self, campaign: Campaign, before: UserState, after: UserState, voucher: Voucher,
                    entry: PoolEntry, events: Sequence[OutboxEvent] = ()) -> None:
        cid = campaign.campaign_id
        gate = self._gate_write(cid, entry.shard,
                                "SET #pool.#k = #pool.#k + :one, #old.#k = if_not_exists(#old.#k, :age)",
                                {":one": {"N": "1"}, ":age": {"S": entry.age}},
                                {"#pool": "pool", "#k": entry.kind, "#old": "oldest"})
        audit = self._audit(cid, voucher.voucher_id, "PASSED", entry.pooled_at, donor=entry.donor, kind=entry.kind,
                            shard=entry.shard)
        transact(self.client, [gate, self._state_write(cid, before, after), self._release_write(cid, voucher),
                               self._pool_write(cid, entry), *outbox_writes(self.table, events)], before=[audit])

    def list_vouchers(self, campaign_id: str, user_id: str) -> list[Voucher]:
        return [_voucher(d) for d in self._query(_user_pk(campaign_id, user_id), "V#")]

    def voucher_history(self, campaign_id: str, voucher_id: str) -> list[dict[str, Any]]:
        return self._query(f"C#{campaign_id}#V#{voucher_id}", None)

    def _query(self, pk: str, prefix: str | None) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"TableName": self.table}
        if prefix:
            kwargs.update(KeyConditionExpression="pk = :pk AND begins_with(sk, :p)", ConsistentRead=True,
                          ExpressionAttributeValues={":pk": {"S": pk}, ":p": {"S": prefix}})
        else:
            kwargs.update(KeyConditionExpression="pk = :pk", ConsistentRead=True,
                          ExpressionAttributeValues={":pk": {"S": pk}})
        out: list[dict[str, Any]] = []
        while True:
            resp = self.client.query(**kwargs)
            out += [from_item(i) for i in resp.get("Items", [])]
            if not resp.get("LastEvaluatedKey"):
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    # --- draw -----------------------------------------------------------------
    def holders(self, campaign: Campaign, bucket: int) -> list[UserState]:
        """Every holder registered in the bucket, with their state: one consistent query, then consistent
        batch reads of 100 states."""
        cid = campaign.campaign_id
        users = [str(d["user_id"]) for d in self._query(f"C#{cid}#H#{bucket}", None)]
        states: list[UserState] = []
        for i in range(0, len(users), 100):
            keys = [_key(_user_pk(cid, u), STATE_SK) for u in users[i:i + 100]]
            states += [_state(d) for d in self._batch_get(keys)]
        return sorted(states, key=lambda s: s.user_id)

    def held_vouchers(self, campaign: Campaign, user_id: str) -> list[Voucher]:
        return [v for v in self.list_vouchers(campaign.campaign_id, user_id) if v.status is VoucherStatus.HELD]

    def commit_set(self, campaign: Campaign, before: UserState, after: UserState, drawset: DrawSet,
                   at: datetime) -> None:
        cid = campaign.campaign_id
        transact(self.client, [self._state_write(cid, before, after),
                               *(self._consume_write(cid, before.user_id, v, drawset.set_id)
                                 for v in drawset.voucher_ids),
                               self._set_write(campaign, drawset, at)])

    def list_sets(self, campaign: Campaign, bucket: int, user_id: str | None = None) -> list[DrawSet]:
        rows = self._query(f"C#{campaign.campaign_id}#S#{bucket}", f"{user_id}#" if user_id else None)
        return [DrawSet(set_id=d["set_id"], campaign_id=campaign.campaign_id, user_id=d["user_id"],
                        voucher_ids=tuple(d["voucher_ids"]), group_id=d.get("group_id")) for d in rows]

    def count_sets(self, campaign: Campaign, bucket: int) -> int:
        kwargs: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": "pk = :pk", "Select": "COUNT",
                                  "ConsistentRead": True,
                                  "ExpressionAttributeValues": {":pk": {"S": f"C#{campaign.campaign_id}#S#{bucket}"}}}
        total = 0
        while True:
            resp = self.client.query(**kwargs)
            total += int(resp.get("Count", 0))
            if not resp.get("LastEvaluatedKey"):
                return total
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def save_tally(self, campaign: Campaign, tally: DrawTally, events: Sequence[OutboxEvent] = ()) -> DrawTally:
        item = to_item({"pk": _c(campaign.campaign_id), "sk": "TALLY", "entity": "DRAW_TALLY", **tally.model_dump()})
        put = GuardedWrite.failing_with(
            {"Put": {"TableName": self.table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}},
            lambda: _TallyRecorded(campaign.campaign_id))
        try:
            transact(self.client, [put, *outbox_writes(self.table, events)])
        except _TallyRecorded:
            stored = self.get_tally(campaign.campaign_id)
            if stored is not None:
                return stored
            raise
        return tally

    def get_tally(self, campaign_id: str) -> DrawTally | None:
        resp = self.client.get_item(TableName=self.table, Key=_key(_c(campaign_id), "TALLY"), ConsistentRead=True)
        item = resp.get("Item")
        return DrawTally(**{k: from_item(item)[k] for k in DrawTally.model_fields}) if item else None

    def group_registry(self, campaign: Campaign, bucket: int) -> list[str]:
        return [str(d["group_id"]) for d in self._query(_group_pk(campaign.campaign_id, bucket), None)]

    def save_group_snapshot(self, campaign: Campaign, group_id: str, members: list[str]) -> list[str]:
        key = _key(_group_pk(campaign.campaign_id, campaign.bucket_of(group_id)), group_id)
        try:
            self.client.update_item(
                TableName=self.table, Key=key, ConditionExpression="attribute_not_exists(members)",
                UpdateExpression="SET members = :m, group_id = :g, entity = if_not_exists(entity, :e)",
                ExpressionAttributeValues={":m": {"L": [{"S": m} for m in sorted(members)]},
                                           ":g": {"S": group_id}, ":e": {"S": "SHARED_GROUP"}})
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            stored = self.get_group_snapshot(campaign, group_id)
            return stored if stored is not None else sorted(members)
        return sorted(members)

    def get_group_snapshot(self, campaign: Campaign, group_id: str) -> list[str] | None:
        key = _key(_group_pk(campaign.campaign_id, campaign.bucket_of(group_id)), group_id)
        item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        if not item:
            return None
        members = from_item(item).get("members")
        return [str(m) for m in members] if members is not None else None

    def payment_writes(self, campaign: Campaign, bucket: int, payment: Payment,
                       events: Sequence[OutboxEvent] = ()) -> list[GuardedWrite]:
        # Unconditional: they commit only with the transfer, whose put-once transaction record fails a replay.
        cid = campaign.campaign_id
        record = {"Put": {"TableName": self.table, "Item": to_item({
            "pk": _user_pk(cid, payment.payee), "sk": f"PAY#{payment.transaction_id}", "entity": "PAYMENT",
            "transaction_id": payment.transaction_id, "set_id": payment.set_id, "payee": payment.payee,
            "amount": payment.amount.amount, "currency": payment.amount.currency, "group_id": payment.group_id})}}
        paid = {"Update": {
            "TableName": self.table, "Key": _key(_c(cid), f"PAID#{bucket}"),
            "UpdateExpression": "SET entity = :e ADD #a :amt, #n :one",
            "ExpressionAttributeNames": {"#a": "amount", "#n": "count"},
            "ExpressionAttributeValues": {":e": {"S": "PAID"}, ":amt": {"N": str(payment.amount.amount)},
                                          ":one": {"N": "1"}}}}

        def never() -> Exception:  # neither write has a condition
            return ConflictingWrite("payment record")

        # The events are put once like the transfer's record: a replayed transfer is what a duplicate means.
        outbox = [outbox_write(self.table, e, lambda: TransactionAlreadyApplied(payment.transaction_id))
                  for e in events]
        return [GuardedWrite.failing_with(record, never), GuardedWrite.failing_with(paid, never), *outbox]

    def paid_total(self, campaign: Campaign) -> int:
        return sum(int(d.get("amount", 0)) for d in self._query(_c(campaign.campaign_id), "PAID#"))

    def list_payments(self, campaign_id: str, user_id: str) -> list[Payment]:
        return [Payment(transaction_id=d["transaction_id"], set_id=d["set_id"], payee=d["payee"],
                        amount=Money(amount=d["amount"], currency=d["currency"]), group_id=d.get("group_id"))
                for d in self._query(_user_pk(campaign_id, user_id), "PAY#")]
