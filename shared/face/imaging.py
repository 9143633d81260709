"""Pixels without OpenCV: decode with limits, letterbox for YuNet, 5-point similarity alignment, sharpness.

numpy and Pillow come from the model layer; this module is imported only by code that processes images.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from shared.face.errors import ImageTooLarge, NotAnImage

DETECTOR_SIZE = 640  # YuNet 2023mar's fixed input (1x3x640x640)
ALIGNED_SIZE = 112
# The ArcFace/SFace 5-point template for a 112x112 crop (as in OpenCV's FaceRecognizerSF::alignCrop).
TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                     [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float64)
FORMATS = ("JPEG", "PNG")
# JPEGs far larger than the detector input are decoded at 1/2 (DCT scaling) as long as the longer side
# stays >= this: faces are aligned from the decoded image, so keep enough pixels for a 112 px crop.
DRAFT_MIN_SIDE = 1280


class Decoded:
    """An RGB image ready for the detector, and the factor from its pixels to the encoded image's pixels
    (> 1 when a large JPEG was decoded at reduced scale)."""

    __slots__ = ("image", "scale_to_original")

    def __init__(self, image: Image.Image, scale_to_original: float = 1.0) -> None:
        self.image = image
        self.scale_to_original = scale_to_original


def decode_image(data: bytes, *, max_bytes: int, max_side: int) -> Decoded:
    """JPEG/PNG bytes -> RGB image, EXIF orientation applied. Refuses a payload over ``max_bytes`` and a
    header announcing more than ``max_side`` pixels per side *before* decoding the pixels (a bomb)."""
    if not isinstance(data, bytes | bytearray | memoryview) or len(data) == 0:
        raise NotAnImage()
    if len(data) > max_bytes:
        raise ImageTooLarge(f"The image is larger than {max_bytes} bytes.", limit_bytes=max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)  # reads the header only
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:  # Pillow's own header check
        raise ImageTooLarge(f"The image is larger than {max_side}x{max_side} pixels.", max_side_px=max_side) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise NotAnImage() from exc
    width, height = image.size
    if width > max_side or height > max_side:
        raise ImageTooLarge(f"The image is larger than {max_side}x{max_side} pixels.", max_side_px=max_side)
    if width < 1 or height < 1:
        raise NotAnImage()
    try:
        if image.format == "JPEG" and max(width, height) >= 2 * DRAFT_MIN_SIDE:
            k = DRAFT_MIN_SIDE / max(width, height)
            image.draft("RGB", (int(width * k) + 1, int(height * k) + 1))
        image.load()
        upright: Image.Image = ImageOps.exif_transpose(image) or image
        rgb = upright.convert("RGB") if upright.mode != "RGB" else upright
    except (OSError, SyntaxError, ValueError, TypeError, Image.DecompressionBombError) as exc:  # truncated/corrupt
        raise NotAnImage() from exc
    return Decoded(rgb, max(width, height) / max(rgb.size))


def letterbox(image: Image.Image, size: int = DETECTOR_SIZE) -> tuple[np.ndarray, float]:
    """Scale the longer side to ``size`` (top-left aligned, zero padding) -> (1x3xSxS float32 BGR, scale).

    Downscaling: an integer box reduction (``Image.reduce``, fast and anti-aliased) down to less than twice
    the target, then nearest-neighbour for the rest. Pillow's bilinear resize/transform cost 7-15 ms per
    selfie here (more than the detector itself); the detector only needs the face's layout, and the face is
    aligned from the full-resolution image, not from this one."""
    width, height = image.size
    scale = size / max(width, height)
    new = (min(size, max(1, round(width * scale))), min(size, max(1, round(height * scale))))
    if new != image.size:
        factor = int(max(width, height) / size)
        if factor >= 2:
            image = image.reduce(factor)
        image = image.resize(new, Image.Resampling.NEAREST if scale < 1 else Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.uint8)
    tensor = np.zeros((1, 3, size, size), dtype=np.float32)
    for channel in range(3):  # RGB -> BGR, HWC -> NCHW
        tensor[0, channel, : new[1], : new[0]] = pixels[..., 2 - channel]
    return tensor, scale


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Umeyama (1991): the 2x3 least-squares similarity (rotation, uniform scale, translation) src -> dst."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    n = src.shape[0]
    mu_src, mu_dst = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - mu_src, dst - mu_dst
    cov = dst_c.T @ src_c / n
    u, s, vt = np.linalg.svd(cov)
    d = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1, 1] = -1.0
    rotation = u @ d @ vt
    var_src = (src_c**2).sum() / n
    scale = float(np.trace(np.diag(s) @ d) / var_src) if var_src > 0 else 1.0
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = mu_dst - scale * rotation @ mu_src
    return matrix


def align(image: Image.Image, landmarks: np.ndarray, size: int = ALIGNED_SIZE) -> Image.Image:
    """Warp the face so that its 5 landmarks fall on the 112x112 template (bilinear, like cv2.warpAffine)."""
    matrix = similarity_transform(landmarks, TEMPLATE * (size / ALIGNED_SIZE))
    inverse = np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]
    # Pillow samples output pixel centres (x + 0.5) and reads input pixel centres at +0.5; the landmarks and
    # the template use pixel-index coordinates (OpenCV's), so shift by half a pixel on both sides.
    a = inverse[:, :2]
    c = inverse[:, 2] + 0.5 - a @ np.array([0.5, 0.5])
    data = (a[0, 0], a[0, 1], c[0], a[1, 0], a[1, 1], c[1])
    return image.transform((size, size), Image.Transform.AFFINE, data, resample=Image.Resampling.BILINEAR)


def sharpness(aligned: Image.Image) -> float:
    """Variance of the 4-neighbour Laplacian of the aligned face's grey levels (inner 80 %: no padding)."""
    grey = np.asarray(aligned.convert("L"), dtype=np.float32)
    m = grey.shape[0] // 10
    g = grey[m:-m, m:-m]
    lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return float(lap.var())


def to_embedder_input(aligned: Image.Image) -> np.ndarray:
    """112x112 RGB -> 1x3x112x112 float32 RGB 0..255 (SFace normalises inside its graph)."""
    return np.ascontiguousarray(np.asarray(aligned, dtype=np.float32).transpose(2, 0, 1)[None])
