"""How many students one server process carries: N simulated students, each a thread that hands the join
page's per-frame work a 320x240 frame of a real face 5 times a second (what a student's browser sends),
analysed about once a second per student, as on the page. Prints per-frame latency (median, 95th
percentile, max), the share of late frames (work that took longer than the 200 ms between two frames,
so the next frame would be dropped), and the CPU cores the process kept busy. The students start at
moments spread over one second, as students who join one by one do, so their analyses are too.

    .venv/bin/python tools/class_scale.py ../shared/samples 5 20 50 [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fer.bench import cpu_flags  # noqa: E402
from fer.imageio import load_image  # noqa: E402
from fer.pipeline import Analyzer  # noqa: E402
from fer.reporter import ClassReporter  # noqa: E402
from fer.store import Store  # noqa: E402

FPS, W, H = 5, 320, 240
PHOTOS = ["faceapi_happy.jpg", "faceapi_sad.jpg", "faceapi_surprised.jpg", "faceapi_angry.jpg", "wujie_angry_man.jpg"]


def student_frames(samples: Path, i: int) -> list[av.VideoFrame]:
    """A second of one student's video: their face drifting a little, as VideoFrames like WebRTC delivers."""
    face = load_image(samples / PHOTOS[i % len(PHOTOS)])
    scale = 200 / max(face.shape[:2])
    face = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frames = []
    for k in range(FPS):
        canvas = np.full((H, W, 3), 70, np.uint8)
        x, y = (W - face.shape[1]) // 2 + 4 * k - 8, (H - face.shape[0]) // 2
        canvas[y : y + face.shape[0], x : x + face.shape[1]] = face
        frames.append(av.VideoFrame.from_ndarray(canvas, format="rgb24"))
    return frames


def run(samples: Path, students: int, seconds: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp, Store(f"sqlite:///{tmp}/scale.db") as store:
        code, _ = store.create_room(bucket_s=5)
        analyzer = Analyzer.default()
        latencies: list[float] = []
        lock = threading.Lock()
        start = time.monotonic() + 0.5

        def student(i: int) -> None:
            reporter = ClassReporter(store, code, analyzer, 5)
            frames, mine = student_frames(samples, i), []
            # Students join at different moments: their once-a-second analyses fall anywhere in the second.
            t0 = start + i / students
            n = 0
            while True:
                due = t0 + n / FPS
                if due - start > seconds:
                    break
                time.sleep(max(0.0, due - time.monotonic()))
                began = time.monotonic()
                frame = frames[n % FPS]  # what the page's callback does with each frame:
                av.VideoFrame.from_ndarray(reporter.on_frame(frame.to_ndarray(format="rgb24")), format="rgb24")
                mine.append(time.monotonic() - began)
                n += 1
            reporter.flush()
            with lock:
                latencies.extend(mine)

        cpu0, wall0 = os.times(), time.monotonic()
        threads = [threading.Thread(target=student, args=(i,)) for i in range(students)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        cpu1, wall1 = os.times(), time.monotonic()
        ms = np.array(latencies) * 1000
        return {
            "students": students,
            "frames": len(ms),
            "p50_ms": round(float(np.median(ms)), 1),
            "p95_ms": round(float(np.percentile(ms, 95)), 1),
            "max_ms": round(float(ms.max()), 1),
            "late_share": round(float((ms > 1000 / FPS).mean()), 4),
            "cores_busy": round((cpu1.user + cpu1.system - cpu0.user - cpu0.system) / (wall1 - wall0), 2),
            "buckets_faces": [r["faces"] for r in store.timeline(code)][-3:],
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("samples", type=Path)
    parser.add_argument("counts", type=int, nargs="+")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    print(f"CPU: {os.cpu_count()} cores, {cpu_flags()}")
    for n in args.counts:
        print(run(args.samples, n, args.seconds), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
