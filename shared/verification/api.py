"""HTTP edge used only by the verification handlers: a request's answer as the service's ``Answer``."""

from __future__ import annotations

from shared.verification.schemas import AttemptRequest, decode_image
from shared.verification.services.challenges import Answer, CardAnswer, FaceAnswer


def answer_of(request: AttemptRequest) -> Answer:
    card = CardAnswer(request.card.last4, request.card.id_number.upper()) if request.card else None
    face = None
    if request.face_image is not None and request.liveness is not None:
        face = FaceAnswer(decode_image(request.face_image), request.liveness.challenge_id,
                          [decode_image(f) for f in request.liveness.frames])
    return Answer(method=request.method, otp=request.otp, password=request.password, card=card, face=face)
