"""Typed settings of the risk-signal functions (environment from template.yaml's ``SignalsEnv`` anchor).

Every bound of the profile is here: nothing grows without limit, and each window is checked by time.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from shared.settings import BaseSettings


class SignalsSettings(BaseSettings):
    signals_table: str = Field(min_length=1)
    # bounded lists of the profile
    signals_max_devices: int = Field(default=10, ge=1, le=50)
    signals_max_ip_prefixes: int = Field(default=10, ge=1, le=50)
    signals_max_cells: int = Field(default=20, ge=1, le=100)
    signals_max_bindings: int = Field(default=20, ge=1, le=100)  # listed in the profile (counts cover all)
    # geohash lengths: the area cell of the cross-user index (5: ~4.9 km) and the last location (6: ~1.2 km)
    signals_cell_precision: int = Field(default=5, ge=3, le=6)
    signals_location_precision: int = Field(default=6, ge=4, le=7)
    # the cross-user attempt counters are kept in buckets of this many seconds
    signals_bucket_seconds: int = Field(default=60, ge=10, le=3600)
    # the longest window a reader may ask for; items are garbage-collected (TTL) some time after it
    signals_max_window_days: int = Field(default=90, ge=1, le=400)
    signals_accounts_on_device_limit: int = Field(default=50, ge=1, le=500)
    # ledger activity: local time of the hour/weekday buckets and days (UTC+8: the wallet's market)
    signals_utc_offset_minutes: int = Field(default=480, ge=-720, le=840)
    signals_spend_types: str = Field(default="P2P_TRANSFER", pattern=r"^[A-Z0-9_]+(,[A-Z0-9_]+)*$")
    # the per-entry put-once markers must outlive the stream's retention (24 h) and Lambda's retries
    signals_marker_days: int = Field(default=7, ge=2, le=30)
    # IP reputation lists (a JSON file in the layer; empty = the one that ships with shared/signals)
    signals_ip_lists_file: str = ""
    # tag history shown to admins
    signals_tag_history_limit: int = Field(default=20, ge=1, le=100)
    # read-only neighbours (Globals / SignalsEnv): the ledger's accounts (owner, kind, created at) and the
    # groups table (membership count); empty = not read (a function that needs neither)
    accounts_table: str = ""
    ledger_table: str = ""
    groups_table: str = ""

    @property
    def spend_types(self) -> frozenset[str]:
        return frozenset(self.signals_spend_types.split(","))

    @property
    def max_window(self) -> timedelta:
        return timedelta(days=self.signals_max_window_days)

    @property
    def utc_offset(self) -> timedelta:
        return timedelta(minutes=self.signals_utc_offset_minutes)


class ProjectorSettings(SignalsSettings):
    """The ledger stream projector must read the accounts table (owner and kind of an entry's account)."""

    accounts_table: str = Field(min_length=1)
    ledger_table: str = Field(min_length=1)
