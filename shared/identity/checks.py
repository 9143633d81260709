"""The rules of the automated document checks (SPEC §3 step 4), pure: what each answer means, and what the
checks decide from their findings. ``WorkflowSteps.check_document`` gathers the answers through the ports.

Decision, in order:

1. the file itself fails (missing, wrong type or signature, size, undecodable, number differs from the claim)
   -> ``REJECT`` (``DOCUMENT_CHECKS_FAILED``);
2. a finding listed in ``IDENTITY_AUTO_REJECT_FINDINGS`` (default: a credential already verified for another
   account, a document image another account submitted) -> ``REJECT`` with that finding's code;
3. ``IDENTITY_AUTO_APPROVE`` (default off), no finding at all and the registry confirms the claim -> ``APPROVE``
   (the tag is valid until the registry record's date);
4. otherwise -> ``REVIEW``: a person decides, with the findings in the review item.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from enum import StrEnum

from pydantic import BaseModel

from shared.identity.catalog import IdentityType
from shared.identity.models import Finding, FindingCode, RegistryRecord, normalize

MESSAGES: dict[FindingCode, str] = {
    FindingCode.REGISTRY_NO_RECORD: "The registry has no record of this credential number at this institution.",
    FindingCode.REGISTRY_NAME_MISMATCH: "The registry's record of this credential is in another name.",
    FindingCode.REGISTRY_IDENTITY_TYPE_MISMATCH: "The registry's record of this credential is of another "
                                                 "identity type.",
    FindingCode.REGISTRY_KEY_MISMATCH: "The registry's record differs from the claim in its institution or number.",
    FindingCode.REGISTRY_RECORD_INACTIVE: "The registry marks this credential as no longer active.",
    FindingCode.REGISTRY_UNAVAILABLE: "The registry could not be asked; check the credential by hand.",
    FindingCode.CREDENTIAL_EXPIRED: "The credential's validity has ended.",
    FindingCode.CREDENTIAL_VERIFIED_FOR_ANOTHER_ACCOUNT: "This credential is already verified for another account.",
    FindingCode.DOCUMENT_IMAGE_REUSED: "Another account submitted the same or a near-identical document.",
    FindingCode.DOCUMENT_IMAGE_CHECK_INCOMPLETE: "Too many similar documents to compare them all; compare by hand.",
    FindingCode.AUTOMATED_CHECKS_UNAVAILABLE: "The automated checks could not run; check everything by hand.",
}


class CheckDecision(StrEnum):
    REJECT = "REJECT"
    APPROVE = "APPROVE"
    REVIEW = "REVIEW"


class RegistryAnswer(BaseModel):
    """What the registry said about the credential: the findings, and whether it confirms the claim."""

    findings: list[Finding]
    confirmed: bool
    valid_until: date | None = None


def finding(code: FindingCode, related: Iterable[str] = ()) -> Finding:
    return Finding(code=code, message=MESSAGES[code], related=sorted(set(related)))


def registry_answer(identity_type: IdentityType, claimed: Mapping[str, str], record: RegistryRecord | None,
                    today: date) -> RegistryAnswer:
    """Compare the registry's record of the credential with the claim.

    Confirmed only if every rule holds: a record exists, of the claimed identity type, in the claimed name,
    with the claimed key fields, active, and valid after today (the same rules as ``service.match``)."""
    if record is None:
        return RegistryAnswer(findings=[finding(FindingCode.REGISTRY_NO_RECORD)], confirmed=False)
    found: list[Finding] = []
    if record.identity_type != identity_type.name:
        found.append(finding(FindingCode.REGISTRY_IDENTITY_TYPE_MISMATCH))
    if normalize(record.fields.get("name", "")) != normalize(claimed.get("name", "")):
        found.append(finding(FindingCode.REGISTRY_NAME_MISMATCH))
    if any(normalize(record.fields.get(f, "")) != normalize(claimed.get(f, "")) for f in identity_type.registry_key):
        found.append(finding(FindingCode.REGISTRY_KEY_MISMATCH))
    if record.status != "ACTIVE":
        found.append(finding(FindingCode.REGISTRY_RECORD_INACTIVE))
    if record.valid_until <= today:
        found.append(finding(FindingCode.CREDENTIAL_EXPIRED))
    return RegistryAnswer(findings=found, confirmed=not found, valid_until=record.valid_until)


def credential_identity(identity_type: IdentityType, fields: Mapping[str, str]) -> str:
    """The canonical text naming one credential (registry, type, normalised key fields), which the keyed hash
    of the credential index is taken over: ``Some University``/``AB-0001`` and ``some  university``/``ab-0001``
    are the same credential."""
    parts = [identity_type.registry, identity_type.name, *(normalize(fields[f]) for f in identity_type.registry_key)]
    return "\x1f".join(parts)


def decide(integrity_failures: list[str], findings: list[Finding], registry_confirmed: bool,
           auto_reject: Iterable[FindingCode], auto_approve: bool) -> tuple[CheckDecision, str]:
    """(decision, reason) of the automated stage; the rules are in the module's docstring."""
    if integrity_failures:
        return CheckDecision.REJECT, "DOCUMENT_CHECKS_FAILED"
    rejecting = set(auto_reject)
    for f in findings:
        if f.code in rejecting:
            return CheckDecision.REJECT, f.code.value
    if auto_approve and registry_confirmed and not findings:
        return CheckDecision.APPROVE, "DOCUMENT_CHECKS_APPROVED"
    return CheckDecision.REVIEW, "DOCUMENT_CHECKS_PASSED" if not findings else "DOCUMENT_CHECKS_PASSED_WITH_FINDINGS"
