"""Domain errors of face images and liveness. They know nothing about HTTP (``shared.api.errors`` maps them):
``NOT_AN_IMAGE`` is malformed input (400), ``IMAGE_TOO_LARGE`` 413, the face-quality codes and
``LIVENESS_FAILED`` are well-formed input that cannot be used (422). Challenges: ``CHALLENGE_NOT_FOUND`` 404 (also
another user's), ``CHALLENGE_EXPIRED`` 422, ``CHALLENGE_ALREADY_USED`` 409; ``FACE_NOT_ENROLLED`` 404."""

from __future__ import annotations

from shared.errors import BadRequest, Conflict, InvalidInput, NotFound, PayloadTooLarge


class NotAnImage(BadRequest):
    code = "NOT_AN_IMAGE"
    default_message = "The image is not a readable JPEG or PNG file."


class ImageTooLarge(PayloadTooLarge):
    code = "IMAGE_TOO_LARGE"
    default_message = "The image is too large."


class FaceQualityError(InvalidInput):
    """Base of the gates that refuse a decodable image whose face cannot be used."""

    code = "FACE_QUALITY"


class NoFace(FaceQualityError):
    code = "NO_FACE"
    default_message = "No face was found in the image."


class MultipleFaces(FaceQualityError):
    code = "MULTIPLE_FACES"
    default_message = "More than one face was found; only the user's face may be in the picture."


class FaceTooSmall(FaceQualityError):
    code = "FACE_TOO_SMALL"
    default_message = "The face is too small; move closer to the camera."


class LowQuality(FaceQualityError):
    code = "LOW_QUALITY"
    default_message = "The face is too blurred; hold still in good light and try again."


class LivenessFailed(InvalidInput):
    code = "LIVENESS_FAILED"
    default_message = "The liveness check failed: the frames did not follow the challenge."

    def __init__(self, message: str | None = None, *, reasons: tuple[str, ...] = (), **details: object) -> None:
        self.reasons = reasons
        super().__init__(message, reasons=list(reasons), **details)


class ChallengeNotFound(NotFound):
    """No such challenge for this caller (a foreign challenge id is indistinguishable from a missing one)."""

    code = "CHALLENGE_NOT_FOUND"
    default_message = "No such liveness challenge; ask for a new one (POST /real-name/challenges)."


class ChallengeExpired(InvalidInput):
    code = "CHALLENGE_EXPIRED"
    default_message = "The liveness challenge has expired; ask for a new one."


class ChallengeUsed(Conflict):
    code = "CHALLENGE_ALREADY_USED"
    default_message = "The liveness challenge was already used; ask for a new one."


class FaceNotEnrolled(NotFound):
    code = "FACE_NOT_ENROLLED"
    default_message = "No reference face is enrolled for this user (PUT /me/face)."
