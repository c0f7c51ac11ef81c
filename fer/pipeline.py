"""``analyze(image) -> FrameResult``: every face found, boxed and classified. The one entry point that
the app, the command line and evaluation share."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .classifier import EmotionClassifier
from .emotions import EMOTIONS
from .faces import FaceDetector, HaarDetector
from .preprocess import crop_faces, to_gray


@dataclass(frozen=True)
class FaceResult:
    box: tuple[int, int, int, int]  # x, y, w, h in pixels of the analysed image
    probabilities: dict[str, float]  # all seven emotions, summing to 1
    detector_score: float = 0.0
    track_id: int | None = None  # the same face across the frames of a video

    @property
    def label(self) -> str:
        return max(self.probabilities, key=self.probabilities.get)

    @property
    def confidence(self) -> float:
        return self.probabilities[self.label]

    def to_dict(self) -> dict:
        track = {} if self.track_id is None else {"track_id": self.track_id}
        return track | {
            "box": list(self.box),
            "label": self.label,
            "probabilities": {e: round(float(self.probabilities[e]), 6) for e in EMOTIONS},
        }


@dataclass(frozen=True)
class FrameResult:
    width: int
    height: int
    faces: tuple[FaceResult, ...]

    def to_dict(self) -> dict:
        return {"width": self.width, "height": self.height, "faces": [f.to_dict() for f in self.faces]}


# Classifier views and models per mode, with PublicTest accuracy (model card): "fast" averages each face
# with its mirror image (66.04% -> 67.93%); "accurate" averages three independently trained networks (the
# fast one, and fer_cnn_b and fer_cnn_c, smaller) over four views of each face (as is and 1.1x closer,
# each mirrored): 68.71%.
MODES: dict[str, dict] = {
    "fast": {"flip": True},
    "accurate": {"flip": True, "zooms": (1.1,), "members": ("fer_cnn_b.tflite", "fer_cnn_c.tflite")},
}


class Analyzer:
    """A face detector and an emotion classifier, used together on whole images."""

    def __init__(self, detector: FaceDetector, classifier: EmotionClassifier):
        self.detector, self.classifier = detector, classifier

    @staticmethod
    @functools.cache
    def default(mode: str = "fast") -> "Analyzer":
        """The shared analyzer for a mode (``MODES``), created once per process."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
        return Analyzer(HaarDetector(), EmotionClassifier(**MODES[mode]))

    def analyze(self, image: np.ndarray) -> FrameResult:
        """Find and classify every face of a uint8 grey, RGB or RGBA image."""
        gray = to_gray(image)
        detections = self.detector(gray)
        boxes = [d.box for d in detections]
        probs = self.classifier(crop_faces(gray, boxes))
        faces = tuple(
            FaceResult(d.box, dict(zip(EMOTIONS, map(float, p))), d.score) for d, p in zip(detections, probs)
        )
        return FrameResult(width=gray.shape[1], height=gray.shape[0], faces=faces)

    def largest_face(self, image: np.ndarray) -> np.ndarray | None:
        """The 48x48 crop of the largest face, or None when no face is found (evaluation on photos)."""
        gray = to_gray(image)
        detections = self.detector(gray)
        if not detections:
            return None
        biggest = max(detections, key=lambda d: d.box[2] * d.box[3])
        return crop_faces(gray, [biggest.box])[0]


def analyze(image: np.ndarray, mode: str = "fast") -> FrameResult:
    return Analyzer.default(mode).analyze(image)
