"""Typed configuration of the binding functions (environment variables from template.yaml's ``&BindingEnv``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.ledger.settings import LedgerSettings


class BindingSettings(LedgerSettings):
    bindings_table: str = Field(min_length=1)
    partners_table: str = Field(min_length=1)
    # Set only on the function that starts the saga (a step function referencing it would be a cycle).
    binding_state_machine_arn: str = ""
    # The platform's personal-data crypto (shared/crypto.py; docs/architecture.md "Personal data"): PersonalDataKey
    # seals partner signing secrets (purpose ``wallet-binding-partner-keys``) and customers' names and ID numbers
    # (purpose ``wallet-binding``); PersonalDataHashKeySecret hashes ID numbers (the same hash as §5's) and card
    # tokens.
    personal_data_key_id: str = Field(min_length=1)
    personal_data_hash_secret_id: str = Field(min_length=1)
    personal_data_hash_cache_seconds: int = Field(default=300, ge=0, le=3600)
    binding_confirmation_timeout_seconds: int = Field(default=900, ge=1, le=86400)
    binding_signature_max_age_seconds: int = Field(default=300, ge=1, le=3600)
    binding_signature_skew_seconds: int = Field(default=30, ge=0, le=300)
    binding_key_grace_seconds: int = Field(default=86400, ge=0, le=30 * 86400)
    binding_callback_timeout_seconds: float = Field(default=3.0, gt=0, le=10)
    # Plain-http callback URLs (and IP-literal hosts) only where the template allows them: the local stack.
    binding_allow_insecure_callbacks: bool = False
    binding_user_directory: Literal["cognito", "table"] = "cognito"
    user_pool_id: str = ""
    # §5's real-name records (``REALNAME#<sub>``): set only on the step that checks the customer's identity
    # (``FindAccountFunction``, GetItem); empty elsewhere (the check refuses to run without it: fails closed).
    realname_table: str = ""
    # The risk-signals table where binding state changes are recorded in the owner's activity profile: set only on
    # the functions that change a binding's state (activate, compensate, unbind); empty = not written.
    signals_table: str = ""
    # Adaptive verification's table, where the function consumes a §4 verification token (the unbind:
    # ACCOUNT_UPDATE; tokens are stored hashed with the personal-data hash key above); empty = no token is accepted.
    verifications_table: str = ""
