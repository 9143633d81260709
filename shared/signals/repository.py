"""DynamoDB data access for risk signals: the Signals table (``pk``, ``sk``), one table with typed items.

Items (the only place these shapes exist; times are ISO-8601 UTC strings, ``expires_at`` is the TTL
attribute in epoch seconds and only garbage-collects: every read checks times itself):

Per user, partition ``USER#<sub>``
    ``PROFILE``                     the profile root. ``version`` (N, moved by every list rewrite: sign-ins,
                                    forgetting a device, trusting one); lists rewritten under that version:
                                    ``devices`` (L of M: device_id, first_seen, last_seen, sign_ins, trusted,
                                    trusted_at, os, app_version, emulator, rooted), ``ip_prefixes`` (L of M:
                                    prefix, first_seen, last_seen, count), ``cells`` (L of M: cell, first_seen,
                                    last_seen, count), ``last_location`` (M: cell, lat, lon, at: a geohash-6
                                    centre, never the reported point); ``login_count``, ``last_login_at``.
                                    Counters updated with ``ADD`` by the projector (no version needed):
                                    ``n#<TYPE>#<OUT|IN>`` and ``a#<TYPE>#<OUT|IN>`` (count, amount per
                                    transaction type and direction), ``h#<00-23>`` (entries per local hour),
                                    ``w#<0-6>`` (per local weekday), ``counterparties``, ``net#<NETWORK>``;
                                    ``last_active_at`` (only ever moved forward). ``tag#<TAG>`` (M: by,
                                    reason, at), ``clr#<TAG>`` (M: request, by, reason, at: the last clearing
                                    of the tag and the tag of its request, so a retry of it answers it again),
                                    ``chg#<PHONE|PASSWORD|CARD>`` (time of the last change).
                                    ``verification`` (M, written by §4: attempts, successes, failures,
                                    last_passed_at, last_strong_at, last_at).
                                    ``real_name`` (M: status, verified_at, birth_date, method; written by §5
                                    in its verification transaction).
                                    ``bind#<binding id>`` (M: a §6 binding's fact: partner_id, bank_name,
                                    card_type, account_id, state ACTIVE|UNBOUND, bound_at,
                                    first_use_verified_at, unbound_at; replaced only forwards).
    ``DAY#<yyyy-mm-dd>``            one local day of ledger activity: ``n``, ``spend``, ``spend_n``
                                    (``ADD``); rolling 30/90-day figures sum the days in the window.
    ``ENTRY#<account>#<tx>#<D|C>``  put-once marker of a projected ledger entry, written in the same
                                    transaction as the counters: a redelivered record changes nothing.
    ``CONTACT#<account id>``        put-once: a distinct customer counterparty (``counterparties`` counts
                                    them exactly; never expires).
    ``SESSION#<session id>``        a sign-in: device_id, ip_prefix, cell, network, created_at.
    ``TAGLOG#<at>#<id>``            audit of a watch-list change: tag, action (SET|CLEARED), by, reason, at.

Cross-user indexes (bounded in time: readers ask for a window; items expire after the longest window)
    ``DEVICE#<device id>`` / ``USER#<sub>``   accounts seen on a device (sign-ins and real-name attempts):
                                              first_seen, last_seen
    ``CELL#<geohash-5>`` / ``T#<bucket start>``   sign-in attempts in an area cell per time bucket: ``n``
    ``PREFIX#<ip prefix>`` / ``T#<bucket start>`` sign-in attempts from an IP prefix per time bucket: ``n``
    ``CELL#<geohash-5>#<KIND>``, ``PREFIX#<ip prefix>#<KIND>``   the same for other attempt kinds
                                              (``AttemptKind``: ``REAL_NAME``, §5's sessions)
    ``ATTEMPT#<KIND>#<attempt id>`` / ``ATTEMPT``   put-once marker of a counted attempt (a real-name session's
                                              id), in the same transaction as its counts: a retry counts nothing
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from shared.clock import iso
from shared.dynamo import Repository, from_item, is_condition_failure, to_attr, to_item
from shared.signals.errors import (
    AlreadyProjected,
    ContactAlreadyCounted,
    ProfileChanged,
    SessionAlreadyExists,
    TagNotSet,
)
from shared.signals.fold import RawProfile, type_key
from shared.signals.models import (
    HOURS,
    WEEKDAYS,
    BindingFact,
    BindingState,
    CellSeen,
    DayActivity,
    Device,
    Direction,
    LastLocation,
    LedgerFact,
    Network,
    PrefixSeen,
    RealName,
    SensitiveChange,
    Session,
    SignInFact,
    TagAudit,
    TagRecord,
    TypeActivity,
    VerificationHistory,
    WatchTag,
)
from shared.writes import GuardedWrite, transact

__all__ = ["DynamoSignalsStore"]

PROFILE = "PROFILE"


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def bucket_key(at: datetime) -> str:
    return f"T#{iso(at)}"


class AttemptAlreadyCounted(Exception):
    """The attempt's put-once marker exists: its counts were added by an earlier try."""


