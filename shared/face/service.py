"""The face service: the one pipeline every face use calls, plus matching and liveness.

    analyze_selfie(bytes)  decode (2 MB, 4096 px) -> detect -> gates -> align -> embed   -> FaceAnalysis
    decode_frame(bytes)    decode (1 MB, 4096 px)                                       -> Decoded
    check_liveness(selfie, steps, frames)                                               -> LivenessResult
    verify(probe, reference)              1:1                                           -> MatchResult
    search(probe, matrix, ids)            1:N with a margin                             -> SearchResult
    new_challenge()                       random steps from a CSPRNG                    -> Challenge

Gates raise domain errors (``shared.face.errors``), checked in this order: NOT_AN_IMAGE / IMAGE_TOO_LARGE
(decode), NO_FACE, MULTIPLE_FACES, FACE_TOO_SMALL, LOW_QUALITY. Nothing here logs an image or an embedding.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from shared.face import detection, imaging, liveness, matching
from shared.face.errors import FaceTooSmall, LowQuality, MultipleFaces, NoFace
from shared.face.imaging import Decoded
from shared.face.models import (
    Challenge,
    Face,
    FaceAnalysis,
    LivenessResult,
    LivenessStep,
    MatchResult,
    SearchResult,
)
from shared.face.ports import FaceModels
from shared.face.pose import head_pose
from shared.face.settings import FaceSettings


class FaceService:
    def __init__(self, models: FaceModels, settings: FaceSettings) -> None:
        self.models = models
        self.settings = settings

    # --- decoding --------------------------------------------------------------------------------------
    def decode_selfie(self, data: bytes) -> Decoded:
        return imaging.decode_image(data, max_bytes=self.settings.face_max_image_bytes,
                                    max_side=self.settings.face_max_side_px)

    def decode_frame(self, data: bytes) -> Decoded:
        return imaging.decode_image(data, max_bytes=self.settings.face_max_frame_bytes,
                                    max_side=self.settings.face_max_side_px)

    # --- the pipeline ----------------------------------------------------------------------------------
    def detect(self, decoded: Decoded) -> list[Face]:
        """All faces above the score threshold after NMS, largest first, in decoded-image pixels."""
        tensor, scale = imaging.letterbox(decoded.image)
        outputs = self.models.detect(tensor)
        boxes, scores, marks = detection.decode(outputs, self.settings.face_score_threshold)
        keep = detection.nms(boxes, scores, self.settings.face_nms_iou)
        faces = [Face(box=tuple(float(v) / scale for v in boxes[i]),  # type: ignore[arg-type]
                      score=float(scores[i]),
                      landmarks=tuple((float(x) / scale, float(y) / scale) for x, y in marks[i]))  # type: ignore[arg-type]
                 for i in keep]
        return sorted(faces, key=lambda f: f.box[2] * f.box[3], reverse=True)

    def analyze(self, decoded: Decoded) -> FaceAnalysis:
        """The single usable face of a decoded image, or the gate's domain error."""
        faces = self.detect(decoded)
        if not faces:
            raise NoFace()
        main = faces[0]
        rivals = [f for f in faces[1:] if f.size >= self.settings.face_second_face_ratio * main.size]
        if rivals:
            raise MultipleFaces(faces=1 + len(rivals))
        size_px = main.size * decoded.scale_to_original
        if size_px < self.settings.face_min_size_px:
            raise FaceTooSmall(face_px=round(size_px), min_px=self.settings.face_min_size_px)
        aligned = imaging.align(decoded.image, np.asarray(main.landmarks, dtype=np.float64))
        sharp = imaging.sharpness(aligned)
        if sharp < self.settings.face_min_sharpness:
            raise LowQuality(sharpness=round(sharp, 1), min_sharpness=self.settings.face_min_sharpness)
        raw = self.models.embed(imaging.to_embedder_input(aligned)).reshape(-1)
        embedding = matching.as_vector(raw)
        return FaceAnalysis(face=main, pose=head_pose(main.landmarks), sharpness=round(sharp, 2),
                            embedding=tuple(embedding.tolist()), model_version=self.models.version,
                            faces_found=len(faces))

    def analyze_selfie(self, data: bytes) -> FaceAnalysis:
        return self.analyze(self.decode_selfie(data))

    # --- matching --------------------------------------------------------------------------------------
    def verify(self, probe: FaceAnalysis | Sequence[float], reference: Sequence[float] | np.ndarray) -> MatchResult:
        vector = probe.embedding if isinstance(probe, FaceAnalysis) else probe
        return matching.verify(vector, reference, threshold=self.settings.face_match_threshold,
                               model_version=self.models.version)

    def search(self, probe: FaceAnalysis | Sequence[float], candidates: np.ndarray,
               candidate_ids: Sequence[str]) -> SearchResult:
        vector = probe.embedding if isinstance(probe, FaceAnalysis) else probe
        return matching.search(vector, candidates, candidate_ids, threshold=self.settings.face_search_threshold,
                               margin=self.settings.face_search_margin, model_version=self.models.version)

    # --- liveness --------------------------------------------------------------------------------------
    def new_challenge(self, now: datetime | None = None) -> Challenge:
        return liveness.new_challenge(self.settings.liveness_steps, self.settings.liveness_challenge_ttl_seconds,
                                      kinds=self.settings.step_kinds, now=now)

    def check_liveness(self, selfie: FaceAnalysis, steps: Sequence[LivenessStep],
                       frames: Sequence[Decoded]) -> LivenessResult:
        return liveness.check(selfie, steps, frames, analyze=self.analyze,
                              thresholds=liveness.Thresholds.of(self.settings))
