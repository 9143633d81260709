"""YuNet (2023mar) output decoding in numpy: anchor-free boxes, scores, 5 landmarks, then NMS.

Same arithmetic as OpenCV's ``FaceDetectorYN`` for this model: for each stride s in (8, 16, 32) and each
cell (row r, column c) of the (640/s)^2 grid, score = sqrt(clip(cls) * clip(obj)); the box centre is
((c, r) + bbox[:2]) * s, its size exp(bbox[2:]) * s; landmark k is ((c, r) + kps[2k:2k+2]) * s.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from shared.face.imaging import DETECTOR_SIZE

STRIDES = (8, 16, 32)


def decode(outputs: Mapping[str, np.ndarray], score_threshold: float, size: int = DETECTOR_SIZE
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-> boxes (n, 4: x, y, w, h), scores (n,), landmarks (n, 5, 2) in detector-input pixels."""
    boxes, scores, marks = [], [], []
    for s in STRIDES:
        cols = size // s
        cls = np.clip(outputs[f"cls_{s}"].reshape(-1), 0.0, 1.0)
        obj = np.clip(outputs[f"obj_{s}"].reshape(-1), 0.0, 1.0)
        score = np.sqrt(cls * obj)
        idx = np.nonzero(score >= score_threshold)[0]
        if idx.size == 0:
            continue
        grid = np.stack([idx % cols, idx // cols], axis=1).astype(np.float32)  # (c, r)
        bbox = outputs[f"bbox_{s}"].reshape(-1, 4)[idx]
        centre = (grid + bbox[:, :2]) * s
        wh = np.exp(bbox[:, 2:]) * s
        boxes.append(np.concatenate([centre - wh / 2, wh], axis=1))
        scores.append(score[idx])
        marks.append((outputs[f"kps_{s}"].reshape(-1, 5, 2)[idx] + grid[:, None, :]) * s)
    if not boxes:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32)
    return np.concatenate(boxes), np.concatenate(scores), np.concatenate(marks)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression -> indices kept, best score first."""
    order = np.argsort(-scores, kind="stable")
    x1, y1 = boxes[:, 0], boxes[:, 1]
    x2, y2 = x1 + boxes[:, 2], y1 + boxes[:, 3]
    areas = boxes[:, 2] * boxes[:, 3]
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter + 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)
