"""One viewer's live stream: the analyzer on each frame, the faces drawn, and the figures a page shows
beside the video (frame rate, milliseconds per frame, a timeline)."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, replace

import cv2
import numpy as np

from .calibration import apply_weights, resting_weights
from .mood import Timeline
from .pipeline import Analyzer, stream_detector
from .render import draw
from .results import FrameResult


@dataclass(frozen=True)
class LiveSettings:
    sensitivity: str = "normal"
    smoothing_s: float = 0.5
    show_probabilities: bool = True
    mirror: bool = True


class FrameMeter:
    """Frame rate and cost of a stream, as measured: ``fps`` counts the frames analysed over the last two
    seconds, ``ms_per_frame`` is the median analysis time (detection, classification, tracking, drawing)
    over the last 30 frames, and ``capped`` says frames are being refused for coming too soon (more than
    ``max_fps`` in one second): more than ``CAPPED_AFTER`` refusals in the last two seconds, so that the
    jitter of a camera at exactly ``max_fps`` (an odd frame refused now and then) raises no notice."""

    CAPPED_AFTER = 5

    def __init__(self, max_fps: float):
        self.max_fps = max_fps
        self._done: deque[float] = deque()
        self._costs: deque[float] = deque(maxlen=30)
        self._refused: deque[float] = deque()
        self.frames = 0

    def admit(self, now: float) -> bool:
        """Whether a frame arriving at ``now`` may be analysed (a rate over one second: jitter-proof)."""
        while self._refused and self._refused[0] < now - 2.0:
            self._refused.popleft()
        if sum(1 for done in self._done if done > now - 1.0) >= self.max_fps:
            self._refused.append(now)
            return False
        return True

    def record(self, began: float, done: float) -> None:
        self.frames += 1
        self._costs.append(done - began)
        self._done.append(done)
        while self._done[0] < done - 2.0:
            self._done.popleft()

    def figures(self, now: float) -> tuple[float, float, bool]:
        """(frames per second, median ms per frame, capped) at ``now``; zeros once frames stop coming."""
        recent = bool(self._done) and now - self._done[-1] < 1.0
        span = self._done[-1] - self._done[0] if len(self._done) > 1 else 0.0
        fps = (len(self._done) - 1) / span if span and recent else 0.0
        ms = float(np.median(self._costs)) * 1000 if self._costs and recent else 0.0
        capped = sum(1 for t in self._refused if t > now - 2.0) > self.CAPPED_AFTER
        return fps, ms, capped


@dataclass(frozen=True)
class LiveSnapshot:
    """What a page shows beside the video: a copy, safe to read in any thread."""

    result: FrameResult | None  # the latest frame's faces
    fps: float  # frames analysed per second over the last two seconds (0 when frames stopped)
    capped: bool  # frames came faster than max_fps in the last two seconds (drawn, not analysed)
    ms_per_frame: float  # median processing time over the last 30 frames
    frames: int  # frames processed since start
    timeline: list[dict]  # Timeline.rows()
    timeline_csv: str
    resting: str = "off"  # the resting-face correction: "off", "recording" or "on"


def _same_place(box, last) -> bool:
    """A face about where and as large as ``last`` was: its centre within one face width of the last
    one's, its width within a factor of 1.5 (a person back at their camera, not a cut to someone else)."""
    if last is None:
        return False
    (x, y, w, h), (lx, ly, lw, lh) = box, last
    near = abs(x + w / 2 - lx - lw / 2) <= lw and abs(y + h / 2 - ly - lh / 2) <= lh
    return near and 1 / 1.5 <= w / lw <= 1.5


