"""Matching L2-normalised embeddings: cosine similarity 1:1 against a threshold, and 1:N over a candidate
matrix with a margin over the second best. Pure numpy; thresholds come from settings (docs/face_accuracy.md)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from shared.face.models import MatchResult, SearchResult


def as_vector(embedding: Sequence[float] | np.ndarray) -> np.ndarray:
    v = np.asarray(embedding, dtype=np.float32).reshape(-1)
    norm = math.sqrt(float(v @ v))
    if not math.isfinite(norm) or norm == 0.0:
        raise ValueError("embedding must be a finite, non-zero vector")
    return v / norm


def cosine_similarity(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    return float(np.dot(as_vector(a), as_vector(b)))


def verify(probe: Sequence[float] | np.ndarray, reference: Sequence[float] | np.ndarray, *, threshold: float,
           model_version: str) -> MatchResult:
    """1:1: the same person when cosine similarity >= threshold."""
    similarity = cosine_similarity(probe, reference)
    return MatchResult(matched=similarity >= threshold, similarity=round(similarity, 6), threshold=threshold,
                       model_version=model_version)


def search(probe: Sequence[float] | np.ndarray, candidates: np.ndarray, candidate_ids: Sequence[str], *,
           threshold: float, margin: float, model_version: str) -> SearchResult:
    """1:N: propose the best candidate only if its similarity >= threshold and it leads the best candidate of
    any *other* identity by >= margin. ``candidates`` is (N, d) float32 with L2-normalised rows (as the
    pipeline produces them); several rows may share an id (several enrolled photos of one identity)."""
    matrix = np.asarray(candidates, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != len(candidate_ids):
        raise ValueError(f"candidates {matrix.shape} do not match {len(candidate_ids)} ids")
    if matrix.shape[0] == 0:
        return SearchResult(candidate_id=None, best_id=None, best_similarity=None, second_similarity=None,
                            reasons=("NO_CANDIDATES",), threshold=threshold, margin=margin, candidates=0,
                            model_version=model_version)
    scores = matrix @ as_vector(probe)
    best = int(scores.argmax())
    best_id, best_score = candidate_ids[best], float(scores[best])
    second: float | None = None
    if scores.shape[0] > 1:  # the best row of another identity (rows of the best identity are skipped)
        masked = scores.copy()
        masked[best] = -np.inf
        for _ in range(masked.shape[0] - 1):
            nxt = int(masked.argmax())
            if candidate_ids[nxt] != best_id:
                second = float(masked[nxt])
                break
            masked[nxt] = -np.inf
    reasons = []
    if best_score < threshold:
        reasons.append("BELOW_THRESHOLD")
    if second is not None and best_score - second < margin:
        reasons.append("AMBIGUOUS_MARGIN")
    # model_construct: every field is computed here from validated inputs (saves ~5 us per search)
    return SearchResult.model_construct(
        candidate_id=None if reasons else best_id, best_id=best_id, best_similarity=round(best_score, 6),
        second_similarity=None if second is None else round(second, 6),
        reasons=tuple(reasons) or ("MATCH",), threshold=threshold, margin=margin, candidates=len(candidate_ids),
        model_version=model_version)
