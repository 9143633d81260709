"""Credential images for the document checks: student cards printed from one template (the hard case for a
perceptual hash: same layout, colours and text, only the photo, name and number differ), and natural-looking
photos. Generated, seeded, never committed."""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

CARD_SIZE = (1012, 638)  # ID-1 card at 300 dpi


def _seed(value: int | str) -> int:
    return int.from_bytes(hashlib.sha256(str(value).encode()).digest()[:8], "big")


def photo(seed: int | str, size: tuple[int, int] = (240, 300)) -> Image.Image:
    """A smooth random picture (a sum of coloured Gaussian blobs) standing for a portrait or a scene."""
    rng = np.random.default_rng(_seed(seed))
    w, h = 120, 150  # drawn small (smooth anyway), then scaled to ``size``
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), dtype=np.float32)
    for _ in range(12):
        cx, cy, s = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(10, 45)
        img += np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s))[..., None] * rng.uniform(0, 255, 3)
    small = Image.fromarray((255 * img / img.max()).astype(np.uint8))
    return small.resize(size, Image.Resampling.BICUBIC)


@lru_cache(maxsize=64)
def card(seed: int | str, name: str = "Li Hua", number: str = "PKU2024001") -> Image.Image:
    """A student card of one fixed template: header, photo, name, number, validity."""
    im = Image.new("RGB", CARD_SIZE, (245, 245, 240))
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, CARD_SIZE[0], 120), fill=(150, 20, 30))
    big, small = ImageFont.load_default(size=44), ImageFont.load_default(size=34)
    draw.text((40, 35), "PEKING UNIVERSITY  STUDENT CARD", fill="white", font=big)
    im.paste(photo(seed), (60, 200))
    for row, text in enumerate((f"Name: {name}", f"No.: {number}", "Valid until: 2028-07-01", "School of Physics")):
        draw.text((360, 220 + 70 * row), text, fill="black", font=small)
    return im


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def card_jpeg(seed: int | str, quality: int = 90) -> bytes:
    return jpeg(card(seed), quality)


# A minimal one-page PDF (the checks fingerprint PDFs by their exact bytes).
def pdf(text: str = "student card") -> bytes:
    body = f"BT /F1 12 Tf 72 712 Td ({text}) Tj ET".encode()
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>endobj\n"
            b"4 0 obj<</Length " + str(len(body)).encode() + b">>stream\n" + body + b"\nendstream endobj\n%%EOF\n")