class LiveSession:
    """One viewer's live stream. ``process`` runs in the video thread, one frame at a time; the page's
    thread calls ``configure``, ``start`` and ``snapshot``. One lock guards the shared state. At most
    ``max_fps`` frames a second are analysed (a server-side bound per session); a frame that comes
    sooner gets the latest faces drawn on it without analysis."""

    def __init__(self, analyzer: Analyzer, settings: LiveSettings = LiveSettings(), bucket_s: float = 1.0, max_fps: float = 30.0):
        self._lock = threading.Lock()
        self._photo_analyzer, self._bucket_s, self.max_fps = analyzer, bucket_s, max_fps
        self.settings = settings
        self._analyzer = analyzer.for_stream(stream_detector(settings.sensitivity), smoothing_s=settings.smoothing_s)
        self._weights: np.ndarray | None = None  # the viewer's resting-face correction, in memory only
        self._recording: tuple[float, list[tuple]] | None = None  # (until, [(track, probabilities, box) seen])
        self._resting_track: int | None = None  # whose resting face it is, and where that face was last seen
        self._resting_box: tuple | None = None
        self.start()

    def configure(self, settings: LiveSettings) -> None:
        with self._lock:
            if settings.sensitivity != self.settings.sensitivity:
                self._analyzer.detector = stream_detector(settings.sensitivity)
            self._analyzer.smoothing_s = settings.smoothing_s
            self.settings = settings

    def start(self) -> None:
        """Begin a new timeline and clear the figures (the page calls it on START and on STOP)."""
        with self._lock:
            self._t0 = time.monotonic()
            self._analyzer.reset()
            self._timeline = Timeline(self._bucket_s)
            self._result: FrameResult | None = None
            self._meter = FrameMeter(self.max_fps)

    def process(self, image: np.ndarray) -> np.ndarray:
        """Analyse one RGB frame and return it with the faces drawn on."""
        began = time.monotonic()
        with self._lock:
            settings = self.settings
            if settings.mirror:
                image = cv2.flip(image, 1)
            if not self._meter.admit(began):
                return draw(image, self._result, bars=settings.show_probabilities) if self._result else image
            t = began - self._t0
            result = self._corrected(self._analyzer(image, t), began)
            out = draw(image, result, bars=settings.show_probabilities)
            self._timeline.add(t, result.probabilities)
            self._result = result
            self._meter.record(began, time.monotonic())
        return out

    def calibrate_resting(self, seconds: float = 3.0) -> None:
        """Record the viewer's resting face for ``seconds`` (the largest face in view; hold a neutral face),
        then correct that person's probabilities from it on (``fer.calibration.resting_weights``), and no
        one else's: the correction follows their track, and when it is lost, the one face left in view (the
        person back at the camera where they were). For this session only: nothing of it is stored."""
        with self._lock:
            self._recording = (time.monotonic() + seconds, [])

    def forget_resting(self) -> None:
        with self._lock:
            self._weights, self._recording, self._resting_track = None, None, None

    def _corrected(self, result: FrameResult, now: float) -> FrameResult:
        """The frame's faces, the calibrated person's corrected; records the resting face while asked to."""
        if self._recording is not None:
            until, seen = self._recording
            faces = [f for f in result.faces if f.probabilities is not None]
            if faces:
                largest = max(faces, key=lambda f: f.box[2] * f.box[3])
                seen.append((largest.track_id, largest.probabilities, largest.box))
            if now >= until:
                if seen:  # the face that was largest most often, from its own frames only
                    tracks = [track for track, _, _ in seen]
                    self._resting_track = max(tracks, key=tracks.count)
                    self._resting_box = next(box for track, _, box in reversed(seen) if track == self._resting_track)
                    self._weights = resting_weights(np.mean([p for track, p, _ in seen if track == self._resting_track], axis=0))
                self._recording = None
        if self._weights is None:
            return result
        theirs = [f for f in result.faces if f.track_id == self._resting_track]
        if not theirs and len(result.faces) == 1 and _same_place(result.faces[0].box, self._resting_box):
            theirs = list(result.faces)  # their track was lost: the one face in view, where theirs was, is theirs
            self._resting_track = theirs[0].track_id
        if theirs:
            self._resting_box = theirs[0].box
        faces = tuple(
            replace(f, probabilities=apply_weights(f.probabilities, self._weights))
            if f.track_id == self._resting_track and f.probabilities is not None else f
            for f in result.faces
        )
        return replace(result, faces=faces)

    def snapshot(self) -> LiveSnapshot:
        with self._lock:
            fps, ms, capped = self._meter.figures(time.monotonic())
            return LiveSnapshot(
                result=self._result,
                fps=fps,
                capped=capped,
                ms_per_frame=ms,
                frames=self._meter.frames,
                timeline=self._timeline.rows(),
                timeline_csv=self._timeline.to_csv(),
                resting="recording" if self._recording else "on" if self._weights is not None else "off",
            )
