"""Drawing results onto images. Kept apart from inference: nothing here changes a prediction."""

from __future__ import annotations

import cv2
import numpy as np

from .emotions import COLORS, EMOTIONS
from .results import FaceResult, FrameResult

# A label below this confidence is marked unsure: "sad? 37%", in a thinner, dashed box. Chosen from the
# calibration data in models/fer_cnn.json, fast mode ("mirrored": the shipped network, each face as is and
# mirrored), reliability bins after calibration on FER2013 PublicTest (3589 faces): in the bin
# 0.467-0.533 the label was right for 44.4% of 304 faces, in 0.533-0.600 for 54.9% of 264; every bin below
# 0.533 is right less than half the time (28.4% to 44.4%), every bin above more than half (54.9% to
# 92.7%). Below the bin edge 0.533, rounded to whole percent, a fast-mode label is more often wrong than
# right. (The accurate mode's crossing is one bin lower, 0.467: at 0.467-0.533 it was right 52.6% of 293,
# so this one threshold is on the careful side for it.) tests/test_render.py checks it against the file.
UNSURE_BELOW = 0.53


def unsure(face: FaceResult) -> bool:
    """Whether a classified face's label is below the confidence at which it is right half the time."""
    return face.probabilities is not None and face.confidence < UNSURE_BELOW


def label_text(face: FaceResult, show_confidence: bool = True) -> str:
    """"happy 91%", or "sad? 37%" for an unsure label; "happy" / "sad?" without the confidence."""
    if face.label is None:
        return "?"
    label = face.label + ("?" if unsure(face) else "")
    return f"{label} {face.confidence:.0%}" if show_confidence else label


def draw(
    image: np.ndarray, result: FrameResult, show_confidence: bool = True, bars: bool = False, labels: bool = True
) -> np.ndarray:
    """A copy of an RGB image with each face boxed in its emotion's colour and labelled (an unsure label,
    ``UNSURE_BELOW``, gets a "?" and a thinner, dashed box); with ``bars``, the seven probabilities as small
    bars beside each face; without ``labels``, white boxes only (for pages that show a group's mood and
    never one person's)."""
    canvas = np.ascontiguousarray(image[:, :, :3] if image.ndim == 3 else np.stack([image] * 3, -1)).copy()
    side = min(canvas.shape[:2])
    thickness = max(1, side // 250)
    font_scale = max(0.4, side / 900)
    for face in result.faces:
        x, y, w, h = face.box
        color = COLORS[face.label] if labels and face.label else (255, 255, 255)
        if labels and unsure(face):
            _dashed_rectangle(canvas, x, y, w, h, color, thickness)
        else:
            cv2.rectangle(canvas, (x, y), (x + w, y + h), color, thickness + 1)
        if not labels:
            continue
        text = label_text(face, show_confidence)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
        top = y - th - base - 4 if y - th - base - 4 >= 0 else y + h  # above the box, or below it at the top edge
        cv2.rectangle(canvas, (x, top), (x + tw + 6, top + th + base + 4), color, cv2.FILLED)
        cv2.putText(canvas, text, (x + 3, top + th + 2), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), thickness, cv2.LINE_AA)
        if bars:
            _draw_bars(canvas, face, font_scale, thickness)
    return canvas


def mood_strip(width: int, height: int, shares: np.ndarray | None) -> np.ndarray:
    """A (height, width, 3) band: the seven emotions' ``shares`` (summing to 1) side by side in their
    colours, in EMOTIONS order; dark grey where there are no faces (``shares`` None or all zero)."""
    strip = np.full((height, width, 3), 40, np.uint8)
    if shares is None or not np.sum(shares) > 0:
        return strip
    edges = np.rint(np.concatenate([[0], np.cumsum(shares) / np.sum(shares)]) * width).astype(int)
    for emotion, left, right in zip(EMOTIONS, edges, edges[1:]):
        strip[:, left:right] = COLORS[emotion]
    return strip


def _dashed_rectangle(canvas: np.ndarray, x: int, y: int, w: int, h: int, color, thickness: int) -> None:
    """A box of dashes, each starting at a corner so the corners are always drawn."""
    dash = max(4, 4 * thickness)
    for (x0, y0), (x1, y1) in (((x, y), (x + w, y)), ((x, y + h), (x + w, y + h)), ((x, y), (x, y + h)), ((x + w, y), (x + w, y + h))):
        length = max(abs(x1 - x0), abs(y1 - y0))
        for start in range(0, length + 1, 2 * dash):
            end = min(start + dash, length)
            a = (x0 + (x1 - x0) * start // max(length, 1), y0 + (y1 - y0) * start // max(length, 1))
            b = (x0 + (x1 - x0) * end // max(length, 1), y0 + (y1 - y0) * end // max(length, 1))
            cv2.line(canvas, a, b, color, thickness)


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
