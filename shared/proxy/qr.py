"""QR images of a proxy order code, made with segno (pure Python; PNG without Pillow)."""

from __future__ import annotations

import io
from enum import StrEnum

import segno


class QrFormat(StrEnum):
    SVG = "svg"
    PNG = "png"


CONTENT_TYPES = {QrFormat.SVG: "image/svg+xml", QrFormat.PNG: "image/png"}


def render(code: str, fmt: QrFormat, scale: int = 8, border: int = 4) -> bytes:
    """Error correction M (15%): readable from a phone screen with glare; ~version 5 for a 77-char code."""
    qr = segno.make(code, error="m", micro=False)
    buffer = io.BytesIO()
    qr.save(buffer, kind=fmt.value, scale=scale, border=border)
    return buffer.getvalue()
