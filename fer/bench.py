"""Speed of the pipeline on this machine: ``python -m fer bench [--samples DIR] [--json]``."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import cv2
import numpy as np

from .imageio import load_image
from .pipeline import Analyzer
from .preprocess import to_gray
from .stream import LiveSession


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm-up: first calls allocate
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def one_face_frame(samples: Path | None) -> tuple[np.ndarray, str]:
    """A 640x480 RGB frame with one real face from ``samples`` if given, else a plain frame."""
    frame = np.full((480, 640, 3), 120, np.uint8)
    if samples and (samples / "faceapi_happy.jpg").is_file():
        photo = load_image(samples / "faceapi_happy.jpg")
        scale = min(640 / photo.shape[1], 480 / photo.shape[0])
        photo = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        y, x = (480 - photo.shape[0]) // 2, (640 - photo.shape[1]) // 2
        frame[y : y + photo.shape[0], x : x + photo.shape[1]] = photo
        return frame, "sample photo faceapi_happy.jpg on a 640x480 frame"
    return frame, "generated face-free 640x480 frame (no samples given)"


def live_ms_per_frame(analyzer: Analyzer, frame: np.ndarray, frames: int = 150) -> tuple[float, float]:
    """Mean and 90th-percentile milliseconds per frame of the live page's work (detection every third
    frame, tracking, smoothing, drawing) over a clip of the frame drifting sideways."""
    live = LiveSession(analyzer.classifier, max_fps=float("inf"))
    clip = [np.roll(frame, int(40 * np.sin(i / 15)), axis=1) for i in range(frames)]
    times = []
    for image in clip:
        start = time.perf_counter()
        live.process(image)
        times.append(time.perf_counter() - start)
    return float(np.mean(times) * 1000), float(np.percentile(times, 90) * 1000)


def run(samples: Path | None = None, repeat: int = 50) -> dict:
    analyzer = Analyzer.default()
    faces = np.random.default_rng(0).integers(0, 256, (64, 48, 48), dtype=np.uint8)
    frame, source = one_face_frame(samples)
    gray = to_gray(frame)
    batch_ms = _median_ms(lambda: analyzer.classifier(faces), repeat)
    live_mean, live_p90 = live_ms_per_frame(analyzer, frame)
    return {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "frame": source,
        "faces_in_frame": len(analyzer.analyze(frame).faces),
        "classifier_ms_1face": round(_median_ms(lambda: analyzer.classifier(faces[:1]), repeat * 4), 3),
        "faces_per_s_batched": round(64 / (batch_ms / 1000)),
        "detector_ms_640x480": round(_median_ms(lambda: analyzer.detector(gray), repeat), 2),
        "e2e_ms_1face": round(_median_ms(lambda: analyzer.analyze(frame), repeat), 2),
        "live_ms_per_frame_1face": round(live_mean, 2),
        "live_ms_per_frame_1face_p90": round(live_p90, 2),
    }
