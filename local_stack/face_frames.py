"""LOCAL ONLY: synthesise liveness frames that answer a challenge from one still face photo.

This is a 2D-photo replay attack made to order, and the active liveness check cannot tell it apart from a
real head movement (docs/liveness.md). That is exactly why it exists: the demo, the tests and anyone
trying the local stack can pass the challenge without a camera. It lives in ``local_stack/`` (never in a
Lambda layer); the local route ``/local/real-name/liveness-frames`` will call :func:`liveness_frames`.

How: the photo's five landmarks are found with the real pipeline; for each step the face is treated as a
pseudo-3D surface (a smooth dome plus a bump at the nose tip) and "rotated": every point moves by its
depth * sin(angle) along the step's axis, applied as a fine Pillow MESH warp around the face, so the inner
face slides relative to its outline and the nose slides most, as in a head turn. One JPEG per step.
"""

from __future__ import annotations

import hashlib
import io
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from PIL import Image

from shared.face.errors import FaceQualityError
from shared.face.liveness import Thresholds, judge_step
from shared.face.matching import cosine_similarity
from shared.face.models import LivenessStep
from shared.face.pose import NOSE_DEPTH
from shared.face.service import FaceService

# Pose each synthetic frame shows (comfortably past the check's default 12 deg / 8 deg thresholds).
YAW_DEG = 35.0
PITCH_DEG = 30.0
MAX_SIDE = 1280  # frames stay well under the 1 MB frame limit
# Warp strengths tried in turn (a negative gain flips the sense), and the margin over the check's thresholds.
GAINS = (1.0, 1.4, -1.0, -1.4, 1.8)
MARGIN = 1.25
_DIRECTION = {
    LivenessStep.TURN_LEFT: (1.0, 0.0),  # the user's left = the image's right (non-mirrored)
    LivenessStep.TURN_RIGHT: (-1.0, 0.0),
    LivenessStep.LOOK_UP: (0.0, -1.0),
    LivenessStep.LOOK_DOWN: (0.0, 1.0),
}


def _service() -> FaceService:
    from shared.face.settings import FaceSettings
    from shared.face.wiring import face_service

    return face_service(FaceSettings.from_env())


def _warp(image: Image.Image, marks: np.ndarray, step: LivenessStep, gain: float) -> Image.Image:
    """Rotate a pseudo-3D head: depth = a smooth dome over the face plus a bump at the nose tip; a turn moves
    every point sideways by depth * sin(angle) (a nod, vertically), so the inner face slides relative to the
    outline and the nose slides most, as in a real head rotation (orthographic projection)."""
    ux, uy = _DIRECTION[step]
    iod = float(np.linalg.norm(marks[1] - marks[0]))
    eyes, mouth, nose = marks[:2].mean(axis=0), marks[3:].mean(axis=0), marks[2]
    centre = (eyes + mouth) / 2
    angle = math.radians(YAW_DEG if ux else PITCH_DEG)
    shift = np.array([ux, uy]) * math.sin(angle) * gain
    a, b, dome = 1.3 * iod, 1.7 * iod, (1.0 if ux else 0.4) * iod  # a nod: mostly the nose moves
    nose_height, nose_sigma = NOSE_DEPTH * iod, 0.3 * iod

    def displacement(points: np.ndarray) -> np.ndarray:
        rel = points - centre
        depth = dome * np.exp(-((rel[..., 0] / a) ** 2 + (rel[..., 1] / b) ** 2))
        rn = points - nose
        depth = depth + nose_height * np.exp(-(rn**2).sum(axis=-1) / (2 * nose_sigma**2))
        return depth[..., None] * shift

    half = int(3.5 * iod)
    x0, y0 = max(0, int(centre[0]) - half), max(0, int(centre[1]) - half)
    x1, y1 = min(image.width, int(centre[0]) + half), min(image.height, int(centre[1]) + half)
    cell = max(2, int(iod / 16))
    gxs = np.unique(np.arange(x0, x1 + cell, cell).clip(max=x1))
    gys = np.unique(np.arange(y0, y1 + cell, cell).clip(max=y1))
    gx, gy = np.meshgrid(gxs, gys)
    out = np.stack([gx, gy], axis=-1).astype(np.float64)
    src = out.copy()
    for _ in range(10):  # invert p = s + D(s) by fixed-point iteration (|grad D| < 1)
        src = out - displacement(src)
    mesh = []
    for j in range(len(gys) - 1):
        for i in range(len(gxs) - 1):
            box = (int(gxs[i]) - x0, int(gys[j]) - y0, int(gxs[i + 1]) - x0, int(gys[j + 1]) - y0)
            ul, ll, lr, ur = src[j, i], src[j + 1, i], src[j + 1, i + 1], src[j, i + 1]
            mesh.append((box, (ul[0], ul[1], ll[0], ll[1], lr[0], lr[1], ur[0], ur[1])))
    patch = image.transform((x1 - x0, y1 - y0), Image.Transform.MESH, mesh, resample=Image.Resampling.BILINEAR)
    frame = image.copy()
    frame.paste(patch, (x0, y0))
    return frame


