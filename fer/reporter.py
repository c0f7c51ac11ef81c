"""A student's side of a class session: analyse about one frame per second, keep only per-bucket
numbers in memory, and send each finished bucket to the store. Frames and crops never leave memory.

The store may be out of reach (PostgreSQL down, the SQLite file locked or unwritable): the stream keeps
running, a bucket that could not be stored waits in memory and is sent, oldest first, with the next
bucket. At most ``max_pending`` buckets wait; older ones are dropped and counted in ``lost``. Every
finished bucket is counted once: ``sent + pending + lost + refused``."""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from typing import Callable

import numpy as np

from .pipeline import Analyzer, stream_detector
from .render import draw
from .results import FrameResult
from .store import Contribution, RoomNotFound, Store, StoreError

log = logging.getLogger(__name__)

MAX_PENDING = 12  # one minute of 5-second buckets


class _Sender:
    """One thread per process that writes finished buckets to the store, so that no student's video
    thread waits on the database (at a bucket boundary every student's bucket is written at once: 50
    commits in a row took seconds, and the frames behind them were dropped)."""

    def __init__(self):
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def submit(self, reporter: "ClassReporter") -> None:
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="class-bucket-sender", daemon=True)
                self._thread.start()
        self._queue.put(reporter)

    def _run(self) -> None:
        while True:
            reporter = self._queue.get()
            try:
                reporter._drain()
            except Exception:  # never let one reporter stop the others' buckets
                log.exception("sending a class bucket failed")


_SENDER = _Sender()


class ClassReporter:
    """``process(image)`` from the video thread. A bucket is sent when a frame of the next one arrives,
    and by ``flush()`` when the stream stops. ``ended`` turns True once the room refuses data.

    Counters, for the student's page: ``analysed`` (frames analysed since it was made), ``sent`` (stored),
    ``pending`` (waiting for the store to come back), ``lost`` (dropped because more than ``max_pending``
    were waiting), ``refused`` (refused by a room that had ended or expired meanwhile); ``error`` is the last
    database error while the store is unreachable, None once a send succeeds."""

    def __init__(
        self,
        store: Store,
        code: str,
        analyzer: Analyzer,
        bucket_s: int,
        analyze_every_s: float = 1.0,
        clock: Callable[[], float] = time.time,
        max_pending: int = MAX_PENDING,
        send_in_background: bool = True,
    ):
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.store, self.code, self.bucket_s = store, code, bucket_s
        self.analyze_every_s, self.clock, self.max_pending = analyze_every_s, clock, max_pending
        self.send_in_background = send_in_background
        # One detection per analysed frame, and a face counts exactly while the detector finds it: no ghost of
        # a face that moved between two analyses (it would count one student twice and reuse their last
        # probabilities), and no wait for a second detection (a student moving about would never count).
        # BlazeFace at its normal threshold finds no face in noise or flat frames (tests/test_faces.py).
        self._analyze = analyzer.for_stream(
            stream_detector("normal"), detect_every=1, smoothing_s=0.0, max_missed=0, min_hits=1
        )
        self._lock = threading.Lock()  # the frame state and the counters
        self._send_lock = threading.Lock()  # one drain at a time
        self._bucket: int | None = None
        self._frames: list[np.ndarray] = []
        self._pending: collections.deque[Contribution] = collections.deque()
        self._last = -np.inf
        self.result: FrameResult | None = None
        self.analysed = self.sent = self.lost = self.refused = 0
        self.error: str | None = None
        self.ended = False

    @property
    def pending(self) -> int:
        """Finished buckets waiting in memory for the store."""
        return len(self._pending)

    def process(self, image: np.ndarray) -> FrameResult | None:
        """Analyse the frame if a second has passed since the last analysis; returns the latest result.
        Never raises because of the store, and never waits for it: a finished bucket goes to the process's
        sender thread (or, with ``send_in_background=False``, is written here, after the analysis)."""
        now = self.clock()
        send = False
        with self._lock:
            if self.ended or now - self._last < self.analyze_every_s:
                return self.result
            self._last = now
            bucket = int(now // self.bucket_s) * self.bucket_s
            if self._bucket is not None and bucket != self._bucket:
                send = self._close_bucket()
            self._bucket = bucket
            result = self.result = self._analyze(image, now)
            self.analysed += 1
            self._frames.append(result.probabilities)
        if send:
            _SENDER.submit(self) if self.send_in_background else self._drain()
        return result

    def on_frame(self, image: np.ndarray) -> np.ndarray:
        """The join page's work for one video frame: analysed if a second has passed, and returned with the
        faces boxed (no labels: the student sees that their face is found, nobody sees an expression). The
        very same array comes back when there is nothing to draw, so the caller can pass the frame on as is."""
        result = self.process(image)
        if result is None or self.ended or not result.faces:
            return image
        return draw(image, result, labels=False)

    def flush(self) -> None:
        """Send the open bucket and any waiting ones, and wait for it (the stream stopped). The last result is
        forgotten: after the next START the page says a face is in view only once that stream brings one."""
        with self._lock:
            self._close_bucket()
            self.result = None
        self._drain()

    def wait_sent(self, timeout: float = 30.0) -> bool:
        """Wait until no bucket is waiting to be written (or the store refused or failed them); for tests."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if not self._pending or self.ended or self.error is not None:
                    if not self._send_lock.locked():
                        return True
            time.sleep(0.01)
        return False

    def _close_bucket(self) -> bool:
        """Move the open bucket's numbers to the waiting ones (under ``_lock``); whether there is any."""
        if not self.ended and self._bucket is not None and self._frames:
            self._pending.append(Contribution.from_frames(self._bucket, self._frames))
            self._frames = []
        return bool(self._pending) and not self.ended

    def _drain(self) -> None:
        """Write the waiting buckets, oldest first, outside the frame lock: a video thread never waits here."""
        with self._send_lock:
            while True:
                with self._lock:
                    if self.ended or not self._pending:
                        return
                    bucket = self._pending[0]
                try:
                    self.store.add(self.code, bucket)
                except RoomNotFound:  # ended by the teacher, or expired: nothing more is accepted
                    with self._lock:
                        self.ended = True
                        self.refused += len(self._pending)
                        self._pending.clear()
                    return
                except StoreError as err:  # out of reach: keep the newest buckets, retry with the next one
                    with self._lock:
                        if self.error is None:
                            log.warning("class store unreachable, keeping buckets in memory: %s", _reason(err))
                        self.error = _reason(err)
                        while len(self._pending) > self.max_pending:
                            self._pending.popleft()
                            self.lost += 1
                    return
                with self._lock:
                    self._pending.popleft()
                    self.sent += 1
                    if self.error is not None:
                        log.info("class store reachable again")
                        self.error = None


def _reason(err: StoreError) -> str:
    """The driver's message, without the SQL statement and its parameters (they hold the room code)."""
    lines = str(getattr(err, "orig", None) or "").strip().splitlines()
    return lines[0][:200] if lines else type(err).__name__
