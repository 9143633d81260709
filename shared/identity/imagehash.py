"""Fingerprints of uploaded credentials, to find the same document submitted by several accounts.

Images (JPEG, PNG) get a 256-bit perceptual hash (pHash): decoded with limits (header checked before the
pixels; large JPEGs decoded at reduced scale by DCT scaling), EXIF orientation applied, grayscale, Lanczos
to 64x64, 2-D DCT-II, and one bit per coefficient of the 16x16 lowest frequencies: above the median of the
255 AC coefficients or not (the DC bit is 0). Re-encoding and resizing move a few bits; different images,
including two cards printed from the same template, differ in dozens (measured in
``tests/identity/test_imagehash.py``, figures in the decision log). 256 rather than the classic 64 bits:
64-bit hashes of two different cards of one template were 0-2 bits apart, i.e. indistinguishable.

PDFs (no renderer in the layers) get the SHA-256 of their bytes: an exact copy is found, nothing more.

The index is searched by pigeonhole (multi-index hashing): a hash is split into 16 bands of 16 bits, and
two hashes at most 15 bits apart agree exactly on at least one band, so looking up the 16 bands of a new
hash finds every earlier hash within the threshold (``MAX_DISTANCE_SUPPORTED``).

numpy and Pillow come from the model layer; they are imported on first use, so importing this module costs
nothing to functions without that layer.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from functools import lru_cache
from typing import Any

from shared.identity.models import Fingerprint

HASH_SIDE = 64  # the grayscale image the DCT runs on
LOW_FREQUENCIES = 16  # the 16x16 lowest-frequency coefficients -> 256 bits
BITS = LOW_FREQUENCIES * LOW_FREQUENCIES
BANDS = 16
BAND_HEX = BITS // BANDS // 4  # 16 bits = 4 hex digits per band
MAX_DISTANCE_SUPPORTED = BANDS - 1  # pigeonhole: a distance <= 15 leaves at least one band identical
IMAGE_TYPES = ("image/jpeg", "image/png")
# Decoding limits, read from the header before any pixel is decoded. A JPEG is decoded at 1/2..1/8 scale
# (DCT scaling), so even 100 MP costs a few MB; a PNG is decoded in full (25 MP of RGBA is 100 MB).
MAX_JPEG_PIXELS = 100_000_000
MAX_PNG_PIXELS = 25_000_000
DRAFT_SIDE = 4 * HASH_SIDE


class UnreadableImage(Exception):
    """The file claims to be an image but cannot be decoded within the limits (corrupt, truncated, a bomb)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def fingerprint(data: bytes, content_type: str) -> Fingerprint:
    """The document's fingerprint: ``phash256`` for JPEG/PNG, ``sha256`` for anything else (PDF)."""
    if content_type not in IMAGE_TYPES:
        return Fingerprint(kind="sha256", value=hashlib.sha256(data).hexdigest())
    return Fingerprint(kind="phash256", value=perceptual_hash(data))


def perceptual_hash(data: bytes) -> str:
    """pHash-256 of a JPEG/PNG as 64 hex digits; raises ``UnreadableImage``."""
    import numpy as np

    pixels = _grayscale(data)
    dct = _dct_matrix(HASH_SIDE)
    coefficients = (dct @ pixels @ dct.T)[:LOW_FREQUENCIES, :LOW_FREQUENCIES].flatten()
    bits = coefficients > np.median(coefficients[1:])
    bits[0] = False  # the DC coefficient (mean brightness) carries no structure
    return bytes(np.packbits(bits)).hex()


def distance(a: Fingerprint, b: Fingerprint) -> int | None:
    """Hamming distance of two fingerprints of the same kind (``None`` across kinds)."""
    if a.kind != b.kind:
        return None
    return (int(a.value, 16) ^ int(b.value, 16)).bit_count()


def index_keys(fp: Fingerprint) -> list[str]:
    """The index keys a fingerprint is stored and searched under: its 16 bands, or its exact value."""
    if fp.kind == "sha256":
        return [f"sha256#{fp.value}"]
    return [f"{fp.kind}#{i:02d}#{fp.value[i * BAND_HEX:(i + 1) * BAND_HEX]}" for i in range(BANDS)]


def _grayscale(data: bytes) -> Any:
    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=("JPEG", "PNG"))  # the header only
            width, height = image.size
            limit = MAX_JPEG_PIXELS if image.format == "JPEG" else MAX_PNG_PIXELS
            if width < 1 or height < 1:
                raise UnreadableImage("DOCUMENT_NOT_DECODABLE")
            if width * height > limit:
                raise UnreadableImage("DOCUMENT_IMAGE_TOO_LARGE")
            if image.format == "JPEG":
                image.draft("L", (DRAFT_SIDE, DRAFT_SIDE))  # decode at the smallest scale still >= 256 px
            image.load()
            factor = min(image.size) // DRAFT_SIDE
            # An integer box reduction first (what DCT scaling does for a JPEG): Lanczos on megapixels costs
            # more than decoding them. EXIF orientation is read from the file, so it is applied before.
            ImageOps.exif_transpose(image, in_place=True)  # no copy when there is nothing to turn
            upright: Image.Image = image.reduce(factor) if factor >= 2 else image
            gray = upright.convert("L").resize((HASH_SIDE, HASH_SIDE), Image.Resampling.LANCZOS)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise UnreadableImage("DOCUMENT_IMAGE_TOO_LARGE") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, TypeError) as exc:
        raise UnreadableImage("DOCUMENT_NOT_DECODABLE") from exc
    return np.asarray(gray, dtype=np.float64)


@lru_cache(maxsize=2)
def _dct_matrix(n: int) -> Any:
    """The orthonormal DCT-II matrix: ``D @ X @ D.T`` is the 2-D DCT of an n x n block."""
    import numpy as np

    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    matrix = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    matrix[0] /= np.sqrt(2.0)
    return matrix
