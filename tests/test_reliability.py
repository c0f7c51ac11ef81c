"""Long use: memory stays flat over 10,000 live frames."""

import os

import cv2

from fer.pipeline import Analyzer
from fer.stream import LiveSession

from .conftest import SAMPLES, face_clip, faceless_clip


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_memory_stays_flat_over_10000_frames():
    photo = SAMPLES / "faceapi_happy.jpg"
    clip = face_clip(photo, 1.0) if photo.is_file() else faceless_clip(1.0)
    clip = [cv2.resize(f, (320, 240), interpolation=cv2.INTER_AREA) for f in clip]
    live = LiveSession(Analyzer.default(), max_fps=float("inf"))
    readings = {}
    for i in range(10_000):
        live.process(clip[i % len(clip)])
        if i % 1000 == 999:
            live.snapshot()  # what the page reads, a few times a second
            readings[i + 1] = rss_mb()
    growth = readings[10_000] - readings[1_000]
    print(f"RSS after 1,000 frames {readings[1_000]:.1f} MB, after 10,000 {readings[10_000]:.1f} MB")
    assert growth < 8, readings
    assert live.snapshot().frames == 10_000
