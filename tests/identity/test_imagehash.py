"""The perceptual hash of credentials: robust to re-encoding and resizing, far apart for different documents
(including cards printed from one template), and the index finds every hash within the threshold."""

from __future__ import annotations

import io
import itertools
import random
import struct
import time
import zlib
from functools import cache

import pytest
from PIL import Image

from shared.identity import imagehash
from shared.identity.models import Fingerprint
from shared.identity.settings import IdentitySettings
from tests.identity.documents import card, jpeg, pdf, photo, png

THRESHOLD = IdentitySettings(identity_table="t").identity_image_match_max_distance
CARDS = [card(i, f"Student {i}", f"PKU20240{i:02d}") for i in range(16)]


def fp(data: bytes, content_type: str = "image/jpeg") -> Fingerprint:
    return imagehash.fingerprint(data, content_type)


def d(a: Fingerprint, b: Fingerprint) -> int:
    distance = imagehash.distance(a, b)
    assert distance is not None
    return distance


def _rotated_with_exif(image: Image.Image) -> bytes:
    """The pixels stored rotated, with EXIF orientation 6 telling viewers to turn them back (as phones do)."""
    stored = image.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", quality=90, exif=exif.tobytes())
    return buffer.getvalue()


VARIANTS = {
    "jpeg q95": lambda im: jpeg(im, 95),
    "jpeg q75": lambda im: jpeg(im, 75),
    "jpeg q50": lambda im: jpeg(im, 50),
    "jpeg of a jpeg": lambda im: jpeg(Image.open(io.BytesIO(jpeg(im, 70))), 80),
    "half size": lambda im: jpeg(im.resize((im.width // 2, im.height // 2), Image.Resampling.BILINEAR), 85),
    "double size": lambda im: jpeg(im.resize((im.width * 2, im.height * 2), Image.Resampling.BICUBIC), 85),
    "600 px wide": lambda im: jpeg(im.resize((600, round(600 * im.height / im.width))), 80),
    "png": png,
    "grayscale": lambda im: jpeg(im.convert("L"), 90),
    "exif rotated": _rotated_with_exif,
}


@cache
def original(i: int) -> Fingerprint:
    return fp(png(CARDS[i]), "image/png")


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_same_image_re_encoded_or_resized_stays_within_the_threshold(variant: str) -> None:
    distances = [d(original(i), fp(VARIANTS[variant](CARDS[i]))) for i in range(6)]
    assert max(distances) <= THRESHOLD, (variant, distances)


def test_different_cards_of_one_template_and_different_photos_are_far_apart() -> None:
    cards = [fp(jpeg(im)) for im in CARDS]
    same_template = [d(a, b) for a, b in itertools.combinations(cards, 2)]
    photos = [fp(jpeg(photo(f"p{i}", (800, 600)))) for i in range(12)]
    different_photos = [d(a, b) for a, b in itertools.combinations(photos, 2)]
    # Measured over 30 cards / 30 photos (435 pairs each): same template >= 24 bits apart (mean 53), photos
    # >= 76 (mean 116), of 256; re-encoded/resized copies <= 4. The threshold is 12.
    assert min(same_template) > THRESHOLD + 8, sorted(same_template)[:5]
    assert min(different_photos) >= 4 * THRESHOLD, sorted(different_photos)[:5]


def test_a_hash_is_stable_and_256_bits() -> None:
    a, b = fp(jpeg(CARDS[0])), fp(jpeg(CARDS[0]))
    assert a == b and a.kind == "phash256" and len(a.value) == 64
    assert int(a.value, 16) >> 255 == 0  # the DC bit is always 0


def test_pdfs_are_fingerprinted_by_their_exact_bytes() -> None:
    a, b = fp(pdf("card"), "application/pdf"), fp(pdf("card!"), "application/pdf")
    assert a.kind == "sha256" and a == fp(pdf("card"), "application/pdf") and a != b
    assert imagehash.index_keys(a) == [f"sha256#{a.value}"]
    assert imagehash.distance(a, fp(jpeg(CARDS[0]))) is None  # kinds never compare


def test_every_hash_within_the_supported_distance_shares_an_index_key() -> None:
    """Pigeonhole over 16 bands of 16 bits: a distance <= 15 leaves one band identical."""
    rng = random.Random(7)
    assert imagehash.MAX_DISTANCE_SUPPORTED == 15
    assert IdentitySettings.model_fields["identity_image_match_max_distance"].metadata[-1].le == 15
    for _ in range(2000):
        value = rng.getrandbits(256)
        flipped = value
        for bit in rng.sample(range(256), rng.randint(0, 15)):
            flipped ^= 1 << bit
        a = Fingerprint(kind="phash256", value=f"{value:064x}")
        b = Fingerprint(kind="phash256", value=f"{flipped:064x}")
        keys_a, keys_b = imagehash.index_keys(a), imagehash.index_keys(b)
        assert len(keys_a) == 16 and set(keys_a) & set(keys_b)


def _png_claiming(width: int, height: int) -> bytes:
    """A small real PNG whose header claims ``width`` x ``height`` (a decompression bomb's shape)."""
    data = bytearray(png(Image.new("RGB", (8, 8))))
    data[16:24] = struct.pack(">II", width, height)  # IHDR data starts at byte 16
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # the chunk's CRC over type + data
    return bytes(data)


def test_undecodable_and_oversized_images_are_refused_without_decoding_them() -> None:
    with pytest.raises(imagehash.UnreadableImage) as truncated:
        fp(jpeg(CARDS[0])[:300])
    assert truncated.value.code == "DOCUMENT_NOT_DECODABLE"
    with pytest.raises(imagehash.UnreadableImage) as junk:
        fp(b"\xff\xd8\xff\xe0" + b"\x00" * 2048)
    assert junk.value.code == "DOCUMENT_NOT_DECODABLE"
    started = time.perf_counter()
    with pytest.raises(imagehash.UnreadableImage) as bomb:
        fp(_png_claiming(30_000, 30_000), "image/png")
    assert bomb.value.code == "DOCUMENT_IMAGE_TOO_LARGE"
    with pytest.raises(imagehash.UnreadableImage) as large_png:  # under Pillow's own limit, over ours
        fp(_png_claiming(6_000, 5_000), "image/png")
    assert large_png.value.code == "DOCUMENT_IMAGE_TOO_LARGE"
    assert time.perf_counter() - started < 0.5  # refused from the header


def test_a_phone_photo_sized_jpeg_hashes_quickly() -> None:
    big = jpeg(CARDS[0].resize((4032, 2541)), 90)  # a 10 MP phone photo of the card
    fp(big)
    started = time.perf_counter()
    for _ in range(5):
        value = fp(big)
    per_hash = (time.perf_counter() - started) / 5
    assert d(value, fp(jpeg(CARDS[0]))) <= THRESHOLD
    assert per_hash < 0.5, per_hash  # DCT-scaled decoding: ~20 ms here
