"""Drawing results onto images. Kept apart from inference: nothing here changes a prediction."""

from __future__ import annotations

import cv2
import numpy as np

from .emotions import COLORS
from .pipeline import FrameResult


def draw(image: np.ndarray, result: FrameResult, show_confidence: bool = True) -> np.ndarray:
    """A copy of an RGB image with each face boxed in its emotion's colour and labelled."""
    canvas = np.ascontiguousarray(image[:, :, :3] if image.ndim == 3 else np.stack([image] * 3, -1)).copy()
    side = min(canvas.shape[:2])
    thickness = max(1, side // 250)
    font_scale = max(0.4, side / 900)
    for face in result.faces:
        x, y, w, h = face.box
        color = COLORS[face.label]
        cv2.rectangle(canvas, (x, y), (x + w, y + h), color, thickness + 1)
        text = f"{face.label} {face.confidence:.0%}" if show_confidence else face.label
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
        top = y - th - base - 4 if y - th - base - 4 >= 0 else y + h  # above the box, or below it at the top edge
        cv2.rectangle(canvas, (x, top), (x + tw + 6, top + th + base + 4), color, cv2.FILLED)
        cv2.putText(canvas, text, (x + 3, top + th + 2), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), thickness, cv2.LINE_AA)
    return canvas
