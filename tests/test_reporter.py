"""A student's reporter against a real SQLite store, with real face frames."""

import threading

import numpy as np

from fer.reporter import ClassReporter
from fer.pipeline import Analyzer
from fer.store import Store

from .conftest import face_clip


class Clock:
    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_one_analysis_per_second_and_one_row_per_bucket(tmp_path, samples):
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    code, _ = store.create_room(bucket_s=5, min_faces=1)  # one student: shown only because k = 1 here
    clock = Clock(1_000_000.0)  # a bucket boundary
    reporter = ClassReporter(store, code, Analyzer.default(), bucket_s=5, clock=clock, send_in_background=False)
    frames = face_clip(samples / "faceapi_happy.jpg", seconds=1.0)
    analysed = 0
    for i in range(12 * 10):  # 12 s of video at 10 fps
        clock.t = 1_000_000.0 + i / 10
        before = reporter.result
        reporter.process(frames[i % len(frames)])
        analysed += reporter.result is not before
    assert 11 <= analysed <= 13  # about one analysis per second, not ten
    assert reporter.analysed == analysed  # the count the join page watches for "no video" (no_video_notice)
    assert reporter.sent == 2  # buckets [0, 5) and [5, 10) are complete; [10, 15) is still open
    assert reporter.result.faces
    reporter.flush()
    assert reporter.result is None  # stopped: no face "in view" until the next stream brings one
    rows = store.timeline(code)
    assert [r["t"] for r in rows] == [1_000_000, 1_000_005, 1_000_010]
    assert all(r["streams"] == 1 for r in rows)
    assert rows[1]["faces"] == 1 and rows[1]["counts"]["happy"] == rows[1]["observations"] == 5


def test_a_closed_class_stops_the_reporter(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    code, _ = store.create_room(bucket_s=5)
    clock = Clock(0.0)
    reporter = ClassReporter(store, code, Analyzer.default(), bucket_s=5, clock=clock, send_in_background=False)
    blank = np.zeros((240, 320, 3), np.uint8)
    reporter.process(blank)
    store.end_room(code)
    clock.t = 6.0
    reporter.process(blank)  # sends bucket 0: refused, the class has ended
    assert reporter.ended and reporter.sent == 0
    assert (reporter.refused, reporter.pending, reporter.lost) == (1, 0, 0)  # refused by the class, not waiting


def test_a_store_error_never_reaches_the_video_thread(tmp_path):
    """Any database error (here the engine pointed at a closed port) leaves process() and flush() working:
    the bucket waits, and ``error`` says why, without the SQL statement or the room code."""
    import socket

    import sqlalchemy as sa

    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    code, _ = store.create_room(bucket_s=5)
    clock = Clock(0.0)
    reporter = ClassReporter(store, code, Analyzer.default(), bucket_s=5, clock=clock, send_in_background=False)
    blank = np.zeros((240, 320, 3), np.uint8)
    with socket.socket() as closed:  # bound, never listening: a connection to it is refused
        closed.bind(("127.0.0.1", 0))
        store.engine.dispose()
        store.engine = sa.create_engine(f"postgresql+psycopg://nobody@127.0.0.1:{closed.getsockname()[1]}/none")
        for t in (0.0, 6.0, 11.0):
            clock.t = t
            assert reporter.process(blank) is not None
        reporter.flush()
    assert (reporter.sent, reporter.pending, reporter.lost, reporter.ended) == (0, 3, 0, False)
    assert reporter.error and code not in reporter.error and "INSERT" not in reporter.error


def test_a_face_that_moves_between_analyses_is_counted_once(tmp_path, samples):
    """One student who jumps from one side of the picture to the other between two analyses (a second
    apart) is one face in every bucket: the old position leaves no ghost that would count them twice and
    reuse their last probabilities (which, with two students, would open the k = 3 privacy gate)."""
    import cv2

    from fer.imageio import load_image

    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    code, _ = store.create_room(bucket_s=5, min_faces=1)
    clock = Clock(1_000_000.0)
    reporter = ClassReporter(store, code, Analyzer.default(), bucket_s=5, clock=clock, send_in_background=False)
    face = cv2.resize(load_image(samples / "faceapi_happy.jpg"), (200, 200))
    frames = []
    for x in (20, 420):  # far apart: the boxes do not overlap at all
        canvas = np.full((480, 640, 3), 70, np.uint8)
        canvas[140:340, x : x + 200] = face
        frames.append(canvas)
    for second in range(15):
        clock.t = 1_000_000.0 + second
        result = reporter.process(frames[second % 2])
        assert len(result.faces) <= 1
    reporter.flush()
    rows = store.timeline(code)
    assert [r["faces"] for r in rows] == [1, 1, 1]
    assert all(r["observations"] <= 5 for r in rows)  # at most one face per analysis, five analyses a bucket


class SlowStore:
    """A real store whose writes wait until the test lets them through: a database that is slow to commit."""

    def __init__(self, store: Store):
        self.store, self.gate, self.started = store, threading.Event(), threading.Event()

    def add(self, code, contribution):
        self.started.set()
        assert self.gate.wait(30)
        self.store.add(code, contribution)


def test_the_video_thread_never_waits_for_the_database(tmp_path, samples):
    """Buckets are written by the process's sender thread: while a commit hangs, the student's frames
    keep being analysed, and the bucket is stored once the database answers."""
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    code, _ = store.create_room(bucket_s=5, min_faces=1)
    slow, clock = SlowStore(store), Clock(1_000_000.0)
    reporter = ClassReporter(slow, code, Analyzer.default(), bucket_s=5, clock=clock)
    frames = face_clip(samples / "faceapi_happy.jpg", seconds=1.0)
    for second in range(8):  # crosses the bucket boundary at 5 s: a write starts and hangs
        clock.t = 1_000_000.0 + second
        assert reporter.process(frames[second % len(frames)]) is not None
    assert slow.started.wait(10) and reporter.sent == 0 and reporter.pending == 1  # analysed on, write still hanging
    slow.gate.set()
    assert reporter.wait_sent() and reporter.sent == 1
    assert [r["t"] for r in store.timeline(code)] == [1_000_000]


def test_the_join_pages_frame_work_passes_a_frame_without_faces_through(tmp_path, samples):
    """reporter.on_frame is the join page's per-frame work: a frame with nothing to draw comes back as the
    very same array (the page then passes the video frame on without converting it), a face gets a box."""
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    code, _ = store.create_room(bucket_s=5)
    reporter = ClassReporter(store, code, Analyzer.default(), bucket_s=5, clock=Clock(0.0), send_in_background=False)
    blank = np.zeros((240, 320, 3), np.uint8)
    assert reporter.on_frame(blank) is blank
    face = face_clip(samples / "faceapi_happy.jpg", seconds=0.1)[0]
    reporter.clock.t = 2.0  # a second later: analysed again
    boxed = reporter.on_frame(face)
    assert boxed is not face and boxed.shape == face.shape and not np.array_equal(boxed, face)