def _encode(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def liveness_frames(image: bytes, steps: Sequence[LivenessStep | str], *, service: FaceService | None = None,
                    quality: int = 90) -> list[bytes]:
    """(face photo bytes, challenge steps) -> one JPEG per step that answers it. Raises the pipeline's
    domain errors (NOT_AN_IMAGE, NO_FACE, …) for a photo that cannot be used.

    The attacker has the same open models as the server: each frame is re-measured with the real pipeline
    and the warp is strengthened (or its sense flipped, where YuNet reads a 2D warp of the nose the other
    way round) until the check's own thresholds are met with a margin. If no warp does, the strongest
    attempt is returned and the check will refuse it."""
    svc = service or _service()
    t = Thresholds.of(svc.settings)
    wanted = list(map(LivenessStep, steps))
    photo = (hashlib.sha256(image).hexdigest(), quality, t)
    missing = [step for step in dict.fromkeys(wanted) if (photo, step) not in _FRAMES]
    if missing:
        for step, frame in zip(missing, _answer(svc, image, missing, t, quality), strict=True):
            _remember((photo, step), frame)
    return [_FRAMES[(photo, step)] for step in wanted]


# The frame answering one step depends only on the photo, the step, the JPEG quality and the check's
# thresholds: a challenge of steps already answered for a photo costs no model run (tests and the demo draw
# many challenges for the same few photos).
_FRAMES: OrderedDict[tuple[tuple[str, int, Thresholds], LivenessStep], bytes] = OrderedDict()
_FRAMES_KEPT = 256
_FRAMES_LOCK = threading.Lock()


def _remember(key: tuple[tuple[str, int, Thresholds], LivenessStep], frame: bytes) -> None:
    with _FRAMES_LOCK:
        _FRAMES[key] = frame
        while len(_FRAMES) > _FRAMES_KEPT:
            _FRAMES.popitem(last=False)


def _answer(svc: FaceService, image: bytes, steps: Sequence[LivenessStep], t: Thresholds,
            quality: int) -> list[bytes]:
    decoded = svc.decode_selfie(image)
    picture = decoded.image
    if max(picture.size) > MAX_SIDE:
        k = MAX_SIDE / max(picture.size)
        picture = picture.resize((round(picture.width * k), round(picture.height * k)), Image.Resampling.LANCZOS)
        decoded = type(decoded)(picture, decoded.scale_to_original / k)
    selfie = svc.analyze(decoded)  # the photo itself must pass the gates
    marks = np.asarray(selfie.face.landmarks, dtype=np.float64)
    margin = Thresholds(t.yaw_deg * MARGIN, t.pitch_deg * MARGIN, t.match)
    frames = []
    for step in steps:
        chosen = b""
        for gain in GAINS:
            chosen = _encode(_warp(picture, marks, step, gain), quality)
            try:
                seen = svc.analyze(svc.decode_frame(chosen))
            except FaceQualityError:
                continue
            yaw, pitch = seen.pose.yaw - selfie.pose.yaw, seen.pose.pitch - selfie.pose.pitch
            if not judge_step(step, yaw, pitch, margin) and \
                    cosine_similarity(seen.embedding, selfie.embedding) >= t.match + 0.05:
                break
        frames.append(chosen)
    return frames