class DynamoSignalsStore(Repository):
    def __init__(self, table: str, client: Any = None) -> None:
        super().__init__(client)
        self.table = table

    # --- ledger projection ------------------------------------------------------------------------
    def contact_known(self, user_id: str, counterparty_account_id: str) -> bool:
        key = {"pk": {"S": user_pk(user_id)}, "sk": {"S": f"CONTACT#{counterparty_account_id}"}}
        got = self.client.get_item(TableName=self.table, ProjectionExpression="pk", Key=key)
        return "Item" in got

    def touch_last_active(self, user_id: str, at: datetime) -> None:
        """``last_active_at`` only moves forward (out-of-order or replayed records leave it alone)."""
        try:
            self.client.update_item(
                TableName=self.table, Key={"pk": {"S": user_pk(user_id)}, "sk": {"S": PROFILE}},
                UpdateExpression="SET last_active_at = :t",
                ConditionExpression="attribute_not_exists(last_active_at) OR last_active_at < :t",
                ExpressionAttributeValues={":t": {"S": iso(at)}})
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise

    def project_entry(self, fact: LedgerFact, *, local: datetime, spend: bool, new_contact: bool,
                      expires_after: timedelta) -> bool:
        pk = {"S": user_pk(fact.user_id)}
        d = "OUT" if fact.direction is Direction.OUT else "IN"
        t = type_key(fact.type)
        names = {"#n": f"n#{t}#{d}", "#a": f"a#{t}#{d}", "#h": f"h#{local.hour:02}", "#w": f"w#{local.weekday()}"}
        values: dict[str, Any] = {":one": {"N": "1"}, ":amt": {"N": str(fact.amount)}}
        add = "#n :one, #a :amt, #h :one, #w :one"
        if new_contact:
            add += ", counterparties :one"
        day_add = "n :one" + (", spend :amt, spend_n :one" if spend else "")
        marker = GuardedWrite.failing_with({"Put": {
            "TableName": self.table,
            "Item": to_item({"pk": user_pk(fact.user_id), "sk": f"ENTRY#{fact.entry_key}", "entity": "ENTRY_SEEN",
                             "transaction_id": fact.transaction_id, "at": iso(fact.at),
                             "expires_at": _epoch(fact.at + expires_after)}),
            "ConditionExpression": "attribute_not_exists(pk)"}}, AlreadyProjected)
        writes = [marker]
        if new_contact:
            writes.append(GuardedWrite.failing_with({"Put": {
                "TableName": self.table,
                "Item": to_item({"pk": user_pk(fact.user_id), "sk": f"CONTACT#{fact.counterparty_account_id}",
                                 "entity": "CONTACT", "first_at": iso(fact.at)}),
                "ConditionExpression": "attribute_not_exists(pk)"}}, ContactAlreadyCounted))
        profile = {"Update": {"TableName": self.table, "Key": {"pk": pk, "sk": {"S": PROFILE}},
                              "UpdateExpression": f"ADD {add}", "ExpressionAttributeNames": names,
                              "ExpressionAttributeValues": values}}
        day_values = {":one": values[":one"], ":exp": {"N": str(_epoch(fact.at + timedelta(days=400)))},
                      **({":amt": values[":amt"]} if spend else {})}
        day = {"Update": {"TableName": self.table,
                          "Key": {"pk": pk, "sk": {"S": f"DAY#{local.date().isoformat()}"}},
                          "UpdateExpression": f"SET expires_at = :exp ADD {day_add}",
                          "ExpressionAttributeValues": day_values}}
        try:
            transact(self.client, writes, before=[profile, day])
        except AlreadyProjected:
            return False
        return True

    # --- profile ----------------------------------------------------------------------------------
    def load(self, user_id: str, since: date) -> RawProfile | None:
        got = self.client.get_item(TableName=self.table, Key={"pk": {"S": user_pk(user_id)}, "sk": {"S": PROFILE}})
        days = self._query(user_pk(user_id), f"DAY#{since.isoformat()}", "DAY#~")
        if "Item" not in got and not days:
            return None
        raw = _raw_from_item(from_item(got.get("Item", {})))
        for item in days:
            day = date.fromisoformat(item["sk"].removeprefix("DAY#"))
            raw.days[day] = DayActivity(day=day, count=int(item.get("n", 0)), spend=int(item.get("spend", 0)),
                                        spend_count=int(item.get("spend_n", 0)))
        return raw

    def _query(self, pk: str, low: str, high: str, *, limit: int | None = None, forward: bool = True,
               count: bool = False) -> list[dict[str, Any]]:
        args: dict[str, Any] = {
            "TableName": self.table, "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":lo": {"S": low}, ":hi": {"S": high}},
            "ScanIndexForward": forward}
        out: list[dict[str, Any]] = []
        while True:
            page = self.client.query(**args)
            out.extend(from_item(i) for i in page.get("Items", []))
            if limit is not None and len(out) >= limit:
                return out[:limit]
            if "LastEvaluatedKey" not in page:
                return out
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _version_condition(self, state_version: int) -> tuple[str, dict[str, Any]]:
        if state_version == 0:
            return "attribute_not_exists(version) OR version = :v", {":v": {"N": "0"}}
        return "version = :v", {":v": {"N": str(state_version)}}

    def record_sign_in(self, fact: SignInFact, state_version: int, after: RawProfile, *, bucket: datetime,
                       expires_after: timedelta) -> None:
        pk = user_pk(fact.user_id)
        expires = _epoch(fact.at + expires_after)
        condition, cond_values = self._version_condition(state_version)
        sets = ["devices = :d", "ip_prefixes = :p", "cells = :c", "version = :next", "last_login_at = :t"]
        values: dict[str, Any] = {
            ":d": to_attr([d.model_dump(mode="json") for d in after.devices]),
            ":p": to_attr([p.model_dump(mode="json") for p in after.ip_prefixes]),
            ":c": to_attr([c.model_dump(mode="json") for c in after.cells]),
            ":next": {"N": str(state_version + 1)}, ":t": {"S": iso(after.last_login_at or fact.at)},
            ":one": {"N": "1"}, **cond_values}
        if after.last_location is not None:
            sets.append("last_location = :loc")
            values[":loc"] = to_attr(after.last_location.model_dump(mode="json"))
        profile = GuardedWrite.failing_with({"Update": {
            "TableName": self.table, "Key": {"pk": {"S": pk}, "sk": {"S": PROFILE}},
            "UpdateExpression": f"SET {', '.join(sets)} ADD login_count :one, #net :one",
            "ConditionExpression": condition, "ExpressionAttributeNames": {"#net": f"net#{fact.network.value}"},
            "ExpressionAttributeValues": values}}, ProfileChanged)
        session = GuardedWrite.failing_with({"Put": {
            "TableName": self.table,
            "Item": to_item({"pk": pk, "sk": f"SESSION#{fact.session_id}", "entity": "SESSION",
                             "session_id": fact.session_id, "device_id": fact.device_id,
                             "network": fact.network.value, "ip_prefix": fact.ip_prefix, "cell": fact.cell,
                             "created_at": iso(fact.at), "expires_at": expires, **_session_device(fact, after)}),
            "ConditionExpression": "attribute_not_exists(pk)"}}, SessionAlreadyExists)
        counters = [self._bucket(f"{kind}#{key}", bucket, expires)
                    for kind, key in (("CELL", fact.cell), ("PREFIX", fact.ip_prefix)) if key]
        transact(self.client, [session, profile],
                 before=[self._device_seen(fact.device_id, fact.user_id, fact.at, expires), *counters])

    def _device_seen(self, device_id: str, user_id: str, at: datetime, expires: int) -> dict[str, Any]:
        return {"Update": {
            "TableName": self.table, "Key": {"pk": {"S": f"DEVICE#{device_id}"}, "sk": {"S": user_pk(user_id)}},
            "UpdateExpression": "SET last_seen = :t, first_seen = if_not_exists(first_seen, :t), expires_at = :exp",
            "ExpressionAttributeValues": {":t": {"S": iso(at)}, ":exp": {"N": str(expires)}}}}

    def record_attempt(self, user_id: str, device_id: str, keys: Sequence[str], at: datetime, *, bucket: datetime,
                       expires_after: timedelta, once: str | None = None) -> None:
        expires = _epoch(at + expires_after)
        counts = [self._device_seen(device_id, user_id, at, expires),
                  *(self._bucket(key, bucket, expires) for key in keys)]
        if once is None:
            transact(self.client, [], before=counts)
            return
        marker = GuardedWrite.failing_with({"Update": {  # an update that creates: no PutItem right needed
            "TableName": self.table, "Key": {"pk": {"S": f"ATTEMPT#{once}"}, "sk": {"S": "ATTEMPT"}},
            "UpdateExpression": "SET expires_at = :exp", "ConditionExpression": "attribute_not_exists(pk)",
            "ExpressionAttributeValues": {":exp": {"N": str(expires)}}}}, AttemptAlreadyCounted)
        try:
            transact(self.client, [marker], before=counts)
        except AttemptAlreadyCounted:
            return  # this attempt was counted before (a retry after a crash past the count)

    def _bucket(self, pk: str, bucket: datetime, expires: int) -> dict[str, Any]:
        return {"Update": {"TableName": self.table, "Key": {"pk": {"S": pk}, "sk": {"S": bucket_key(bucket)}},
                           "UpdateExpression": "SET expires_at = :exp ADD n :one",
                           "ExpressionAttributeValues": {":one": {"N": "1"}, ":exp": {"N": str(expires)}}}}

    def replace_devices(self, user_id: str, state_version: int, devices: Sequence[Device],
                        forgotten: tuple[str, str] | None = None) -> None:
        condition, values = self._version_condition(state_version)
        update: dict[str, Any] = {
            "TableName": self.table, "Key": {"pk": {"S": user_pk(user_id)}, "sk": {"S": PROFILE}},
            "UpdateExpression": "SET devices = :d, version = :next", "ConditionExpression": condition,
            "ExpressionAttributeValues": {":d": to_attr([d.model_dump(mode="json") for d in devices]),
                                          ":next": {"N": str(state_version + 1)}, **values}}
        if forgotten:
            update["UpdateExpression"] += ", fgt = :fgt"
            update["ExpressionAttributeValues"][":fgt"] = to_attr({"request": forgotten[0], "device": forgotten[1]})
        transact(self.client, [GuardedWrite.failing_with({"Update": update}, ProfileChanged)])

    def forgotten_with(self, user_id: str) -> tuple[str, str] | None:
        got = self.client.get_item(TableName=self.table, Key={"pk": {"S": user_pk(user_id)}, "sk": {"S": PROFILE}},
                                   ProjectionExpression="fgt", ConsistentRead=True).get("Item")
        forgotten = from_item(got).get("fgt") if got else None
        return (str(forgotten["request"]), str(forgotten["device"])) if forgotten else None

    def get_session(self, user_id: str, session_id: str) -> Session | None:
        got = self.client.get_item(TableName=self.table,
                                   Key={"pk": {"S": user_pk(user_id)}, "sk": {"S": f"SESSION#{session_id}"}})
        if "Item" not in got:
            return None
        d = from_item(got["Item"])
        return Session(session_id=d["session_id"], user_id=user_id, device_id=d["device_id"],
                       trusted_device=bool(d.get("trusted_device", False)), new_device=bool(d.get("new_device", False)),
                       created_at=datetime.fromisoformat(d["created_at"]))

    def contacts(self, user_id: str, limit: int) -> list[str]:
        items = self._query(user_pk(user_id), "CONTACT#", "CONTACT#~", limit=limit)
        return [i["sk"].removeprefix("CONTACT#") for i in items]

    def real_name_write(self, user_id: str, real_name: RealName) -> GuardedWrite:
        """``real_name`` of the profile, set unconditionally (the caller's own writes carry the conditions)."""
        return GuardedWrite.failing_with({"Update": {
            "TableName": self.table, "Key": {"pk": {"S": user_pk(user_id)}, "sk": {"S": PROFILE}},
            "UpdateExpression": "SET real_name = :rn",
            "ExpressionAttributeValues": {":rn": to_attr(real_name.model_dump(mode="json"))}}}, ProfileChanged)

    # --- watch-list tags and sensitive changes ----------------------------------------------------
    def _audit_put(self, audit: TagAudit) -> dict[str, Any]:
        return {"Put": {"TableName": self.table, "Item": to_item({
            "pk": user_pk(audit.user_id), "sk": f"TAGLOG#{iso(audit.at)}#{uuid.uuid4().hex[:8]}",
            "entity": "TAG_AUDIT", "tag": audit.tag.value, "action": audit.action, "by": audit.by,
            "reason": audit.reason, "at": iso(audit.at)})}}

    def set_tag(self, user_id: str, record: TagRecord, audit: TagAudit) -> None:
        update = {"Update": {
            "TableName": self.table, "Key": {"pk": {"S": user_pk(user_id)}, "sk": {"S": PROFILE}},
            "UpdateExpression": "SET #tag = :rec", "ExpressionAttributeNames": {"#tag": f"tag#{record.tag.value}"},
            "ExpressionAttributeValues": {":rec": to_attr({"by": record.set_by, "reason": record.reason,
                                                           "at": iso(record.set_at)})}}}
        transact(self.client, [], before=[update, self._audit_put(audit)])

    def clear_tag(self, user_id: str, tag: WatchTag, audit: TagAudit, request: str | None = None) -> None:
        update: dict[str, Any] = {
            "TableName": self.table, "Key": {"pk": {"S": user_pk(user_id)}, "sk": {"S": PROFILE}},
            "UpdateExpression": "REMOVE #tag", "ConditionExpression": "attribute_exists(#tag)",
            "ExpressionAttributeNames": {"#tag": f"tag#{tag.value}"}}
        if request:
            update["UpdateExpression"] += " SET #clr = :clr"
            update["ExpressionAttributeNames"]["#clr"] = f"clr#{tag.value}"
            update["ExpressionAttributeValues"] = {":clr": to_attr({"request": request, "by": audit.by,
                                                                    "reason": audit.reason, "at": iso(audit.at)})}
        remove = GuardedWrite.failing_with({"Update": update}, lambda: TagNotSet(tag=tag.value))
        transact(self.client, [remove], before=[self._audit_put(audit)])

    def cleared_with(self, user_id: str, tag: WatchTag) -> tuple[str, TagAudit] | None:
        got = self.client.get_item(TableName=self.table, Key={"pk": {"S": user_pk(user_id)}, "sk": {"S": PROFILE}},
                                   ProjectionExpression="#clr", ExpressionAttributeNames={"#clr": f"clr#{tag.value}"},
                                   ConsistentRead=True).get("Item")
        cleared = from_item(got).get(f"clr#{tag.value}") if got else None
        if not cleared:
            return None
        return str(cleared["request"]), TagAudit(user_id=user_id, tag=tag, action="CLEARED", by=cleared["by"],
                                                 reason=cleared["reason"], at=datetime.fromisoformat(cleared["at"]))

    def tag_history(self, user_id: str, limit: int) -> list[TagAudit]:
        items = self._query(user_pk(user_id), "TAGLOG#", "TAGLOG#~", limit=limit, forward=False)
        return [TagAudit(user_id=user_id, tag=WatchTag(i["tag"]), action=i["action"], by=i["by"],
                         reason=i["reason"], at=datetime.fromisoformat(i["at"])) for i in items]

    def set_sensitive_change(self, user_id: str, change: SensitiveChange, at: datetime) -> None:
        self.client.update_item(
            TableName=self.table, Key={"pk": {"S": user_pk(user_id)}, "sk": {"S": PROFILE}},
            UpdateExpression="SET #c = :t", ExpressionAttributeNames={"#c": f"chg#{change.value}"},
            ExpressionAttributeValues={":t": {"S": iso(at)}})

    def add_verification(self, user_id: str, *, passed: bool, strong: bool, at: datetime) -> None:
        """§4's answered challenge into the ``verification`` map: counters added in the write (concurrent attempts
        all count); the map is created first when the profile has none (a second update: paths may not overlap)."""
        key = {"pk": {"S": user_pk(user_id)}, "sk": {"S": PROFILE}}
        self.client.update_item(TableName=self.table, Key=key,
                                UpdateExpression="SET verification = if_not_exists(verification, :empty)",
                                ExpressionAttributeValues={":empty": {"M": {}}})
        counter = "successes" if passed else "failures"
        sets = ["verification.attempts = if_not_exists(verification.attempts, :zero) + :one",
                f"verification.{counter} = if_not_exists(verification.{counter}, :zero) + :one",
                "verification.last_at = :t"]
        if passed:
            sets.append("verification.last_passed_at = :t")
        if passed and strong:
            sets.append("verification.last_strong_at = :t")
        self.client.update_item(TableName=self.table, Key=key, UpdateExpression="SET " + ", ".join(sets),
                                ExpressionAttributeValues={":zero": {"N": "0"}, ":one": {"N": "1"},
                                                           ":t": {"S": iso(at)}})

    def put_binding(self, user_id: str, fact: BindingFact) -> bool:
        """``bind#<id>`` replaced only forwards: ACTIVE -> ACTIVE with first use verified -> UNBOUND."""
        names = {"#b": f"bind#{fact.binding_id}"}
        values: dict[str, Any] = {":fact": to_attr(fact.model_dump(mode="json", exclude={"binding_id"},
                                                                   exclude_none=True))}
        kwargs: dict[str, Any] = {}
        if fact.state is BindingState.ACTIVE:
            names["#st"] = "state"
            values[":active"] = {"S": BindingState.ACTIVE.value}
            kwargs["ConditionExpression"] = "attribute_not_exists(#b) OR #b.#st = :active"
            if fact.first_use_verified_at is None:
                names["#fu"] = "first_use_verified_at"
                kwargs["ConditionExpression"] = \
                    "attribute_not_exists(#b) OR (#b.#st = :active AND attribute_not_exists(#b.#fu))"
        try:
            self.client.update_item(
                TableName=self.table, Key={"pk": {"S": user_pk(user_id)}, "sk": {"S": PROFILE}},
                UpdateExpression="SET #b = :fact", ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                **kwargs)
        except ClientError as exc:
            if is_condition_failure(exc):
                return False  # the stored fact is further along
            raise
        return True

    # --- cross-user indexes -----------------------------------------------------------------------
    def device_users(self, device_id: str, since: datetime, limit: int) -> list[str]:
        items = self._query(f"DEVICE#{device_id}", "USER#", "USER#~")
        seen = sorted((i for i in items if i.get("last_seen", "") >= iso(since)),
                      key=lambda i: i["last_seen"], reverse=True)
        return [i["sk"].removeprefix("USER#") for i in seen[:limit]]

    def count_buckets(self, key: str, since: datetime) -> int:
        return sum(int(i.get("n", 0)) for i in self._query(key, bucket_key(since), "T#~"))


