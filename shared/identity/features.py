"""The one feature builder shared by training (``training/``) and serving (the scoring function).

A user's stored activity profile (``ActivityProfile``: raw counts and amounts
kept by the activity pipeline) becomes the model's feature vector here and
nowhere else, so training and serving cannot drift apart (no skew). The
training generator produces ``ActivityProfile`` objects and calls
:func:`build_features` exactly as the scoring function does.

Pure Python on purpose: the shared layer stays free of numpy; the predictor
turns the list into a float32 array.
"""

from __future__ import annotations

import math
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt

# Spending categories tracked by the activity pipeline (merchant category groups).
CATEGORIES = ("education", "food_delivery", "entertainment", "groceries", "travel", "transit", "books", "other")

FEATURE_NAMES: tuple[str, ...] = (
    "age_years",                # from the registered birth date; -1 when unknown
    "account_age_days",         # days since the wallet account was opened
    "monthly_txn_count",        # payments per month over the last 90 days
    "log_avg_txn_yuan",         # log(1 + average payment in yuan)
    *(f"share_{c}" for c in CATEGORIES),  # share of 90-day spend per category
    "share_night_txn",          # share of payments between 22:00 and 06:00
    "share_weekday_daytime_txn",  # share of payments Mon-Fri 09:00-17:00
    "share_weekend_txn",        # share of payments on Saturday/Sunday
    "campus_location_share",    # share of location pings inside a school/university geofence
    "distinct_cities_90d",      # cities seen in location history, 90 days
    "device_count_90d",         # devices used to sign in, 90 days
    "device_price_tier",        # 0 budget, 1 mid-range, 2 flagship (main device)
)
N_FEATURES = len(FEATURE_NAMES)


class ActivityProfile(BaseModel):
    """The user's stored profile and 90-day activity aggregates (no personal identifiers)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    birth_date: date | None = None
    account_opened_on: date
    txn_count_90d: NonNegativeInt = 0
    spend_90d_fen: NonNegativeInt = 0
    spend_by_category_fen: dict[str, NonNegativeInt] = Field(default_factory=dict)
    night_txn_count: NonNegativeInt = 0
    weekday_daytime_txn_count: NonNegativeInt = 0
    weekend_txn_count: NonNegativeInt = 0
    location_pings_90d: NonNegativeInt = 0
    campus_pings_90d: NonNegativeInt = 0
    distinct_cities_90d: NonNegativeInt = 0
    device_count_90d: NonNegativeInt = 0
    device_price_tier: int = Field(default=1, ge=0, le=2)


def _share(part: int, whole: int) -> float:
    return min(1.0, part / whole) if whole > 0 else 0.0


def build_features(profile: ActivityProfile, as_of: date) -> list[float]:
    """Feature vector in ``FEATURE_NAMES`` order."""
    age = (as_of - profile.birth_date).days / 365.25 if profile.birth_date else -1.0
    txns = profile.txn_count_90d
    category_total = sum(profile.spend_by_category_fen.get(c, 0) for c in CATEGORIES)
    avg_yuan = profile.spend_90d_fen / txns / 100 if txns else 0.0
    return [
        round(age, 3),
        float(max(0, (as_of - profile.account_opened_on).days)),
        txns / 3.0,
        math.log1p(avg_yuan),
        *(_share(profile.spend_by_category_fen.get(c, 0), category_total) for c in CATEGORIES),
        _share(profile.night_txn_count, txns),
        _share(profile.weekday_daytime_txn_count, txns),
        _share(profile.weekend_txn_count, txns),
        _share(profile.campus_pings_90d, profile.location_pings_90d),
        float(profile.distinct_cities_90d),
        float(profile.device_count_90d),
        float(profile.device_price_tier),
    ]
