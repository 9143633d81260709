"""Typed settings of the identity-verification functions (environment, validated at start)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from shared.identity.models import FindingCode
from shared.settings import BaseSettings

ALLOWED_DOCUMENT_TYPES = ("image/jpeg", "image/png", "application/pdf")
DEFAULT_AUTO_REJECT = (FindingCode.CREDENTIAL_VERIFIED_FOR_ANOTHER_ACCOUNT, FindingCode.DOCUMENT_IMAGE_REUSED)


class IdentitySettings(BaseSettings):
    identity_table: str = Field(min_length=1)
    identity_registry_table: str = ""
    identity_documents_bucket: str = ""
    identity_state_machine_arn: str = ""
    # Waits of the workflow (the execution input carries them to TimeoutSecondsPath).
    identity_document_wait_seconds: int = Field(default=7 * 24 * 3600, ge=1, le=30 * 24 * 3600)
    identity_review_wait_seconds: int = Field(default=3 * 24 * 3600, ge=1, le=30 * 24 * 3600)
    identity_max_document_bytes: int = Field(default=5 * 1024 * 1024, gt=0, le=20 * 1024 * 1024)
    identity_upload_url_seconds: int = Field(default=900, ge=60, le=3600)
    # Registry adapter: the embedded table (default) or a real registry over HTTP.
    identity_registry_backend: Literal["table", "http"] = "table"
    identity_registry_url: str = ""
    identity_registry_timeout_seconds: float = Field(default=2.0, gt=0, le=5)
    identity_registry_attempts: int = Field(default=2, ge=1, le=4)
    # Automated document checks (shared/identity/checks.py): findings that reject without a person, and whether
    # a clean document that the registry confirms is approved without one (template parameters of the same names).
    identity_auto_reject_findings: tuple[FindingCode, ...] = DEFAULT_AUTO_REJECT
    identity_auto_approve: bool = False
    # Same document from several accounts: Hamming distance of the 256-bit pHash that still counts as the same
    # image (<= 15, what the 16-band index finds), how far back submissions count, and how many index items one
    # check reads at most (beyond it: DOCUMENT_IMAGE_CHECK_INCOMPLETE for the reviewer).
    identity_image_match_max_distance: int = Field(default=12, ge=0, le=15)
    identity_image_index_days: int = Field(default=730, ge=1, le=3650)
    identity_image_max_candidates: int = Field(default=2000, ge=16, le=20000)
    # The platform's personal-data hash key (Secrets Manager; shared.crypto): the credential index's keyed hash
    # and the comparison with the account holder's real-name identity (§5).
    personal_data_hash_secret_id: str = ""

    @field_validator("identity_auto_reject_findings", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value
    # Risk signals (the scoring step reads the user's projected activity profile through SignalsReader)
    signals_table: str = ""
    accounts_table: str = ""
    ledger_table: str = ""
    groups_table: str = ""
    # §5: the registry record must be the account holder's verified real-name identity (keyed hashes).
    realname_table: str = ""
