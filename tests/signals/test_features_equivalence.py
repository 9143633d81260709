"""Training and serving see one schema: features of a user who acted through the API (sign-ins and transfers
projected through the emulated ledger stream) equal those of the equivalent profile the training generator
folds from the same history (``training.population.profile_from_history``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from shared.identity.features import FEATURE_NAMES, build_features
from shared.identity.predictor import OnnxPredictor
from shared.ledger.repository import DynamoLedgerStore
from shared.signals.adapters import CidrReputation, LedgerAccounts
from shared.signals.models import Direction, Network
from shared.signals.repository import DynamoSignalsStore
from shared.signals.services import SignalsService
from shared.signals.settings import SignalsSettings
from tests.conftest import Api
from training.population import Entry, History, SignIn, profile_from_history

ANDROID = {"os": "Android 14", "app_version": "3.2.1"}


def test_features_of_an_api_user_equal_those_of_the_generated_profile(api: Api) -> None:
    stack = api.stack
    alice, bob, carol = api.user(), api.user(), api.user()
    admin = api.token("ops-admin", "admin")
    history_entries: list[Entry] = []

    def money(reply: Any, direction: Direction, counterparty: str, customer: bool = True) -> None:
        assert reply.status == 201, reply.body
        history_entries.append(Entry(datetime.fromisoformat(reply.body["created_at"]), reply.body["type"], direction,
                                     reply.body["amount"]["amount"], counterparty, customer))

    # Given alice signs in on two devices and moves money through the API
    sign_ins = [("phone-alice-01", "WIFI", 31.2304, 121.4737), ("tablet-alice-2", "CELLULAR", 39.9042, 116.4074),
                ("phone-alice-01", "WIFI", 31.2304, 121.4737)]
    for device, network, lat, lon in sign_ins:
        reply = api.call("POST", "/sessions", {"device_id": device, "network": network, "client": ANDROID,
                                               "geo": {"lat": lat, "lon": lon}}, token=alice.token,
                         key=str(uuid.uuid4()))
        assert reply.status == 201, reply.body
    money(api.call("POST", f"/admin/accounts/{alice.account_id}/deposits",
                   {"amount": {"amount": 80_000, "currency": "CNY"}}, token=admin, key=str(uuid.uuid4())),
          Direction.IN, "sys_settlement_CNY", customer=False)
    for target, amount in ((bob, 1_250), (carol, 3_300), (bob, 990)):
        money(api.call("POST", "/transfers", {"to_account_id": target.account_id,
                                              "amount": {"amount": amount, "currency": "CNY"}},
                       token=alice.token, key=str(uuid.uuid4())), Direction.OUT, target.account_id)
    money(api.call("POST", "/transfers", {"to_account_id": alice.account_id,
                                          "amount": {"amount": 500, "currency": "CNY"}},
                   token=bob.token, key=str(uuid.uuid4())), Direction.IN, bob.account_id)  # bob pays some back
    stack.drain_streams(timeout=20)
    as_of = datetime.now().astimezone()
    # When the served profile (the Signals table, read as the scoring function reads it) is built ...
    ddb = stack.client("dynamodb")
    reader = SignalsService(DynamoSignalsStore("SignalsTable", ddb), SignalsSettings(signals_table="SignalsTable"),
                            CidrReputation(), accounts=LedgerAccounts(DynamoLedgerStore("AccountsTable", "LedgerTable",
                                                                                        ddb)),
                            clock=lambda: as_of)
    served = build_features(reader.profile(alice.sub))
    # ... and the generator folds the same history
    account = api.call("GET", "/accounts/me", token=alice.token).body
    history = History(user_id=alice.sub, account_id=alice.account_id,
                      account_created_at=datetime.fromisoformat(account["created_at"]),
                      sign_ins=[SignIn(as_of, d, Network(n), lat, lon, "127.0.0.1") for d, n, lat, lon in sign_ins],
                      entries=history_entries)
    generated = build_features(profile_from_history(history, as_of))
    # Then the two feature vectors are the same, feature by feature, and so are the missing ones
    assert served.as_dict() == generated.as_dict()
    assert served.missing == generated.missing == ("age_years",)  # no real-name identity yet (§5)
    assert dict(zip(FEATURE_NAMES, served.values, strict=True))["device_count"] == 2
    # And the identity model scores alice from them
    prediction = OnnxPredictor().predict("student", served.values)
    assert 0.0 < prediction.probability < 1.0
