"""Typed settings of the real-name functions (environment, validated at start). Policy, thresholds, windows and
limits are not here: they are the versioned policy document (``policy.json`` / AppConfig)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from shared.face.settings import FaceApiSettings
from shared.signals.settings import SignalsSettings

DEFAULT_POLICY_FILE = str(Path(__file__).with_name("policy.json"))


class RealNameSettings(FaceApiSettings, SignalsSettings):
    """Face settings, the signals store's (risk and trust read the activity profile; attempts are counted in its
    indexes: ``SignalsEnv`` in the template, so cells and buckets match the sign-ins') and real-name's own."""

    realname_table: str = Field(min_length=1)
    # The platform's personal-data hash key (Secrets Manager; shared.crypto): ID-number and name hashes.
    personal_data_hash_secret_id: str = Field(min_length=1)
    realname_hash_key_cache_seconds: int = Field(default=300, ge=0, le=3600)
    # The policy document: the layer's file, or AppConfig (application/environment/profile ids).
    realname_policy_source: Literal["file", "appconfig"] = "file"
    realname_policy_file: str = DEFAULT_POLICY_FILE
    realname_appconfig_application: str = ""
    realname_appconfig_environment: str = ""
    realname_appconfig_profile: str = ""
    realname_policy_cache_seconds: int = Field(default=60, ge=0, le=3600)
    # The authoritative identity-photo store: the embedded table (local/dev) or an authority over HTTPS.
    realname_authority_backend: Literal["table", "http"] = "table"
    realname_authority_table: str = ""
    realname_authority_url: str = ""
    realname_authority_timeout_seconds: float = Field(default=2.0, gt=0, le=5)
    # Bank binding's table (§6): the holders of the caller's bound cards join the candidate set. Set only on the
    # function that builds the set (create session); empty = no card holders read.
    bindings_table: str = ""
    # Accounts (the caller's phone for the candidate set; template Globals).
    accounts_table: str = Field(min_length=1)
    ledger_table: str = Field(min_length=1)
