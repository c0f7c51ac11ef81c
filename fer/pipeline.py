"""The one analyzer: pixels in, ``FrameResult`` out. Every entry point uses it: a photo, a recorded
video, the live page, a student's class stream, evaluation.

    image --to_gray--> grey --detector--> faces (box, score, keypoints)
          [--tracker: ids, steadied boxes, faces confirmed over detections]
          --crop_faces (eyes levelled from the keypoints)--> 48x48 crops --classifier (one batch)--> probabilities
          [--smoothing over a time window per track] --> FrameResult

For a photo the analyzer is stateless (``Analyzer.default(mode)``, shared by the whole process). A stream
gets its own analyzer from :meth:`Analyzer.for_stream`, with detection cadence, tracking and smoothing as
options of the same code, sharing the (thread-safe) detector and classifier.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np

from .assets import MODES
from .classifier import EmotionClassifier
from .faces import AgreedDetector, BlazeFaceDetector, FaceDetector
from .preprocess import crop_faces, eye_tilt, to_gray
from .results import FaceResult, FrameResult
from .tracking import Tracker

# The stream detector is BlazeFace (`fer.faces.BlazeFaceDetector`): ~2 ms per 640x480 frame on two cores
# against ~9 ms for the Haar cascade at video settings, and it finds turned and partly covered faces that
# the frontal cascade misses (`python -m fer bench`). Sensitivity sets its score threshold: lower finds
# more faces, and more false ones. At 0.4 it found all 11 faces of the sample photos, the one half
# covered by a hand (score 0.42) included, and nothing in noise or flat frames.
SENSITIVITY = {"low": 0.6, "normal": 0.4, "high": 0.3}


def stream_detector(sensitivity: str = "normal") -> BlazeFaceDetector:
    """A detector for one stream: each stream has its own interpreter, so streams detect in parallel."""
    return BlazeFaceDetector(min_score=SENSITIVITY[sensitivity])


class Analyzer:
    """A face detector and an emotion classifier used together.

    Without tracking (the default) each call stands alone: every face found is classified. With
    ``tracking=True`` the detector runs on every ``detect_every``-th frame, faces keep ids across frames
    (``fer.tracking``), a face is shown once two detections confirm it, and each face's probabilities are
    averaged over ``smoothing_s`` seconds. A face the last detection missed is kept, unclassified, for
    ``max_missed`` detections (steady boxes on a live video); with ``max_missed=0`` only the faces present
    now are returned, which is what counting needs (a class, a recorded video). ``min_hits`` detections
    confirm a face (1: every detection counts at once)."""

    def __init__(
        self,
        detector: FaceDetector,
        classifier: EmotionClassifier,
        tracking: bool = False,
        detect_every: int = 1,
        smoothing_s: float = 0.0,
        max_missed: int = 0,
        align: bool = True,
        min_hits: int = 2,
    ):
        self.detector, self.classifier, self.align = detector, classifier, align
        self.detect_every, self.smoothing_s = max(1, detect_every), smoothing_s
        self.tracker = Tracker(max_missed=max_missed, min_hits=min_hits) if tracking else None
        self._frame = 0

    @staticmethod
    @functools.cache
    def default(mode: str = "fast") -> "Analyzer":
        """The shared photo analyzer for a mode (``fer.assets.MODES``), created once per process."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
        return Analyzer(AgreedDetector(), EmotionClassifier(**MODES[mode]))

    def for_stream(
        self,
        detector: FaceDetector | None = None,
        detect_every: int = 2,
        smoothing_s: float = 0.5,
        max_missed: int = 2,
        min_hits: int = 2,
    ) -> "Analyzer":
        """A new tracking analyzer for one stream, sharing this one's classifier (and detector, unless given)."""
        return Analyzer(
            detector or self.detector, self.classifier, True, detect_every, smoothing_s, max_missed, self.align, min_hits
        )

    def __call__(self, image: np.ndarray, t: float = 0.0) -> FrameResult:
        """The faces of a uint8 grey, RGB or RGBA image; ``t`` (seconds) orders a stream's frames."""
        gray = to_gray(image)
        if self.tracker is None:
            faces = self.detector(gray)
            probs = self.classifier(self._crops(gray, faces, [f.box for f in faces]))
            found = tuple(replace(f, probabilities=p) for f, p in zip(faces, probs))
            return FrameResult(gray.shape[1], gray.shape[0], found)
        if self._frame % self.detect_every == 0:
            self.tracker.update(self.detector(gray))
        self._frame += 1
        tracks = self.tracker.shown
        seen = [tr for tr in tracks if tr.missed == 0]
        for tr, p in zip(seen, self.classifier(self._crops(gray, [tr.face for tr in seen], [tr.box for tr in seen]))):
            tr.observe(t, p, self.smoothing_s)
        faces = tuple(replace(tr.face, box=tr.box, probabilities=tr.smoothed, track_id=tr.id) for tr in tracks)
        return FrameResult(gray.shape[1], gray.shape[0], faces)

    analyze = __call__

    def _crops(self, gray: np.ndarray, faces: list[FaceResult], boxes: list) -> np.ndarray:
        """48x48 crops of the boxes, each face turned eyes-level when its detector gave keypoints."""
        return crop_faces(gray, boxes, tilts=[eye_tilt(f.keypoints) for f in faces] if self.align else None)

    def reset(self) -> None:
        """Forget the stream so far (tracks and ids)."""
        if self.tracker is not None:
            self.tracker.reset()
        self._frame = 0

    def largest_face(self, image: np.ndarray) -> np.ndarray | None:
        """The 48x48 crop of the largest face, or None when no face is found (evaluation on photos)."""
        gray = to_gray(image)
        faces = self.detector(gray)
        if not faces:
            return None
        biggest = max(faces, key=lambda f: f.box[2] * f.box[3])
        return self._crops(gray, [biggest], [biggest.box])[0]


def analyze(image: np.ndarray, mode: str = "fast") -> FrameResult:
    return Analyzer.default(mode)(image)


__all__ = ["Analyzer", "FaceResult", "FrameResult", "SENSITIVITY", "analyze", "stream_detector"]
