"""Drawing results onto images. Kept apart from inference: nothing here changes a prediction."""

from __future__ import annotations

import cv2
import numpy as np

from .emotions import COLORS, EMOTIONS
from .results import FaceResult, FrameResult


def draw(
    image: np.ndarray, result: FrameResult, show_confidence: bool = True, bars: bool = False, labels: bool = True
) -> np.ndarray:
    """A copy of an RGB image with each face boxed in its emotion's colour and labelled; with ``bars``,
    the seven probabilities as small bars beside each face; without ``labels``, white boxes only (for
    pages that show a group's mood and never one person's)."""
    canvas = np.ascontiguousarray(image[:, :, :3] if image.ndim == 3 else np.stack([image] * 3, -1)).copy()
    side = min(canvas.shape[:2])
    thickness = max(1, side // 250)
    font_scale = max(0.4, side / 900)
    for face in result.faces:
        x, y, w, h = face.box
        color = COLORS[face.label] if labels else (255, 255, 255)
        cv2.rectangle(canvas, (x, y), (x + w, y + h), color, thickness + 1)
        if not labels:
            continue
        text = f"{face.label} {face.confidence:.0%}" if show_confidence else face.label
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
        top = y - th - base - 4 if y - th - base - 4 >= 0 else y + h  # above the box, or below it at the top edge
        cv2.rectangle(canvas, (x, top), (x + tw + 6, top + th + base + 4), color, cv2.FILLED)
        cv2.putText(canvas, text, (x + 3, top + th + 2), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), thickness, cv2.LINE_AA)
        if bars:
            _draw_bars(canvas, face, font_scale, thickness)
    return canvas


def _draw_bars(canvas: np.ndarray, face: FaceResult, font_scale: float, thickness: int) -> None:
    """Seven labelled bars to the right of the face's box (to the left when there is no room)."""
    x, y, w, h = face.box
    row = max(8, h // len(EMOTIONS))
    scale = min(font_scale, row / 28)
    width = max(40, w // 2)
    (label_w, _), _ = cv2.getTextSize("surprise", cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    left = x + w + 4 if x + w + 4 + label_w + width < canvas.shape[1] else max(0, x - label_w - width - 8)
    for i, emotion in enumerate(EMOTIONS):
        top = y + i * row
        length = int(round(face.probability(emotion) * width))
        for color, weight in (((0, 0, 0), thickness + 2), ((255, 255, 255), thickness)):  # outlined, readable anywhere
            cv2.putText(canvas, emotion, (left, top + row - 3), cv2.FONT_HERSHEY_SIMPLEX, scale, color, weight, cv2.LINE_AA)
        cv2.rectangle(canvas, (left + label_w + 4, top + 2), (left + label_w + 4 + length, top + row - 2), COLORS[emotion], cv2.FILLED)
