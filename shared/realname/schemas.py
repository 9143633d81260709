"""API models of real-name sessions, mapped explicitly from entities. Names and ID numbers appear only masked."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from shared.face.schemas import FaceProof
from shared.identity_numbers import IdNumber
from shared.realname.models import (
    OPEN,
    IdentityField,
    NextStep,
    RealNameSession,
    RequestContext,
    SessionStatus,
)
from shared.types import Name

DeviceId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-:.]+$")]
SessionId = Annotated[str, StringConstraints(min_length=4, max_length=64, pattern=r"^rn_[a-f0-9]+$")]


class GeoPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class SessionContext(BaseModel):
    """The client's context: its device id (as sent at sign-in), where it is, its network."""

    model_config = ConfigDict(extra="forbid")

    device_id: DeviceId
    geo: GeoPoint | None = None
    network: Literal["WIFI", "CELLULAR", "UNKNOWN"] | None = None

    def to_domain(self, source_ip: str | None) -> RequestContext:
        return RequestContext(device_id=self.device_id, lat=self.geo.lat if self.geo else None,
                              lon=self.geo.lon if self.geo else None, network=self.network, source_ip=source_ip)


class CreateSessionRequest(FaceProof):
    """``POST /real-name/sessions``: the selfie, the answered liveness challenge and the client's context."""

    context: SessionContext


class ConfirmationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirmed: StrictBool = Field(description="true: the proposed identity is mine; false: it is not.")


class IdentityRequest(BaseModel):
    """The typed identity: the ID number (GB 11643 checksum) and the name when ``required_fields`` asks."""

    model_config = ConfigDict(extra="forbid")

    id_number: IdNumber
    name: Name | None = None


class MaskedIdentity(BaseModel):
    masked_name: str = Field(examples=["L*****"])
    masked_id_number: str = Field(examples=["1****************2"])


_NEXT = {SessionStatus.AWAITING_CONFIRMATION: NextStep.CONFIRM_IDENTITY,
         SessionStatus.AWAITING_IDENTITY: NextStep.ENTER_IDENTITY, SessionStatus.REJECTED: NextStep.REJECTED}


class SessionResponse(BaseModel):
    session_id: str
    status: SessionStatus
    next: NextStep | None = Field(description="What the client shows next (none once the session is final).")
    proposed_identity: MaskedIdentity | None = None
    required_fields: list[IdentityField] | None = None
    verified_identity: MaskedIdentity | None = None
    reasons: list[str]
    policy_version: str | None = None
    created_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, session: RealNameSession) -> SessionResponse:
        proposed = session.proposed if session.status is SessionStatus.AWAITING_CONFIRMATION else None
        verified = session.verified_identity if session.status is SessionStatus.VERIFIED else None
        return cls(
            session_id=session.session_id, status=session.status,
            next=_NEXT.get(session.status) if session.status in OPEN or session.status is SessionStatus.REJECTED
            else None,
            proposed_identity=MaskedIdentity(masked_name=proposed.masked_name,
                                             masked_id_number=proposed.masked_id_number) if proposed else None,
            required_fields=list(session.required_fields)
            if session.status is SessionStatus.AWAITING_IDENTITY else None,
            verified_identity=MaskedIdentity(masked_name=verified.masked_name,
                                             masked_id_number=verified.masked_id_number) if verified else None,
            reasons=list(session.reasons),
            policy_version=session.assessment.policy_version if session.assessment else None,
            created_at=session.created_at, expires_at=session.expires_at)
