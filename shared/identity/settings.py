"""Typed settings of the identity-verification functions (environment, validated at start)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.settings import BaseSettings

ALLOWED_DOCUMENT_TYPES = ("image/jpeg", "image/png", "application/pdf")


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
    # §5: the registry record must be the account holder's verified real-name identity (keyed hashes).
    realname_table: str = ""
    realname_hash_secret_id: str = ""
