"""Synthetic population generator: per-persona *histories* folded into activity profiles, labelled per type.

Nothing here is real user data. Each *persona* is a group of wallet users with its own behaviour, chosen
from public figures on Chinese mobile-payment use and kept deliberately overlapping so the model has a real
job to do. Since issue 10 the generator draws what the platform itself observes — sign-ins (device,
network, place, IP) and ledger entries (P2P payments sent and received, top-ups, campaign prizes, with their
times) — and folds them into ``shared.signals.models.ActivityProfile`` with ``shared.signals.fold``, the
same rules the ledger projector and the sign-in route apply. :func:`profile_from_history` is that fold and
``tests/signals`` checks it against a user who acted through the API.

| persona | age | P2P sent/mo | median | P2P recv/mo | top-ups | active hours | contacts | group | places | Wi-Fi |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
| university_student | 20.5±1.8 | ~30 | 18 yuan | ~8 | ~2 | evenings, nights | ~25 | 60% | 1+P(1.2) | 75% |
| high_school_student | 16.3±1.0 | ~10 | 12 yuan | ~6 | ~1 | after school | ~10 | 35% | 1+P(0.4) | 65% |
| graduate_student | 25.5±2.2 | ~30 | 30 yuan | ~4 | ~2 | spread, nights | ~20 | 45% | 1+P(1.4) | 75% |
| young_worker | 26±3.5 | ~35 | 50 yuan | ~3 | ~3 | lunch, evenings | ~15 | 20% | 2+P(2.0) | 45% |
| parent | 42±6 | ~25 | 110 yuan | ~2 | ~4 | daytime, evenings | ~12 | 15% | 2+P(1.6) | 50% |
| teacher | 40±9 | ~20 | 60 yuan | ~2 | ~3 | weekday daytime | ~14 | 30% | 1+P(0.8) | 70% |
| senior | 67±5 | ~8 | 40 yuan | ~2 | ~2 | mornings | ~5 | 10% | 1+P(0.5) | 60% |
| part_time_student | 31±6 | ~30 | 45 yuan | ~3 | ~3 | evenings | ~15 | 30% | 2+P(1.6) | 55% |
| campus_neighbor | 24±2.5 | ~30 | 30 yuan | ~4 | ~2 | evenings | ~18 | 30% | 1+P(1.4) | 60% |

Every rate is a per-user Gamma draw around the persona's value (coefficient of variation ~0.5), so users
of one persona differ as much as real users do. ``LABEL_NOISE`` (2%) of users carry the other label than
their persona's (shared family phones, stale registry records). Only ``REAL_NAME_SHARE`` of users have a
birth date (the real-name identity of §5); the rest score without it, as every user does until §5 lands.
The generator simulates the last ``HORIZON_DAYS`` of each user's history (less for younger accounts): the
shares and 90-day windows the model uses do not depend on the horizon; counters since the account opened
(sign-ins, counterparties) are those of at most that horizon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import numpy as np

from shared.identity.features import build_features
from shared.signals import geo
from shared.signals.fold import Limits, RawProfile, fold_entry, fold_sign_in, local_time
from shared.signals.models import (
    ActivityProfile,
    ClientInfo,
    Direction,
    LastLocation,
    LedgerFact,
    Network,
    RealName,
    SignInFact,
)
from shared.signals.settings import SignalsSettings

AS_OF = datetime(2026, 1, 1, 4, 0, tzinfo=UTC)  # reference time of the synthetic snapshot (12:00 local)
HORIZON_DAYS = 120
REAL_NAME_SHARE = 0.5
LABEL_NOISE = 0.02
SETTINGS = SignalsSettings(signals_table="training")  # the served defaults: limits, local time, spend types
LIMITS = Limits(max_devices=SETTINGS.signals_max_devices, max_ip_prefixes=SETTINGS.signals_max_ip_prefixes,
                max_cells=SETTINGS.signals_max_cells, window_days=SETTINGS.signals_max_window_days)
CLIENT = ClientInfo(os="Android 14", app_version="3.2.1")
HOUR_BLOCKS = ((22, 23, 0, 1, 2, 3, 4, 5), (6, 7, 8), (9, 10, 11, 12, 13, 14, 15, 16), (17, 18, 19, 20, 21))


@dataclass(frozen=True)
class Persona:
    age: tuple[float, float, float, float]  # mean, sd, min, max (years)
    account_age_days: float                 # median (log-normal, sd 0.7), capped by age
    p2p_out: float                          # P2P payments sent per month
    median_yuan: float                      # log-normal, sd 0.6
    p2p_in: float                           # P2P payments received per month
    top_ups: float                          # deposits / proxy top-ups per month
    hours: tuple[float, float, float, float]  # Dirichlet over night, morning, daytime, evening
    weekend: tuple[float, float]            # Beta: share of entries on weekends
    contacts: float                         # size of the user's circle of counterparties
    group: float                            # P(member of a group)
    logins: float                           # sign-ins per month
    devices: float                          # 1 + Poisson(devices)
    places: float                           # base + Poisson(places)
    places_base: int
    wifi: tuple[float, float]               # Beta: share of sign-ins on Wi-Fi (the rest mostly cellular)
    prizes: float                           # campaign prizes per month


#                                                  night morn  day   eve
PERSONAS: dict[str, Persona] = {
    "university_student": Persona((20.5, 1.8, 17, 30), 700, 30, 18, 8, 2, (3.0, 1.0, 3.5, 4.5), (3, 6), 25, 0.60,
                                  16, 0.6, 1.2, 1, (7.5, 2.5), 0.6),
    "high_school_student": Persona((16.3, 1.0, 14, 19), 300, 10, 12, 6, 1, (1.5, 1.0, 2.0, 5.5), (4, 5), 10, 0.35,
                                   10, 0.3, 0.4, 1, (6.5, 3.5), 0.4),
    "graduate_student": Persona((25.5, 2.2, 22, 35), 1500, 30, 30, 4, 2, (2.5, 1.0, 5.0, 3.5), (3, 6), 20, 0.45,
                                14, 0.7, 1.4, 1, (7.5, 2.5), 0.4),
    "young_worker": Persona((26, 3.5, 21, 38), 1400, 35, 50, 3, 3, (1.5, 2.0, 4.0, 4.5), (3, 6), 15, 0.20,
                            14, 0.8, 2.0, 2, (4.5, 5.5), 0.3),
    "parent": Persona((42, 6, 30, 60), 2200, 25, 110, 2, 4, (0.6, 2.0, 5.0, 4.0), (3, 5), 12, 0.15,
                      10, 0.7, 1.6, 2, (5, 5), 0.2),
    "teacher": Persona((40, 9, 23, 65), 2000, 20, 60, 2, 3, (0.6, 2.5, 6.0, 3.0), (3, 7), 14, 0.30,
                       10, 0.5, 0.8, 1, (7, 3), 0.2),
    "senior": Persona((67, 5, 58, 90), 1200, 8, 40, 2, 2, (0.3, 4.0, 4.5, 1.5), (4, 6), 5, 0.10,
                      5, 0.2, 0.5, 1, (6, 4), 0.1),
    # Hard cases on purpose: studying while working, and working next to a campus.
    "part_time_student": Persona((31, 6, 22, 55), 1800, 30, 45, 3, 3, (1.5, 1.5, 3.5, 5.0), (3, 6), 15, 0.30,
                                 14, 0.7, 1.6, 2, (5.5, 4.5), 0.3),
    "campus_neighbor": Persona((24, 2.5, 19, 32), 900, 30, 30, 4, 2, (2.0, 1.5, 4.0, 4.5), (3, 6), 18, 0.30,
                               14, 0.7, 1.4, 1, (6, 4), 0.3),
}

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


# --- a history and its fold ----------------------------------------------------------------------
@dataclass(frozen=True)
class SignIn:
    at: datetime
    device_id: str
    network: Network
    lat: float | None = None
    lon: float | None = None
    ip: str | None = None


@dataclass(frozen=True)
class Entry:
    at: datetime
    type: str
    direction: Direction
    amount: int  # fen
    counterparty: str  # account id
    counterparty_is_customer: bool = True


@dataclass
class History:
    user_id: str
    account_id: str
    account_created_at: datetime | None  # None: no wallet account (account age is missing)
    birth_date: date | None = None
    group_count: int = 0
    sign_ins: list[SignIn] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)


@lru_cache(maxsize=100_000)
def _place(lat: float, lon: float) -> tuple[str, str, float, float]:
    fine = geo.encode(lat, lon, SETTINGS.signals_location_precision)
    c_lat, c_lon = geo.centre(fine)
    return geo.encode(lat, lon, SETTINGS.signals_cell_precision), fine, c_lat, c_lon


@lru_cache(maxsize=10_000)
def _prefix(ip: str) -> str:
    return geo.ip_prefix(ip)


def profile_from_history(h: History, as_of: datetime) -> ActivityProfile:
    """The profile the platform would hold for this history (the served fold: ``shared.signals.fold``)."""
    raw = RawProfile()
    seen: set[str] = set()
    for i, s in enumerate(sorted(h.sign_ins, key=lambda s: s.at)):
        location = cell = None
        if s.lat is not None and s.lon is not None:
            cell, fine, c_lat, c_lon = _place(s.lat, s.lon)
            location = LastLocation(cell=fine, lat=c_lat, lon=c_lon, at=s.at)
        fold_sign_in(raw, SignInFact(user_id=h.user_id, session_id=f"s{i}", device_id=s.device_id,
                                     network=s.network, ip_prefix=_prefix(s.ip) if s.ip else None, cell=cell,
                                     location=location, client=CLIENT, at=s.at), LIMITS)
    for i, e in enumerate(h.entries):
        new_contact = e.counterparty_is_customer and e.counterparty not in seen
        if new_contact:
            seen.add(e.counterparty)
        fact = LedgerFact(user_id=h.user_id, account_id=h.account_id, entry_key=f"e{i}", transaction_id=f"t{i}",
                          type=e.type, direction=e.direction, amount=e.amount, counterparty_account_id=e.counterparty,
                          counterparty_is_customer=e.counterparty_is_customer, at=e.at)
        fold_entry(raw, fact, local=local_time(e.at, SETTINGS.utc_offset),
                   spend=e.direction is Direction.OUT and e.type in SETTINGS.spend_types, new_contact=new_contact)
    raw.real_name = RealName(status="VERIFIED", birth_date=h.birth_date) if h.birth_date else RealName()
    return raw.to_profile(h.user_id, as_of, local_time(as_of, SETTINGS.utc_offset).date(),
                          account_id=h.account_id, account_created_at=h.account_created_at,
                          group_count=h.group_count, window_days=SETTINGS.signals_max_window_days)


# --- drawing histories ----------------------------------------------------------------------------
def _rate(rng: np.random.Generator, mean: float) -> float:
    return float(rng.gamma(4.0, mean / 4.0)) if mean > 0 else 0.0  # CV 0.5 around the persona's value


_BLOCK_HOURS = [np.asarray(b) for b in HOUR_BLOCKS]


def _times(rng: np.random.Generator, n: int, start: datetime, end: datetime, hour_p: np.ndarray,
           weekend: float) -> list[datetime]:
    """``n`` times between start and end with the user's hour-of-day and weekend mix (local time)."""
    if n <= 0:
        return []
    offset = SETTINGS.utc_offset
    first, days = (start + offset).date(), max(1, (end - start).days)
    offsets = np.arange(days)
    is_weekend = (first.weekday() + offsets) % 7 >= 5
    weekdays, weekends = offsets[~is_weekend], offsets[is_weekend]
    weekdays = weekdays if weekdays.size else offsets
    weekends = weekends if weekends.size else weekdays
    on_weekend = rng.random(n) < weekend
    picks = rng.random(n)
    day = np.where(on_weekend, weekends[(picks * weekends.size).astype(int)],
                   weekdays[(picks * weekdays.size).astype(int)])
    blocks = rng.choice(4, size=n, p=hour_p)
    within = rng.random(n)
    hour = np.asarray([_BLOCK_HOURS[b][int(w * len(_BLOCK_HOURS[b]))] for b, w in zip(blocks, within, strict=True)])
    seconds = day * 86400 + hour * 3600 + rng.integers(0, 60, size=n) * 60
    base = datetime(first.year, first.month, first.day, tzinfo=UTC) - offset
    lo, hi = start, end
    return [min(max(base + timedelta(seconds=int(x)), lo), hi) for x in seconds]


