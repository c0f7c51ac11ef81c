"""A student's side of a class session: analyse about one frame per second, keep only per-bucket
numbers in memory, and send each finished bucket to the store. Frames and crops never leave memory."""

from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np

from .pipeline import Analyzer, stream_detector
from .results import FrameResult
from .store import Contribution, RoomNotFound, Store


class ClassReporter:
    """``process(image)`` from the video thread. A bucket is sent when a frame of the next one arrives,
    and by ``flush()`` when the stream stops. ``ended`` turns True once the room refuses data."""

    def __init__(
        self,
        store: Store,
        code: str,
        analyzer: Analyzer,
        bucket_s: int,
        analyze_every_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ):
        self.store, self.code, self.bucket_s = store, code, bucket_s
        self.analyze_every_s, self.clock = analyze_every_s, clock
        # One detection per analysed frame; a face is counted once two analyses in a row found it, and only
        # while the detector finds it (no ghost of a face that moved: it would count one student twice).
        self._analyze = analyzer.for_stream(stream_detector("high"), detect_every=1, smoothing_s=0.0, max_missed=0)
        self._lock = threading.Lock()
        self._bucket: int | None = None
        self._frames: list[np.ndarray] = []
        self._last = -np.inf
        self.result: FrameResult | None = None
        self.sent = 0
        self.ended = False

    def process(self, image: np.ndarray) -> FrameResult | None:
        """Analyse the frame if a second has passed since the last analysis; returns the latest result."""
        now = self.clock()
        with self._lock:
            if self.ended or now - self._last < self.analyze_every_s:
                return self.result
            self._last = now
            bucket = int(now // self.bucket_s) * self.bucket_s
            if self._bucket is not None and bucket != self._bucket:
                self._send()
            self._bucket = bucket
            self.result = self._analyze(image, now)
            self._frames.append(self.result.probabilities)
            return self.result

    def flush(self) -> None:
        with self._lock:
            self._send()

    def _send(self) -> None:
        if self._bucket is None or not self._frames or self.ended:
            return
        try:
            self.store.add(self.code, Contribution.from_frames(self._bucket, self._frames))
            self.sent += 1
        except RoomNotFound:
            self.ended = True
        self._frames = []
