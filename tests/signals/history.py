"""Test helper: write a generated history (``training.population.History``) into the real Signals table through
the DynamoDB store's own writes (the projector's ``project_entry`` and the sign-in service), and find persona
histories that score on a given side of a threshold (for the identity tests that need a student-like user)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import numpy as np

from shared.identity.catalog import identity_type
from shared.identity.features import build_features
from shared.identity.predictor import OnnxPredictor
from shared.signals.adapters import CidrReputation
from shared.signals.fold import local_time
from shared.signals.models import ClientInfo, LedgerFact
from shared.signals.repository import DynamoSignalsStore
from shared.signals.services import SignalsService
from shared.signals.settings import SignalsSettings
from training.population import PERSONAS, History, profile_from_history, sample_history

SETTINGS = SignalsSettings(signals_table="SignalsTable")
CLIENT = ClientInfo(os="Android 14", app_version="3.2.1")


def write_history(client: Any, h: History, user_id: str, table: str = "SignalsTable") -> None:
    """Sign-ins through the sign-in service (at their own times), entries through the projector's store writes.

    The first time a history is written (per test process) it goes through those writes, and what they left in
    the table is kept: the user's own items (their keys name the user) and the increments of the cross-user
    counters (area cells, IP prefixes). Writing the same history for another user then puts those items under
    the other user's id and adds the same increments (one transaction), as the writes would have: ~15 requests
    instead of ~600."""
    snapshot = _SNAPSHOTS.get(id(h))
    if snapshot is not None and snapshot.source is h and snapshot.table == table:
        snapshot.apply(client, user_id)
        return
    before = _counters(client, table)
    _write_through_store(client, h, user_id, table)
    _SNAPSHOTS[id(h)] = _Snapshot.capture(client, h, user_id, table, before)


def _write_through_store(client: Any, h: History, user_id: str, table: str) -> None:
    h = replace(h, user_id=user_id)
    store = DynamoSignalsStore(table, client)
    for s in sorted(h.sign_ins, key=lambda s: s.at):
        SignalsService(store, SETTINGS, CidrReputation(), clock=lambda at=s.at: at).sign_in(
            h.user_id, s.device_id, s.network, CLIENT, lat=s.lat, lon=s.lon, source_ip=s.ip)
    for i, e in enumerate(h.entries):
        fact = LedgerFact(user_id=h.user_id, account_id=h.account_id, entry_key=f"{h.account_id}#t{i}#x",
                          transaction_id=f"t{i}", type=e.type, direction=e.direction, amount=e.amount,
                          counterparty_account_id=e.counterparty, counterparty_is_customer=e.counterparty_is_customer,
                          at=e.at)
        store.touch_last_active(h.user_id, e.at)
        new = e.counterparty_is_customer and not store.contact_known(h.user_id, e.counterparty)
        store.project_entry(fact, local=local_time(e.at, SETTINGS.utc_offset),
                            spend=e.type in SETTINGS.spend_types and e.direction.value == "OUT", new_contact=new,
                            expires_after=timedelta(days=7))


_PLACEHOLDER = "\u0000user\u0000"
_COUNTERS = ("CELL#", "PREFIX#")


def _scan(client: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table):
        items.extend(page["Items"])
    return items


def _counters(client: Any, table: str) -> dict[tuple[str, str], int]:
    return {(i["pk"]["S"], i["sk"]["S"]): int(i["n"]["N"]) for i in _scan(client, table)
            if i["pk"]["S"].startswith(_COUNTERS) and "n" in i}


@dataclass
class _Snapshot:
    source: History
    table: str
    own: list[str]  # the user's items, JSON with the user id as _PLACEHOLDER
    increments: list[tuple[dict[str, Any], int, dict[str, Any]]]  # counter key, delta, its expires_at

    @classmethod
    def capture(cls, client: Any, h: History, user_id: str, table: str,
                before: dict[tuple[str, str], int]) -> _Snapshot:
        items = _scan(client, table)
        own = [json.dumps(i).replace(user_id, _PLACEHOLDER) for i in items
               if user_id in i["pk"]["S"] or user_id in i["sk"]["S"]]
        increments = []
        for i in items:
            key = (i["pk"]["S"], i["sk"]["S"])
            if key[0].startswith(_COUNTERS) and "n" in i and int(i["n"]["N"]) != before.get(key, 0):
                increments.append(({"pk": i["pk"], "sk": i["sk"]}, int(i["n"]["N"]) - before.get(key, 0),
                                   i["expires_at"]))
        return cls(h, table, own, increments)

    def apply(self, client: Any, user_id: str) -> None:
        items = [json.loads(i.replace(_PLACEHOLDER, user_id)) for i in self.own]
        for start in range(0, len(items), 25):
            pending = {self.table: [{"PutRequest": {"Item": i}} for i in items[start:start + 25]]}
            while pending:
                pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        updates = [{"Update": {"TableName": self.table, "Key": key,
                               "UpdateExpression": "SET expires_at = :exp ADD n :d",
                               "ExpressionAttributeValues": {":exp": expires_at, ":d": {"N": str(delta)}}}}
                   for key, delta, expires_at in self.increments]
        for start in range(0, len(updates), 100):
            client.transact_write_items(TransactItems=updates[start:start + 100])


_SNAPSHOTS: dict[int, _Snapshot] = {}


@cache
def persona_history(persona: str, above: bool, model: str = "student", as_of_day: str = "") -> History:
    """The first seeded history of ``persona`` (no account, no birth date: what a brand-new user of the API
    has) whose score is clearly on one side of the model's threshold, dated to end now."""
    as_of = datetime.fromisoformat(as_of_day) if as_of_day else datetime.now().astimezone()
    threshold = identity_type(model).threshold
    predictor = OnnxPredictor()
    for seed in range(200):
        h = sample_history(PERSONAS[persona], np.random.default_rng(seed), as_of, user_id="probe")
        h.birth_date, h.account_created_at, h.group_count = None, None, 0
        p = predictor.predict(model, build_features(profile_from_history(h, as_of)).values).probability
        if (p > threshold + 0.1) if above else (p < threshold - 0.1):
            return h
    raise AssertionError(f"no {persona} history scores {'above' if above else 'below'} {threshold}")
