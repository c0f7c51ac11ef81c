"""A student's reporter against a real SQLite store, with real face frames."""

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
    reporter = ClassReporter(store, code, Analyzer.default(), bucket_s=5, clock=clock)
    frames = face_clip(samples / "faceapi_happy.jpg", seconds=1.0)
    analysed = 0
    for i in range(12 * 10):  # 12 s of video at 10 fps
        clock.t = 1_000_000.0 + i / 10
        before = reporter.result
        reporter.process(frames[i % len(frames)])
        analysed += reporter.result is not before
    assert 11 <= analysed <= 13  # about one analysis per second, not ten
    assert reporter.sent == 2  # buckets [0, 5) and [5, 10) are complete; [10, 15) is still open
    reporter.flush()
    rows = store.timeline(code)
    assert [r["t"] for r in rows] == [1_000_000, 1_000_005, 1_000_010]
    assert all(r["streams"] == 1 for r in rows)
    assert rows[1]["faces"] == 1 and rows[1]["counts"]["happy"] == rows[1]["observations"] == 5


def test_a_closed_class_stops_the_reporter(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    code, _ = store.create_room(bucket_s=5)
    clock = Clock(0.0)
    reporter = ClassReporter(store, code, Analyzer.default(), bucket_s=5, clock=clock)
    blank = np.zeros((240, 320, 3), np.uint8)
    reporter.process(blank)
    store.end_room(code)
    clock.t = 6.0
    reporter.process(blank)  # sends bucket 0: refused, the class has ended
    assert reporter.ended and reporter.sent == 0
