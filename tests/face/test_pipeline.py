"""The pipeline on real photos, and every quality-gate code."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image, ImageFilter

from shared.api.errors import status_for
from shared.face import errors
from shared.face.imaging import TEMPLATE, align, similarity_transform
from shared.face.models import FaceAnalysis
from shared.face.service import FaceService
from tests.face.conftest import jpeg, png


def test_a_real_photo_gives_one_face_with_landmarks_and_a_unit_embedding(
        analyze: Callable[[str], FaceAnalysis]) -> None:
    a = analyze("obama")
    x, y, w, h = a.face.box
    assert a.faces_found == 1 and a.face.score > 0.8 and w > 150
    for lx, ly in a.face.landmarks:
        assert x <= lx <= x + w and y <= ly <= y + h
    (rex, _), (lex, _), (nx, ny), (rmx, rmy), (lmx, _) = a.face.landmarks
    assert rex < nx < lex and rmx < lmx and ny < rmy  # YuNet's order: image-left eye first, nose above mouth
    assert len(a.embedding) == 128 and abs(np.linalg.norm(a.embedding) - 1) < 1e-5
    assert abs(a.pose.yaw) < 10 and abs(a.pose.roll) < 10
    assert "embedding" not in repr(a) and str(a.embedding[0])[:6] not in repr(a)  # never in a log line


def test_exif_orientation_is_applied(service: FaceService, photos: dict[str, bytes],
                                     analyze: Callable[[str], FaceAnalysis]) -> None:
    upright = Image.open(io.BytesIO(photos["sunak"]))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what a phone stores, with orientation 6 (rotate 270)
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", quality=92, exif=exif)
    a = service.analyze_selfie(buffer.getvalue())
    assert np.dot(a.embedding, analyze("sunak").embedding) > 0.9
    assert abs(a.pose.roll) < 10


def test_alignment_puts_the_landmarks_on_the_template() -> None:
    rng = np.random.default_rng(1)
    angle, scale, shift = 0.3, 2.5, np.array([40.0, 70.0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    marks = (TEMPLATE @ rot.T) * scale + shift + rng.normal(0, 0.01, TEMPLATE.shape)
    m = similarity_transform(marks, TEMPLATE)
    assert np.allclose(marks @ m[:, :2].T + m[:, 2], TEMPLATE, atol=0.05)
    # A bright dot at each landmark lands on the template point of the 112x112 crop.
    image = Image.new("L", (600, 600))
    for px, py in marks:
        image.paste(255, (round(px) - 2, round(py) - 2, round(px) + 3, round(py) + 3))
    crop = np.asarray(align(image.convert("RGB"), marks))[..., 0]
    for tx, ty in TEMPLATE:
        assert crop[round(ty), round(tx)] > 100


def test_not_an_image(service: FaceService) -> None:
    gif = io.BytesIO()
    Image.new("RGB", (64, 64)).save(gif, format="GIF")
    truncated = jpeg(Image.new("RGB", (640, 480), "white"))[:300]
    for data in (b"", b"hello, not a picture", gif.getvalue(), truncated):
        with pytest.raises(errors.NotAnImage):
            service.analyze_selfie(data)


def test_too_large_encoded(service: FaceService) -> None:
    noise = Image.frombytes("RGB", (1100, 1100), np.random.default_rng(0).bytes(1100 * 1100 * 3))
    data = png(noise)
    assert len(data) > service.settings.face_max_image_bytes
    with pytest.raises(errors.ImageTooLarge):
        service.analyze_selfie(data)
    frame = jpeg(noise, 95)
    assert service.settings.face_max_frame_bytes < len(frame) <= service.settings.face_max_image_bytes
    with pytest.raises(errors.ImageTooLarge):
        service.decode_frame(frame)


def _png_with_header(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims width x height (a decompression bomb's header; the data is bogus)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = zlib.compress(b"\x00" * 64)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
            + struct.pack(">I", len(idat)) + b"IDAT" + idat + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
            + struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND")))


def test_too_large_decoded_is_refused_from_the_header_before_decoding(service: FaceService) -> None:
    bomb = _png_with_header(60_000, 60_000)  # 3.6 gigapixels announced in 100 bytes
    assert len(bomb) < 200
    with pytest.raises(errors.ImageTooLarge):  # not NOT_AN_IMAGE: refused before the (bogus) pixels are read
        service.analyze_selfie(bomb)
    wide = jpeg(Image.new("RGB", (4097, 64), "white"))
    with pytest.raises(errors.ImageTooLarge):
        service.analyze_selfie(wide)
    service.decode_selfie(jpeg(Image.new("RGB", (4096, 64), "white")))  # the limit itself is allowed


def test_no_face(service: FaceService) -> None:
    gradient = Image.linear_gradient("L").resize((640, 480)).convert("RGB")
    with pytest.raises(errors.NoFace):
        service.analyze_selfie(jpeg(gradient))


def test_multiple_faces(service: FaceService, photos: dict[str, bytes]) -> None:
    with pytest.raises(errors.MultipleFaces):
        service.analyze_selfie(photos["group"])
    left = Image.open(io.BytesIO(photos["macron_2025"])).convert("RGB")
    right = Image.open(io.BytesIO(photos["ardern_2022"])).convert("RGB").resize(left.size)
    side_by_side = Image.new("RGB", (left.width * 2, left.height))
    side_by_side.paste(left, (0, 0))
    side_by_side.paste(right, (left.width, 0))
    with pytest.raises(errors.MultipleFaces) as caught:
        service.analyze_selfie(jpeg(side_by_side))
    assert caught.value.details["faces"] == 2


def test_face_too_small(service: FaceService, photos: dict[str, bytes],
                        analyze: Callable[[str], FaceAnalysis]) -> None:
    photo = Image.open(io.BytesIO(photos["obama"])).convert("RGB")
    k = 40 / analyze("obama").face.size  # the face becomes ~40 px, under the 60 px minimum
    small = photo.resize((round(photo.width * k), round(photo.height * k)), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (800, 800), "grey")
    canvas.paste(small, (300, 300))
    with pytest.raises(errors.FaceTooSmall):
        service.analyze_selfie(jpeg(canvas, 95))


def test_low_quality_blur(service: FaceService, photos: dict[str, bytes],
                          analyze: Callable[[str], FaceAnalysis]) -> None:
    photo = Image.open(io.BytesIO(photos["obama_senate"])).convert("RGB")
    blurred = photo.filter(ImageFilter.GaussianBlur(analyze("obama_senate").face.size * 0.04))
    with pytest.raises(errors.LowQuality):
        service.analyze_selfie(jpeg(blurred))


def test_the_codes_and_their_http_statuses() -> None:
    expected = {errors.NotAnImage: ("NOT_AN_IMAGE", 400), errors.ImageTooLarge: ("IMAGE_TOO_LARGE", 413),
                errors.NoFace: ("NO_FACE", 422), errors.MultipleFaces: ("MULTIPLE_FACES", 422),
                errors.FaceTooSmall: ("FACE_TOO_SMALL", 422), errors.LowQuality: ("LOW_QUALITY", 422),
                errors.LivenessFailed: ("LIVENESS_FAILED", 422)}
    for cls, (code, status) in expected.items():
        assert cls.code == code and status_for(cls()) == status
