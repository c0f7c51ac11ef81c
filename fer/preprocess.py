"""The ONE path from pixels to model input, used by training, evaluation and live inference alike.

    image (any colour layout) --to_gray--> grey uint8 --crop_faces(boxes)--> (N, 48, 48) uint8
        --preprocess--> (N, 48, 48, 1) float32 in [0, 1]

FER2013 rows are already 48x48 grey crops, so training enters at :func:`preprocess`; photos and frames
enter at :func:`to_gray` and :func:`crop_faces` and then go through the very same :func:`preprocess`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

SIZE = 48  # FER2013 faces are 48x48 grey
# Haar boxes are a little tighter than FER2013's framing (which shows the forehead and chin):
# widen each box by this share of its side before cropping.
MARGIN = 0.1


def to_gray(image: np.ndarray) -> np.ndarray:
    """Grey uint8 (H, W) from grey, RGB or RGBA uint8 input (alpha is ignored)."""
    if image.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {image.dtype}")
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] in (3, 4):
        return cv2.cvtColor(image[:, :, :3], cv2.COLOR_RGB2GRAY)
    raise ValueError(f"expected a grey, RGB or RGBA image, got shape {image.shape}")


# Faces tilted less than this keep the plain crop: levelling them changes nothing the model would see.
MIN_TILT_DEGREES = 3.0


def eye_tilt(keypoints: Sequence[Sequence[float]]) -> float:
    """Degrees by which the line through the eyes rises to the right of the image (BlazeFace keypoints:
    the person's right eye first, then the left); 0 without keypoints."""
    if len(keypoints) < 2:
        return 0.0
    (x0, y0), (x1, y1) = keypoints[0], keypoints[1]
    return float(np.degrees(np.arctan2(y1 - y0, x1 - x0)))


def crop_faces(
    gray: np.ndarray, boxes: Iterable[Sequence[int]], margin: float = MARGIN, tilts: Sequence[float] | None = None
) -> np.ndarray:
    """Square crops around each (x, y, w, h) box, resized to 48x48: uint8 (N, 48, 48). With ``tilts``
    (degrees, ``eye_tilt``), a face tilted by at least ``MIN_TILT_DEGREES`` is turned upright first, eyes
    level, the way FER2013's faces were registered.

    Parts of a widened box that fall outside the image are filled by repeating the border pixels.
    """
    boxes = list(boxes)
    tilts = list(tilts) if tilts is not None else [0.0] * len(boxes)
    crops = []
    for (x, y, w, h), tilt in zip(boxes, tilts):
        if abs(tilt) < MIN_TILT_DEGREES:
            crops.append(_square_crop(gray, x, y, w, h, margin, SIZE))
            continue
        # A larger square (room for the corners), rotated about its centre, then its middle kept.
        big = int(np.ceil(SIZE * np.sqrt(2)))
        wide = _square_crop(gray, x, y, w, h, margin * np.sqrt(2) + (np.sqrt(2) - 1) / 2, big)
        turn = cv2.getRotationMatrix2D((big / 2, big / 2), tilt, 1.0)
        upright = cv2.warpAffine(wide, turn, (big, big), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        start = (big - SIZE) // 2
        crops.append(upright[start : start + SIZE, start : start + SIZE])
    return np.stack(crops) if crops else np.zeros((0, SIZE, SIZE), np.uint8)


def _square_crop(gray: np.ndarray, x: int, y: int, w: int, h: int, margin: float, out: int) -> np.ndarray:
    """The square of side ``max(w, h) * (1 + 2 * margin)`` centred on the box, resized to ``out`` pixels."""
    height, width = gray.shape
    side = max(w, h) * (1 + 2 * margin)
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    x1, y1 = int(round(cx + side / 2)), int(round(cy + side / 2))
    crop = gray[max(y0, 0) : min(y1, height), max(x0, 0) : min(x1, width)]
    pad = (max(-y0, 0), max(y1 - height, 0), max(-x0, 0), max(x1 - width, 0))
    if any(pad):
        crop = cv2.copyMakeBorder(crop, *pad, cv2.BORDER_REPLICATE)
    return cv2.resize(crop, (out, out), interpolation=cv2.INTER_AREA)


def preprocess(faces: np.ndarray) -> np.ndarray:
    """Model input from uint8 grey faces (N, 48, 48): float32 (N, 48, 48, 1) scaled to [0, 1]."""
    faces = np.asarray(faces)
    if faces.ndim != 3 or faces.shape[1:] != (SIZE, SIZE):
        raise ValueError(f"expected faces of shape (N, {SIZE}, {SIZE}), got {faces.shape}")
    return (faces.astype(np.float32) * (1.0 / 255.0))[..., np.newaxis]
