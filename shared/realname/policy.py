"""The real-name policy: one versioned configuration document (thresholds, windows, the combination rule,
the fields to type, session and lockout limits), and the combination of risk and trust it prescribes.

The document is ``shared/realname/policy.json`` in the layer, or the AppConfig profile the template declares
(``adapters.PolicyProvider``, Powertools Parameters); every assessment records the version it used.

Modes (the patent's variants):

* ``ANY_RISK_FAILS`` (default): any risk hit fails; otherwise pass. Trust is computed and recorded anyway.
* ``RISK_AND_UNTRUSTED_FAILS``: fail only when there is risk *and* the user is not trusted.
* ``TRUSTED_PASSES``: pass only when the user is trusted (risk recorded, not decisive).
* ``NO_RISK_AND_TRUSTED_PASSES``: pass only with no risk and trust.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.realname.models import IdentityField, RiskItem


class PolicyMode(StrEnum):
    ANY_RISK_FAILS = "ANY_RISK_FAILS"
    RISK_AND_UNTRUSTED_FAILS = "RISK_AND_UNTRUSTED_FAILS"
    TRUSTED_PASSES = "TRUSTED_PASSES"
    NO_RISK_AND_TRUSTED_PASSES = "NO_RISK_AND_TRUSTED_PASSES"


class LoginRule(StrEnum):
    LOGINS_OR_CONTACTS = "LOGINS_OR_CONTACTS"
    LOGINS_AND_CONTACTS = "LOGINS_AND_CONTACTS"
    LOGINS = "LOGINS"


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RiskThresholds(_Doc):
    device_max_accounts: int = Field(ge=1)  # a device with more distinct accounts than this is abnormal
    device_window_days: int = Field(ge=1, le=365)
    watch_tags: tuple[str, ...]
    batch_face_window_seconds: int = Field(ge=60, le=24 * 3600)
    batch_face_min_other_accounts: int = Field(ge=1)  # other accounts with the same face in the window
    batch_face_similarity: float = Field(gt=0, lt=1)
    batch_face_max_scanned: int = Field(ge=10, le=100_000)
    area_window_seconds: int = Field(ge=60, le=24 * 3600)
    area_max_cell_attempts: int = Field(ge=1)  # more attempts than this in the cell: clustered
    area_max_prefix_attempts: int = Field(ge=1)


class TrustThresholds(_Doc):
    login_rule: LoginRule
    min_logins: int = Field(ge=0)  # sign-ins (POST /sessions) in the profile
    min_contacts: int = Field(ge=0)  # distinct customer counterparties (the ledger's contacts)
    min_transactions: int = Field(ge=0)
    transaction_types: tuple[str, ...] = Field(min_length=1)  # the ledger types that count as the user's own
    min_bindings: int = Field(ge=0)
    # the current area cell or IP prefix counts as usual when the profile saw it on at least this many sign-ins
    location_min_sign_ins: int = Field(ge=1)


class CandidateLimits(_Doc):
    """Bounds of the preset identity set one request searches (the 1:N candidates)."""

    max_contacts: int = Field(ge=0, le=500)  # contacts whose phones' identities join the set
    max_identities: int = Field(ge=1, le=1000)  # distinct identities searched at most


class RequiredFields(_Doc):
    default: tuple[IdentityField, ...] = Field(min_length=1)
    by_risk: dict[RiskItem, tuple[IdentityField, ...]] = Field(default_factory=dict)
    on_denied: tuple[IdentityField, ...] = Field(min_length=1)


class Lockout(_Doc):
    max_consecutive_failures: int = Field(ge=1, le=10)  # NIST SP 800-63B: at most 5 (10 with PAD)
    base_delay_seconds: int = Field(ge=1)  # at least 30 s in production (NIST); tests may shorten
    max_delay_seconds: int = Field(ge=1)

    def delay_seconds(self, failures: int) -> int:
        """0 below the limit; then base, doubling with each further consecutive failure, capped."""
        if failures < self.max_consecutive_failures:
            return 0
        doublings = min(failures - self.max_consecutive_failures, 30)
        return int(min(self.max_delay_seconds, self.base_delay_seconds * 2 ** doublings))


class Policy(_Doc):
    version: str = Field(min_length=1, max_length=64)
    mode: PolicyMode
    risk: RiskThresholds
    trust: TrustThresholds
    required_fields: RequiredFields
    candidates: CandidateLimits
    session_ttl_seconds: int = Field(ge=30, le=3600)
    lockout: Lockout

    def decide(self, risky: bool, trusted: bool) -> bool:
        """Pass (True) or fail under this policy's mode."""
        if self.mode is PolicyMode.ANY_RISK_FAILS:
            return not risky
        if self.mode is PolicyMode.RISK_AND_UNTRUSTED_FAILS:
            return not (risky and trusted is False)
        if self.mode is PolicyMode.TRUSTED_PASSES:
            return trusted
        return trusted and not risky

    def fields_for(self, risk_hits: set[RiskItem]) -> tuple[IdentityField, ...]:
        """The identity fields to type: the union of what each risk found demands, or the default."""
        fields: set[IdentityField] = set()
        for item in risk_hits:
            fields.update(self.required_fields.by_risk.get(item, self.required_fields.default))
        return _ordered(fields or set(self.required_fields.default))

    def fields_on_denied(self) -> tuple[IdentityField, ...]:
        return _ordered(set(self.required_fields.on_denied))


def _ordered(fields: set[IdentityField]) -> tuple[IdentityField, ...]:
    return tuple(f for f in IdentityField if f in fields)