def sample_history(persona: Persona, rng: np.random.Generator, as_of: datetime, user_id: str = "u") -> History:
    mean, sd, lo, hi = persona.age
    age = float(np.clip(rng.normal(mean, sd), lo, hi))
    account_days = min(rng.lognormal(np.log(persona.account_age_days), 0.7), max(30.0, (age - 12) * 365))
    created = as_of - timedelta(days=float(account_days))
    start = max(created, as_of - timedelta(days=HORIZON_DAYS))
    months = (as_of - start).days / 30.0
    birth = (as_of - timedelta(days=int(age * 365.25))).date() if rng.random() < REAL_NAME_SHARE else None
    h = History(user_id=user_id, account_id=f"acc_{user_id}", account_created_at=created, birth_date=birth,
                group_count=int(rng.random() < persona.group))
    hour_p = rng.dirichlet(np.asarray(persona.hours) * 3)
    weekend = float(rng.beta(*persona.weekend))
    contacts = max(1, int(rng.poisson(_rate(rng, persona.contacts))))
    median = _rate(rng, persona.median_yuan)

    def count(per_month: float) -> int:
        return int(rng.poisson(_rate(rng, per_month) * months))

    def amount() -> int:
        return max(1, int(rng.lognormal(np.log(max(median, 1.0)), 0.6) * 100))

    kinds = [("P2P_TRANSFER", Direction.OUT, count(persona.p2p_out), True),
             ("P2P_TRANSFER", Direction.IN, count(persona.p2p_in), True),
             ("DEPOSIT" if rng.random() < 0.5 else "PROXY_TOP_UP", Direction.IN, count(persona.top_ups), False),
             ("CAMPAIGN_PRIZE", Direction.IN, count(persona.prizes), False)]
    for tx_type, direction, n, is_customer in kinds:
        for at in _times(rng, n, start, as_of, hour_p, weekend):
            peer = f"acc_peer{int(rng.zipf(1.6)) % contacts}" if is_customer else "sys_settlement_CNY"
            h.entries.append(Entry(at, tx_type, direction, amount() * (3 if tx_type != "P2P_TRANSFER" else 1),
                                   peer, is_customer))
    devices = 1 + int(rng.poisson(persona.devices))
    places = [(float(rng.uniform(22, 40)), float(rng.uniform(105, 122)))
              for _ in range(persona.places_base + int(rng.poisson(persona.places)))]
    wifi = float(rng.beta(*persona.wifi))
    for i, at in enumerate(sorted(_times(rng, max(1, count(persona.logins)), start, as_of, hour_p, weekend))):
        lat, lon = places[0] if rng.random() < 0.6 else places[int(rng.integers(0, len(places)))]
        network = Network.WIFI if rng.random() < wifi else (Network.CELLULAR if rng.random() < 0.95
                                                             else Network.UNKNOWN)
        device = f"dev-{user_id}-{0 if i == 0 or rng.random() < 0.8 else int(rng.integers(0, devices))}"
        h.sign_ins.append(SignIn(at, device, network, lat, lon, f"100.{64 + int(rng.integers(0, 3))}.0.1"))
    return h


def generate(identity_type: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``n`` synthetic users for ``identity_type``: features (float32, FEATURE_NAMES order), labels, personas."""
    mixture = MIXTURES[identity_type]
    rng = np.random.default_rng(seed)
    names = list(mixture)
    weights = np.array([mixture[k][0] for k in names])
    chosen = rng.choice(len(names), size=n, p=weights / weights.sum())
    rows, labels, personas = [], [], []
    for i, idx in enumerate(chosen):
        name = names[int(idx)]
        history = sample_history(PERSONAS[name], rng, AS_OF, user_id=f"u{i}")
        rows.append(build_features(profile_from_history(history, AS_OF)).values)
        label = mixture[name][1]
        labels.append(1 - label if rng.random() < LABEL_NOISE else label)
        personas.append(name)
    return np.asarray(rows, dtype=np.float32), np.asarray(labels, dtype=np.int64), personas
