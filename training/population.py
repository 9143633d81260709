"""Synthetic population generator: realistic activity profiles per persona, labelled per identity type.

Nothing here is real user data. Each *persona* is a group of wallet users with
its own distributions, chosen from public figures on Chinese mobile-payment
use and kept deliberately overlapping so the model has a real job to do
(parents pay tuition, young workers live near universities, campus staff are
on campus every weekday):

| persona | age (mean±sd, range) | payments / month | median payment | on-campus pings | notable spend |
| --- | --- | --- | --- | --- | --- |
| university_student | 20.5±1.8, 17-30 | ~45 | 22 yuan | Beta(6,3) ≈ 0.67 | food delivery, education, transit |
| high_school_student | 16.3±1.0, 14-19 | ~18 | 15 yuan | Beta(7,3) ≈ 0.70 | books, food, entertainment |
| graduate_student | 25.5±2.2, 22-35 | ~50 | 35 yuan | Beta(5,3) ≈ 0.62 | education, books, food delivery |
| young_worker | 26±3.5, 21-38 | ~60 | 55 yuan | Beta(1.2,10) ≈ 0.11 | food delivery, travel, entertainment |
| parent | 42±6, 30-60 | ~55 | 110 yuan | Beta(2,9) ≈ 0.18 | education (tuition), groceries |
| teacher | 40±9, 23-65 | ~40 | 65 yuan | Beta(7,3) ≈ 0.70 | books, groceries, education |
| senior | 67±5, 58-90 | ~20 | 40 yuan | Beta(1,25) ≈ 0.04 | groceries, other |
| part_time_student | 31±6, 22-55 | ~55 | 50 yuan | Beta(2,6) ≈ 0.25 | like a worker, some education |
| campus_neighbor | 24±2.5, 19-32 | ~50 | 35 yuan | Beta(4,5) ≈ 0.44 | like a student, little education |

On top, ``LABEL_NOISE`` (2%) of users carry the other label than their
persona's: shared family phones, accounts opened by a parent, stale registry
records. Birth dates are missing for 3% of users.

Time-of-day shares are Beta draws per user (students pay at night more often,
workers and teachers at weekday lunch, seniors in the morning); devices,
cities and account age are Poisson/log-normal around each persona's typical
value. An identity type's training population is a weighted mixture of
personas labelled positive or negative for that type (``MIXTURES``): adding a
type means adding a mixture, not code. The prevalence is that of users *who
ask* to be verified, not of all users.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from shared.identity.features import CATEGORIES, ActivityProfile, build_features

AS_OF = date(2026, 1, 1)  # reference date of the synthetic snapshot


@dataclass(frozen=True)
class Persona:
    age: tuple[float, float, float, float]  # mean, sd, min, max (years)
    account_age_days: float                 # median (log-normal, sd 0.7), capped by age
    monthly_txns: float                     # mean payments per month
    median_txn_yuan: float                  # log-normal, sd 0.6
    category_alpha: tuple[float, ...]       # Dirichlet over CATEGORIES
    night: tuple[float, float]              # Beta(a, b): share of payments 22:00-06:00
    weekend: tuple[float, float]            # Beta: share of the remaining payments on weekends
    weekday_daytime: tuple[float, float]    # Beta: share of the remaining weekday payments 09:00-17:00
    campus: tuple[float, float]             # Beta: share of location pings on a campus
    cities: float                           # 1 + Poisson(cities)
    devices: float                          # 1 + Poisson(devices)
    tier: tuple[float, float, float]        # P(device tier 0, 1, 2)


#                       education food_deliv entertain groceries travel transit books other
PERSONAS: dict[str, Persona] = {
    "university_student": Persona((20.5, 1.8, 17, 30), 700, 45, 22, (2.5, 5, 3, 1.5, 0.8, 2.5, 1.5, 2),
                                  (3, 7), (3, 6), (3, 4), (6, 3), 1.2, 0.6, (0.45, 0.45, 0.10)),
    "high_school_student": Persona((16.3, 1.0, 14, 19), 300, 18, 15, (1.5, 2.5, 3, 1, 0.3, 1.5, 2.5, 2),
                                   (2, 8), (4, 5), (2, 5), (7, 3), 0.4, 0.3, (0.55, 0.40, 0.05)),
    "graduate_student": Persona((25.5, 2.2, 22, 35), 1500, 50, 35, (3, 4, 2, 2, 1.2, 2, 2.5, 2),
                                (3, 6), (3, 6), (3, 4), (5, 3), 1.5, 0.7, (0.35, 0.50, 0.15)),
    "young_worker": Persona((26, 3.5, 21, 38), 1400, 60, 55, (0.6, 5, 3, 2.5, 2, 2.5, 0.6, 2.5),
                            (2, 8), (3, 6), (4, 5), (1.2, 10), 2.0, 0.8, (0.25, 0.50, 0.25)),
    "parent": Persona((42, 6, 30, 60), 2200, 55, 110, (4, 2, 1.5, 4, 1.5, 1, 1.2, 3),
                      (1, 12), (3, 5), (3, 5), (2, 9), 1.6, 0.7, (0.20, 0.50, 0.30)),
    "teacher": Persona((40, 9, 23, 65), 2000, 40, 65, (2, 2, 1.2, 3, 1.2, 1.5, 2.5, 2.5),
                       (1, 10), (3, 7), (5, 4), (7, 3), 1.3, 0.5, (0.25, 0.55, 0.20)),
    "senior": Persona((67, 5, 58, 90), 1200, 20, 40, (0.3, 0.5, 0.8, 5, 1, 1, 0.6, 3),
                      (1, 20), (3, 6), (4, 6), (1, 25), 0.6, 0.2, (0.50, 0.40, 0.10)),
    # Hard cases on purpose: studying while working, and working next to a campus.
    "part_time_student": Persona((31, 6, 22, 55), 1800, 55, 50, (1.5, 4, 2.5, 2.5, 1.5, 2.5, 1.2, 2.5),
                                 (2, 8), (3, 6), (4, 5), (2, 6), 1.6, 0.7, (0.30, 0.50, 0.20)),
    "campus_neighbor": Persona((24, 2.5, 19, 32), 900, 50, 35, (0.8, 5, 3, 2, 1.2, 2.5, 0.8, 2.5),
                               (3, 7), (3, 6), (3, 4), (4, 5), 1.4, 0.7, (0.40, 0.45, 0.15)),
}

# Share of users whose label disagrees with their profile: a phone shared in a family, an account
# opened by a parent for a student, a registry record out of date.
LABEL_NOISE = 0.02

# identity type -> {persona: (weight, label)}; weights are the mix of users who ask for that type.
MIXTURES: dict[str, dict[str, tuple[float, int]]] = {
    "student": {
        "university_student": (0.36, 1), "high_school_student": (0.09, 1), "graduate_student": (0.08, 1),
        "part_time_student": (0.05, 1),
        "young_worker": (0.16, 0), "campus_neighbor": (0.08, 0), "parent": (0.09, 0), "teacher": (0.05, 0),
        "senior": (0.04, 0),
    },
    "teacher": {
        "teacher": (0.50, 1),
        "parent": (0.16, 0), "young_worker": (0.10, 0), "graduate_student": (0.10, 0),
        "campus_neighbor": (0.06, 0), "university_student": (0.04, 0), "senior": (0.04, 0),
    },
}


def _profile(p: Persona, rng: np.random.Generator) -> ActivityProfile:
    mean, sd, lo, hi = p.age
    age = float(np.clip(rng.normal(mean, sd), lo, hi))
    birth = AS_OF - timedelta(days=int(age * 365.25))
    account_days = min(rng.lognormal(np.log(p.account_age_days), 0.7), max(30.0, (age - 12) * 365))
    txns = int(rng.poisson(rng.lognormal(np.log(p.monthly_txns * 3), 0.5)))
    spend = int(txns * rng.lognormal(np.log(p.median_txn_yuan), 0.6) * 100)
    shares = rng.dirichlet(p.category_alpha)
    night = int(rng.binomial(txns, rng.beta(*p.night)))
    weekend = int(rng.binomial(txns - night, rng.beta(*p.weekend)))
    daytime = int(rng.binomial(txns - night - weekend, rng.beta(*p.weekday_daytime)))
    pings = int(rng.poisson(rng.lognormal(np.log(600), 0.5)))
    return ActivityProfile(
        birth_date=None if rng.random() < 0.03 else birth,  # 3% never gave a birth date
        account_opened_on=AS_OF - timedelta(days=int(account_days)),
        txn_count_90d=txns,
        spend_90d_fen=spend,
        spend_by_category_fen={c: int(spend * s) for c, s in zip(CATEGORIES, shares, strict=True)},
        night_txn_count=night,
        weekday_daytime_txn_count=daytime,
        weekend_txn_count=weekend,
        location_pings_90d=pings,
        campus_pings_90d=int(rng.binomial(pings, rng.beta(*p.campus))),
        distinct_cities_90d=1 + int(rng.poisson(p.cities)),
        device_count_90d=1 + int(rng.poisson(p.devices)),
        device_price_tier=int(rng.choice(3, p=p.tier)),
    )


def generate(identity_type: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``n`` synthetic users for ``identity_type``: features (float32, FEATURE_NAMES order), labels, personas."""
    mixture = MIXTURES[identity_type]
    rng = np.random.default_rng(seed)
    names = list(mixture)
    weights = np.array([mixture[k][0] for k in names])
    chosen = rng.choice(len(names), size=n, p=weights / weights.sum())
    rows, labels, personas = [], [], []
    for idx in chosen:
        name = names[int(idx)]
        rows.append(build_features(_profile(PERSONAS[name], rng), AS_OF))
        label = mixture[name][1]
        labels.append(1 - label if rng.random() < LABEL_NOISE else label)
        personas.append(name)
    return np.asarray(rows, dtype=np.float32), np.asarray(labels, dtype=np.int64), personas
