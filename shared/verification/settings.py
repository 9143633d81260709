"""Typed configuration of the verification functions (environment variables from template.yaml).

Rules, thresholds and limits are not here: they are the policy document (``policy.py``), loaded through
Powertools Parameters from AppConfig (``VERIFICATION_POLICY_SOURCE=appconfig``, on AWS) or from the file in the
layer (``file``, the local stack: ``Metadata.LocalStack`` of the template). Verification moves no money itself,
but the transfer function runs its inline decision, so the settings extend the ledger's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from shared.ledger.settings import LedgerSettings
from shared.signals.settings import SignalsSettings

POLICY_FILE = Path(__file__).resolve().parent / "policy.json"


class VerificationSettings(LedgerSettings):
    verifications_table: str = Field(min_length=1)
    # the activity profile (risk signals): read for every decision, written with outcomes and trusted devices
    signals_table: str = Field(min_length=1)
    # --- the policy document ------------------------------------------------------------------------------
    verification_policy_source: Literal["file", "appconfig"] = "file"
    verification_policy_file: str = ""  # default: policy.json in the layer, next to this module
    verification_policy_application: str = ""
    verification_policy_environment: str = ""
    verification_policy_profile: str = ""
    verification_policy_cache_seconds: int = Field(default=60, ge=0, le=3600)
    # --- the platform's personal-data hash key (PersonalDataHashKeySecret, shared.crypto): codes and tokens are
    # stored only as keyed hashes under their own purposes (OTP, PHONE_OTP, VERIFICATION_TOKEN) ---------------
    personal_data_hash_secret_id: str = Field(min_length=1)
    verification_key_cache_seconds: int = Field(default=300, ge=0, le=3600)
    # --- model, SMS -------------------------------------------------------------------------
    verification_model_dir: str = ""  # default: MODEL_DIR, /opt/model, layers/model/models
    verification_sms_sender: str = Field(default="WALLET", max_length=11)
    verification_max_face_bytes: int = Field(default=2 * 1024 * 1024, gt=0)

    @model_validator(mode="after")
    def _appconfig_named(self) -> VerificationSettings:
        if self.verification_policy_source == "appconfig" and not (
                self.verification_policy_application and self.verification_policy_environment
                and self.verification_policy_profile):
            raise ValueError("appconfig policy source needs VERIFICATION_POLICY_APPLICATION, _ENVIRONMENT, _PROFILE")
        return self

    @property
    def signals(self) -> SignalsSettings:
        """The risk signals' settings the decision reads the profile with (the signals' defaults otherwise; no
        groups table: the decision does not use the membership count)."""
        return SignalsSettings(signals_table=self.signals_table, accounts_table=self.accounts_table,
                               ledger_table=self.ledger_table)

    @property
    def policy_file(self) -> Path:
        return Path(self.verification_policy_file) if self.verification_policy_file else POLICY_FILE
