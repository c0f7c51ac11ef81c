"""Emotions in a stream of frames (a webcam, a video file): detection every few frames, faces tracked
in between, probabilities smoothed per face, and the live figures a page shows beside the video."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from .classifier import EmotionClassifier
from .emotions import EMOTIONS
from .faces import BlazeFaceDetector, FaceDetector
from .mood import Timeline
from .pipeline import FaceResult, FrameResult
from .preprocess import crop_faces, to_gray
from .render import draw
from .tracking import Tracker

# The live detector is BlazeFace (`fer.faces.BlazeFaceDetector`): ~2 ms per 640x480 frame on two cores
# against ~9 ms for the Haar cascade at video settings, and it finds turned and partly covered faces that
# the frontal cascade misses (`python -m fer bench`). Sensitivity sets its score threshold: lower finds
# more faces, and more false ones. At 0.4 it found all 11 faces of the sample photos, the one half
# covered by a hand (score 0.42) included, and nothing in noise or flat frames.
SENSITIVITY = {"low": 0.6, "normal": 0.4, "high": 0.3}


def stream_detector(sensitivity: str = "normal") -> BlazeFaceDetector:
    return BlazeFaceDetector(min_score=SENSITIVITY[sensitivity])


class StreamAnalyzer:
    """``analyzer(image, t) -> FrameResult`` for consecutive frames of one stream. The detector runs on
    every ``detect_every``-th frame; the tracked faces are classified in one batch on every frame and
    their probabilities averaged over ``smoothing_s`` seconds (0 turns smoothing off). A face the last
    detection missed keeps its box and last probabilities for ``max_missed`` detections, unclassified
    (its box may no longer hold a face); with ``max_missed=0`` only faces detected now count."""

    DETECT_EVERY = 2  # the default: BlazeFace costs ~2 ms, so every other frame keeps boxes on moving faces

    def __init__(
        self,
        classifier: EmotionClassifier,
        detector: FaceDetector | None = None,
        detect_every: int | None = None,
        smoothing_s: float = 0.5,
        max_missed: int = 2,
    ):
        self.classifier, self.detector = classifier, detector or stream_detector()
        self.detect_every, self.smoothing_s = detect_every or self.DETECT_EVERY, smoothing_s
        self.tracker = Tracker(max_missed=max_missed)
        self._frame = 0

    def __call__(self, image: np.ndarray, t: float) -> FrameResult:
        gray = to_gray(image)
        if self._frame % self.detect_every == 0:
            self.tracker.update([d.box for d in self.detector(gray)])
        self._frame += 1
        tracks = self.tracker.shown
        seen = [tr for tr in tracks if tr.missed == 0]
        for tr, p in zip(seen, self.classifier(crop_faces(gray, [tr.box for tr in seen]))):
            tr.observe(t, p, self.smoothing_s)
        faces = tuple(
            FaceResult(tr.box, dict(zip(EMOTIONS, map(float, tr.smoothed))), track_id=tr.id) for tr in tracks
        )
        return FrameResult(width=gray.shape[1], height=gray.shape[0], faces=faces)

    def reset(self) -> None:
        self.tracker.reset()
        self._frame = 0


@dataclass(frozen=True)
class LiveSettings:
    sensitivity: str = "normal"
    smoothing_s: float = 0.5
    show_probabilities: bool = True
    mirror: bool = True


@dataclass(frozen=True)
class LiveSnapshot:
    """What a page shows beside the video: a copy, safe to read in any thread."""

    result: FrameResult | None  # the latest frame's faces
    fps: float  # frames analysed per second over the last two seconds
    capped: bool  # frames came faster than max_fps in the last two seconds (drawn, not analysed)
    ms_per_frame: float  # median processing time over the last 30 frames
    frames: int  # frames processed since start
    timeline: list[dict]  # Timeline.rows()
    timeline_csv: str


class LiveSession:
    """One viewer's live stream. ``process`` runs in the video thread, one frame at a time; the page's
    thread calls ``configure``, ``start`` and ``snapshot``. One lock guards all shared state. At most
    ``max_fps`` frames a second are analysed (a server-side bound per session); a frame that comes
    sooner gets the latest faces drawn on it without analysis."""

    def __init__(
        self,
        classifier: EmotionClassifier,
        settings: LiveSettings = LiveSettings(),
        bucket_s: float = 1.0,
        max_fps: float = 30.0,
    ):
        self._lock = threading.Lock()
        self._classifier, self._bucket_s, self.max_fps = classifier, bucket_s, max_fps
        self.settings = settings
        self._analyzer = StreamAnalyzer(classifier, stream_detector(settings.sensitivity), smoothing_s=settings.smoothing_s)
        self.start()

    def configure(self, settings: LiveSettings) -> None:
        with self._lock:
            if settings.sensitivity != self.settings.sensitivity:
                self._analyzer.detector = stream_detector(settings.sensitivity)
            self._analyzer.smoothing_s = settings.smoothing_s
            self.settings = settings

    def start(self) -> None:
        """Begin a new timeline (the page calls it when the viewer presses START)."""
        with self._lock:
            self._t0 = time.monotonic()
            self._analyzer.reset()
            self._timeline = Timeline(self._bucket_s)
            self._result: FrameResult | None = None
            self._frames = 0
            self._arrivals: deque[float] = deque()
            self._costs: deque[float] = deque(maxlen=30)
            self._last_capped = -np.inf

    def process(self, image: np.ndarray) -> np.ndarray:
        """Analyse one RGB frame and return it with the faces drawn on."""
        began = time.monotonic()
        with self._lock:
            settings = self.settings
            if settings.mirror:
                image = cv2.flip(image, 1)
            if sum(1 for done in self._arrivals if done > began - 1.0) >= self.max_fps:  # a rate over 1 s: jitter-proof
                self._last_capped = began
                return draw(image, self._result, bars=settings.show_probabilities) if self._result else image
            t = began - self._t0
            result = self._analyzer(image, t)
            out = draw(image, result, bars=settings.show_probabilities)
            self._timeline.add(t, np.array([[f.probabilities[e] for e in EMOTIONS] for f in result.faces]))
            self._result, self._frames = result, self._frames + 1
            done = time.monotonic()
            self._costs.append(done - began)
            self._arrivals.append(done)
            while self._arrivals[0] < done - 2.0:
                self._arrivals.popleft()
        return out

    def snapshot(self) -> LiveSnapshot:
        with self._lock:
            span = self._arrivals[-1] - self._arrivals[0] if len(self._arrivals) > 1 else 0.0
            recent = self._arrivals and time.monotonic() - self._arrivals[-1] < 1.0
            return LiveSnapshot(
                result=self._result,
                fps=(len(self._arrivals) - 1) / span if span and recent else 0.0,
                capped=time.monotonic() - self._last_capped < 2.0,
                ms_per_frame=float(np.median(self._costs)) * 1000 if self._costs else 0.0,
                frames=self._frames,
                timeline=self._timeline.rows(),
                timeline_csv=self._timeline.to_csv(),
            )
