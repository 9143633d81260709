"""Same person matches, different people do not, on package photos with augmentations; 1:N with distractors."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from shared.face import matching
from shared.face.models import FaceAnalysis
from shared.face.service import FaceService
from training.face_data import PHOTOS
from training.face_eval import augment

SINGLE = [p.name for p in PHOTOS]
IDENTITY = {p.name: p.identity for p in PHOTOS}


def _augmented(service: FaceService, photos: dict[str, bytes], name: str, seed: int) -> FaceAnalysis:
    image = Image.open(io.BytesIO(photos[name])).convert("RGB")
    data, _ = augment(image, np.random.default_rng(seed))
    return service.analyze_selfie(data)


@pytest.mark.parametrize(("probe", "reference"), [("obama3", "obama"), ("obama_senate", "obama2"),
                                                  ("macron_2025", "macron_2014"), ("ardern_2022", "ardern_2018")])
def test_same_person_matches_across_photos_and_augmentations(
        service: FaceService, photos: dict[str, bytes], analyze: Callable[[str], FaceAnalysis],
        probe: str, reference: str) -> None:
    for seed in (1, 2):
        a = _augmented(service, photos, probe, seed)
        result = service.verify(a, analyze(reference).embedding)
        assert result.matched, (probe, reference, seed, result.similarity)
        assert result.threshold == service.settings.face_match_threshold


def test_different_people_do_not_match(service: FaceService, analyze: Callable[[str], FaceAnalysis]) -> None:
    worst = -1.0
    for a, b in itertools.combinations(SINGLE, 2):
        if IDENTITY[a] != IDENTITY[b]:
            result = service.verify(analyze(a), analyze(b).embedding)
            assert not result.matched, (a, b, result.similarity)
            worst = max(worst, result.similarity)
    assert worst < service.settings.face_match_threshold - 0.05


def test_one_to_n_proposes_the_right_identity_among_distractors(
        service: FaceService, photos: dict[str, bytes], analyze: Callable[[str], FaceAnalysis]) -> None:
    enrolled = {"barack_obama": "obama", "emmanuel_macron": "macron_2014", "jacinda_ardern": "ardern_2018",
                "joe_biden": "biden", "rishi_sunak": "sunak", "grace_hopper": "grace_hopper",
                "eileen_collins": "astronaut", "tom_hanks": "tom_hanks"}
    ids = list(enrolled)
    matrix = np.stack([analyze(enrolled[i]).embedding for i in ids]).astype(np.float32)
    for probe, seed in (("obama3", 3), ("macron_2025", 4), ("ardern_2022", 5), ("obama_senate", 6)):
        result = service.search(_augmented(service, photos, probe, seed), matrix, ids)
        assert result.candidate_id == IDENTITY[probe], result
        assert result.reasons == ("MATCH",) and result.candidates == len(ids)
    # Non-mated: the probe's identity is not a candidate -> nobody is proposed.
    without = [i for i in ids if i != "barack_obama"]
    result = service.search(analyze("obama2"), matrix[[ids.index(i) for i in without]], without)
    assert result.candidate_id is None and "BELOW_THRESHOLD" in result.reasons


def test_search_refuses_an_ambiguous_best_and_groups_rows_by_identity() -> None:
    probe = np.array([1.0, 0.0, 0.0])
    rows = np.array([[0.9, 0.436, 0.0], [0.88, 0.0, 0.475], [0.2, 0.98, 0.0]], dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    ambiguous = matching.search(probe, rows, ["a", "b", "c"], threshold=0.5, margin=0.1, model_version="v")
    assert ambiguous.candidate_id is None and ambiguous.reasons == ("AMBIGUOUS_MARGIN",)
    assert ambiguous.best_id == "a"
    same_person = matching.search(probe, rows, ["a", "a", "c"], threshold=0.5, margin=0.1, model_version="v")
    assert same_person.candidate_id == "a" and same_person.second_similarity == pytest.approx(0.2, abs=0.01)
    empty = matching.search(probe, np.zeros((0, 3), np.float32), [], threshold=0.5, margin=0.1, model_version="v")
    assert empty.candidate_id is None and empty.reasons == ("NO_CANDIDATES",)
    with pytest.raises(ValueError, match="finite"):
        matching.as_vector([0.0, 0.0])


def test_chosen_thresholds_are_the_ones_in_the_accuracy_report() -> None:
    import re
    from pathlib import Path

    from shared.face import settings

    doc = (Path(__file__).resolve().parents[2] / "docs" / "face_accuracy.md").read_text()
    found = re.search(r"chosen: match_threshold=([\d.]+) search_threshold=([\d.]+) search_margin=([\d.]+)", doc)
    assert found, "docs/face_accuracy.md has no chosen thresholds (make face-accuracy)"
    chosen = tuple(float(v) for v in found.groups())
    assert chosen == (settings.MATCH_THRESHOLD, settings.SEARCH_THRESHOLD, settings.SEARCH_MARGIN)
