"""The one feature definition shared by training (``training/``) and serving (the scoring function).

The identity model sees only what the platform observes: the projected activity profile of risk signals
(``shared.signals.models.ActivityProfile``: ledger activity, sign-ins, devices, places, groups) and, once
real-name authentication (§5) has confirmed an identity, its birth date. Inputs the platform never sees
(merchant categories, campus geofences, device price tiers) were dropped with issue 10.

Serving reads the profile through ``SignalsReader.profile(user)``; the training generator folds synthetic
sign-ins and ledger entries into profiles of exactly the same schema with ``shared.signals.fold`` and calls
:func:`build_features`, so training and serving cannot drift apart.

A feature the profile cannot give (no birth date yet, no activity yet) takes the value ``MISSING`` (-1, a
value no real feature takes) and is named in ``Features.missing``: a user with no history still gets a
real model score, and the decision records which features were missing.

Pure Python on purpose: the shared layer stays free of numpy; the predictor turns the list into float32.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from shared.signals.models import ActivityProfile, Direction, Network

MISSING = -1.0

FEATURE_NAMES: tuple[str, ...] = (
    "age_years",                # from the real-name identity's birth date (§5); missing until then
    "account_age_days",         # days since the wallet account was opened; missing without an account
    "days_inactive",            # days since the last ledger entry; missing if never active
    "entries_per_month_90d",    # ledger entries (any type, both directions) per month over 90 days
    "log_avg_spend_yuan",       # log(1 + average outgoing payment in yuan, 90 days); missing without one
    "log_spend_30d_yuan",       # log(1 + yuan spent in the last 30 days)
    "log_spend_90d_yuan",       # log(1 + yuan spent in the last 90 days)
    "share_p2p_out",            # shares of all entries: P2P payments sent ...
    "share_p2p_in",             # ... P2P payments received ...
    "share_top_up",             # ... deposits and proxy top-ups ...
    "share_campaign",           # ... campaign prizes; all four missing without entries
    "share_night",              # shares of entries by local hour: 22:00-06:00 ...
    "share_morning",            # ... 06:00-09:00 ...
    "share_daytime",            # ... 09:00-17:00 ...
    "share_evening",            # ... 17:00-22:00; missing without entries
    "share_weekend",            # share of entries on Saturday/Sunday; missing without entries
    "log_counterparties",       # log(1 + distinct customer counterparties)
    "group_count",              # groups the user belongs to
    "log_login_count",          # log(1 + sign-ins)
    "device_count",             # devices in the bounded device list
    "place_count",              # area cells (~5 km) in the bounded place list
    "network_prefix_count",     # IP prefixes (/24, /48) in the bounded list
    "share_wifi",               # share of sign-ins on Wi-Fi; missing without sign-ins
    "share_cellular",           # share of sign-ins on a cellular network; missing without sign-ins
)
N_FEATURES = len(FEATURE_NAMES)
TOP_UP_TYPES = ("DEPOSIT", "PROXY_TOP_UP")
NIGHT, MORNING, DAYTIME, EVENING = (22, 23, 0, 1, 2, 3, 4, 5), (6, 7, 8), tuple(range(9, 17)), tuple(range(17, 22))


class Features(BaseModel):
    model_config = ConfigDict(frozen=True)

    values: tuple[float, ...]
    missing: tuple[str, ...]

    def as_dict(self) -> dict[str, float]:
        return dict(zip(FEATURE_NAMES, self.values, strict=True))


def _log_yuan(fen: int) -> float:
    return math.log1p(fen / 100)


def build_features(p: ActivityProfile) -> Features:
    """Feature vector in ``FEATURE_NAMES`` order, relative to ``p.as_of`` / ``p.today``."""
    birth = p.real_name.birth_date
    age = (p.today - birth).days / 365.25 if birth else None
    entries = sum(p.by_hour)

    def count_of(types: tuple[str, ...], direction: Direction) -> int:
        return sum((a.count_out if direction is Direction.OUT else a.count_in) for t, a in p.by_type.items()
                   if t in types)

    spend_n = p.spend_count(90)
    logins = sum(p.networks.values())

    def share(part: float, whole: float) -> float | None:
        return min(1.0, part / whole) if whole > 0 else None

    def hours(bucket: tuple[int, ...]) -> float | None:
        return share(sum(p.by_hour[h] for h in bucket), entries)

    raw: list[tuple[str, float | None]] = [
        ("age_years", round(age, 3) if age is not None else None),
        ("account_age_days", float(p.account_age_days) if p.account_age_days is not None else None),
        ("days_inactive", float(p.days_inactive) if p.days_inactive is not None else None),
        ("entries_per_month_90d", p.entry_count(90) / 3.0),
        ("log_avg_spend_yuan", _log_yuan(p.spend(90) // spend_n) if spend_n else None),
        ("log_spend_30d_yuan", _log_yuan(p.spend(30))),
        ("log_spend_90d_yuan", _log_yuan(p.spend(90))),
        ("share_p2p_out", share(count_of(("P2P_TRANSFER",), Direction.OUT), entries)),
        ("share_p2p_in", share(count_of(("P2P_TRANSFER",), Direction.IN), entries)),
        ("share_top_up", share(count_of(TOP_UP_TYPES, Direction.IN), entries)),
        ("share_campaign", share(count_of(("CAMPAIGN_PRIZE",), Direction.IN), entries)),
        ("share_night", hours(NIGHT)),
        ("share_morning", hours(MORNING)),
        ("share_daytime", hours(DAYTIME)),
        ("share_evening", hours(EVENING)),
        ("share_weekend", share(p.by_weekday[5] + p.by_weekday[6], entries)),
        ("log_counterparties", math.log1p(p.counterparties)),
        ("group_count", float(p.group_count)),
        ("log_login_count", math.log1p(p.login_count)),
        ("device_count", float(len(p.devices))),
        ("place_count", float(len(p.cells))),
        ("network_prefix_count", float(len(p.ip_prefixes))),
        ("share_wifi", share(p.networks.get(Network.WIFI, 0), logins)),
        ("share_cellular", share(p.networks.get(Network.CELLULAR, 0), logins)),
    ]
    assert tuple(name for name, _ in raw) == FEATURE_NAMES
    return Features(values=tuple(MISSING if v is None else round(float(v), 6) for _, v in raw),
                    missing=tuple(name for name, v in raw if v is None))
