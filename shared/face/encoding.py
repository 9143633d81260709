"""Light helpers with no numpy/Pillow import: base64 images from JSON bodies, embeddings as bytes."""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Sequence

from shared.face.errors import ImageTooLarge, NotAnImage

EMBEDDING_DIM = 128
_PACK = struct.Struct(f"<{EMBEDDING_DIM}f")
# A data URL prefix is tolerated ("data:image/jpeg;base64,..."), as browsers' canvas.toDataURL() produce.
_DATA_URL = ("data:image/jpeg;base64,", "data:image/png;base64,", "data:image/jpg;base64,")


def decode_base64_image(text: str, *, max_encoded: int, what: str = "image") -> bytes:
    """Base64 (standard alphabet, padding required) -> bytes. Over ``max_encoded`` characters:
    ``IMAGE_TOO_LARGE`` (413) before decoding; not base64: ``NOT_AN_IMAGE`` (400). Whether the bytes are a
    JPEG/PNG is the pipeline's decoder's business."""
    for prefix in _DATA_URL:
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    if len(text) > max_encoded:
        raise ImageTooLarge(f"The {what} is larger than {max_encoded} bytes of base64.", limit_bytes=max_encoded)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NotAnImage(f"The {what} is not base64-encoded.") from exc
    if not data:
        raise NotAnImage(f"The {what} is empty.")
    return data


def embedding_to_bytes(embedding: Sequence[float]) -> bytes:
    return _PACK.pack(*embedding)


def embedding_from_bytes(data: bytes) -> tuple[float, ...]:
    return _PACK.unpack(data)
