"""Test helper: write a generated history (``training.population.History``) into the real Signals table through
the DynamoDB store's own writes (the projector's ``project_entry`` and the sign-in service), and find persona
histories that score on a given side of a threshold (for the identity tests that need a student-like user)."""

from __future__ import annotations

from dataclasses import replace
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
    """Sign-ins through the sign-in service (at their own times), entries through the projector's store writes."""
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