# --- item <-> raw profile ---------------------------------------------------------------------------
def _raw_from_item(d: Mapping[str, Any]) -> RawProfile:
    raw = RawProfile(version=int(d.get("version", 0)), last_active_at=_dt(d.get("last_active_at")),
                     counterparties=int(d.get("counterparties", 0)), login_count=int(d.get("login_count", 0)),
                     last_login_at=_dt(d.get("last_login_at")))
    types: dict[str, dict[str, int]] = {}
    for name, value in d.items():
        kind, _, rest = name.partition("#")
        if kind in ("n", "a") and "#" in rest:
            tx_type, _, direction = rest.rpartition("#")
            types.setdefault(tx_type, {})[("count_" if kind == "n" else "amount_") + direction.lower()] = int(value)
        else:
            _fold_counter(raw, kind, rest, value)
    raw.by_type = {t: TypeActivity(**v) for t, v in types.items()}
    raw.devices = [Device.model_validate(x) for x in d.get("devices", [])]
    raw.ip_prefixes = [PrefixSeen.model_validate(x) for x in d.get("ip_prefixes", [])]
    raw.cells = [CellSeen.model_validate(x) for x in d.get("cells", [])]
    for attr, model in (("last_location", LastLocation), ("real_name", RealName),
                        ("verification", VerificationHistory)):
        if d.get(attr):
            setattr(raw, attr, model.model_validate(d[attr]))
    return raw


def _fold_counter(raw: RawProfile, kind: str, rest: str, value: Any) -> None:
    """One ``<kind>#<key>`` attribute of the profile item into its place in the raw profile."""
    if kind == "h" and rest.isdigit() and int(rest) < HOURS:
        raw.hours[int(rest)] = int(value)
    elif kind == "w" and rest.isdigit() and int(rest) < WEEKDAYS:
        raw.weekdays[int(rest)] = int(value)
    elif kind == "net" and rest in Network.__members__:
        raw.networks[Network(rest)] = int(value)
    elif kind == "tag" and rest in WatchTag.__members__:
        raw.tags[WatchTag(rest)] = TagRecord(tag=WatchTag(rest), set_by=value["by"], reason=value["reason"],
                                             set_at=datetime.fromisoformat(value["at"]))
    elif kind == "chg" and rest in SensitiveChange.__members__:
        raw.sensitive_changes[SensitiveChange(rest)] = datetime.fromisoformat(value)
    elif kind == "bind" and isinstance(value, Mapping):
        raw.binding_facts.append(BindingFact.model_validate({**value, "binding_id": rest}))


def _session_device(fact: SignInFact, after: RawProfile) -> dict[str, bool]:
    """What the sign-in answered about its device (kept with the session, so a retried request answers the same)."""
    device = next((d for d in after.devices if d.device_id == fact.device_id), None)
    return {"trusted_device": bool(device and device.trusted),
            "new_device": bool(device and device.sign_ins == 1 and device.first_seen == fact.at)}
