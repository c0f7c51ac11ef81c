"""Speed of the pipeline on this machine: ``python -m fer bench [--samples DIR] [--data CSV] [--json]``.

Frames are 640x480 RGB with 1, 2, 4 and 6 real faces, tiled from the sample photos when a samples folder
is given (otherwise generated frames without faces, and the output says so). "End to end" is what the
live page and the class stream do per frame after decoding: grey conversion, face detection (every
``DETECT_EVERY``-th frame), crops, one batched classification of every tracked face, tracking and
smoothing. The same frames go through the `fer` package from PyPI in a subprocess, for comparison.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from .classifier import EmotionClassifier
from .imageio import load_image
from .pipeline import Analyzer, stream_detector
from .preprocess import to_gray
from .stream import LiveSession

FACE_COUNTS = (1, 2, 4, 6)
FRAME_W, FRAME_H = 640, 480
CLIP_FRAMES = 150  # frames per end-to-end measurement (5 s of 30 fps video)
BATCH = 32  # faces per classifier call for the throughput figure: a class in one frame

# Faces in each of the project's sample photos (the folder given with --samples), counted by eye.
KNOWN_FACES = {
    "faceapi_angry.jpg": 1,
    "faceapi_disgusted.jpg": 1,
    "faceapi_fearful.jpg": 1,
    "faceapi_happy.jpg": 1,
    "faceapi_neutral.jpg": 1,
    "faceapi_sad.jpg": 1,
    "faceapi_surprised.jpg": 1,
    "facerec_two_people.jpg": 2,
    "wujie_angry_man.jpg": 1,
    "wujie_crying_woman.jpg": 1,
}

PEER_VERSION = "25.10.3"  # the `fer` package on PyPI (tools/peer_fer.py)


def median_ms(fn, repeat: int) -> float:
    """The median wall time of ``fn()`` in milliseconds, over ``repeat`` calls after one warm-up call."""
    fn()  # warm-up: first calls allocate
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def bench_frames(samples: Path | None) -> tuple[dict[int, np.ndarray], str]:
    """640x480 RGB frames with 1, 2, 4 and 6 faces: one-face sample photos, each cropped around its face
    (found by the photo detector) and tiled. Without samples: textured frames with no face."""
    if samples is None or not all((samples / n).is_file() for n in KNOWN_FACES):
        rng = np.random.default_rng(0)
        base = cv2.GaussianBlur(rng.integers(0, 256, (FRAME_H, FRAME_W, 3), dtype=np.uint8), (0, 0), 8)
        return {n: base.copy() for n in FACE_COUNTS}, "generated 640x480 frames WITHOUT faces (no samples folder given)"
    detector = Analyzer.default().detector
    portraits = []
    for name in sorted(n for n, count in KNOWN_FACES.items() if count == 1):
        photo = load_image(samples / name)
        x, y, w, h = max(detector(to_gray(photo)), key=lambda d: d.box[2] * d.box[3]).box
        cx, cy, half = x + w // 2, y + h // 2, int(w * 0.9)
        padded = cv2.copyMakeBorder(photo, half, half, half, half, cv2.BORDER_REPLICATE)
        portraits.append(padded[cy : cy + 2 * half, cx : cx + 2 * half])
    frames = {}
    for n in FACE_COUNTS:
        cols = {1: 1, 2: 2, 4: 2, 6: 3}[n]
        rows = -(-n // cols)
        cell_w, cell_h = FRAME_W // cols, FRAME_H // rows
        frame = np.full((FRAME_H, FRAME_W, 3), 90, np.uint8)
        for i in range(n):
            side = min(cell_w, cell_h)
            tile = cv2.resize(portraits[i], (side, side), interpolation=cv2.INTER_AREA)
            x0 = (i % cols) * cell_w + (cell_w - side) // 2
            y0 = (i // cols) * cell_h + (cell_h - side) // 2
            frame[y0 : y0 + side, x0 : x0 + side] = tile
        frames[n] = frame
    return frames, "640x480 frames tiled from the one-face sample photos"


def _clip(frame: np.ndarray) -> list[np.ndarray]:
    """The frame drifting a few pixels sideways, as a face does in front of a webcam."""
    return [np.roll(frame, int(6 * np.sin(i / 10)), axis=1) for i in range(CLIP_FRAMES)]


def stream_ms(analyzer: Analyzer, frame: np.ndarray) -> tuple[dict, int]:
    """Per-frame milliseconds of the stream pipeline over a clip (median, mean, 90th percentile), and the
    number of faces it shows at the end."""
    analyze = analyzer.for_stream(stream_detector())
    clip, times = _clip(frame), []
    for i, image in enumerate(clip):
        start = time.perf_counter()
        result = analyze(image, i / 30)
        times.append(time.perf_counter() - start)
    times = np.array(times[10:]) * 1000  # past the first detections, which confirm new tracks
    return {"median": np.median(times), "mean": times.mean(), "p90": np.percentile(times, 90)}, len(result.faces)


def live_ms_per_frame(analyzer: Analyzer, frame: np.ndarray) -> float:
    """Mean milliseconds per frame of the live page's whole work: the stream pipeline plus drawing."""
    live = LiveSession(analyzer, max_fps=float("inf"))
    clip = _clip(frame)
    start = time.perf_counter()
    for image in clip:
        live.process(image)
    return (time.perf_counter() - start) / len(clip) * 1000


@functools.cache
def cpu_flags() -> str:
    """The vector instructions of this CPU that decide the network's speed (from /proc/cpuinfo on Linux; read
    once, as the app asks at every stream admission)."""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    names = {"avx2": "AVX2", "avx512f": "AVX-512", "avx512_vnni": "AVX512-VNNI", "avx_vnni": "AVX-VNNI", "amx_tile": "AMX"}
    return " ".join(label for flag, label in names.items() if flag in flags) or "none of AVX2, AVX-512, VNNI, AMX"


VIDEO_SAMPLE = "facerec_short_hamilton_clip.mp4"


def video_speed(analyzer: Analyzer, samples: Path | None) -> float | None:
    """Seconds of video analysed per second of wall time (``fer video``'s defaults) on the sample clip."""
    from .video import _duration, analyze_video

    clip = samples / VIDEO_SAMPLE if samples else None
    if clip is None or not clip.is_file():
        return None
    import av

    with av.open(str(clip)) as container:
        duration = _duration(container, container.streams.video[0])
    start = time.perf_counter()
    analyze_video(clip, analyzer)
    return round(duration / (time.perf_counter() - start), 1)


def detector_hits(detector, samples: Path | None) -> dict | None:
    """Faces found on the sample photos whose faces we counted: hits, misses and extra boxes."""
    if samples is None or not all((samples / n).is_file() for n in KNOWN_FACES):
        return None
    hits = extra = 0
    for name, known in KNOWN_FACES.items():
        found = len(detector(to_gray(load_image(samples / name))))
        hits, extra = hits + min(found, known), extra + max(found - known, 0)
    total = sum(KNOWN_FACES.values())
    return {"faces": total, "found": hits, "extra": extra, "hit_rate": round(hits / total, 3)}


def startup_s() -> float:
    """Seconds from starting a Python process to its first prediction (imports and model loading)."""
    code = (
        "import time, numpy as np\n"
        "from fer.pipeline import Analyzer\n"
        "Analyzer.default().classifier(np.zeros((1, 48, 48), np.uint8))\n"
        "print(time.time())\n"
    )
    started = time.time()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=_repo_root())
    return float(out.stdout.split()[-1]) - started


def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def publictest_accuracy(data: Path | None) -> dict | None:
    if data is None:
        return None
    from .evaluate import evaluate

    return {"publictest_accuracy": round(evaluate(data, split="PublicTest").accuracy, 4)}


PEER_TOOL = Path(__file__).resolve().parent.parent / "tools" / "peer_fer.py"


def peer(frames: dict[int, np.ndarray], repeat: int) -> dict:
    """The `fer` package (PyPI) timed on the same frames by ``tools/peer_fer.py``, in its own processes
    (it shares our import name): installed on first use, then timed."""
    if not PEER_TOOL.is_file():
        return {"error": "the peer comparison needs the repository's tools/peer_fer.py"}
    install = subprocess.run([sys.executable, str(PEER_TOOL), "install"], capture_output=True, text=True)
    if install.returncode:
        return {"error": install.stderr.strip() or "the fer package could not be installed"}
    with tempfile.TemporaryDirectory() as tmp:  # generated frames only, deleted on return
        path = Path(tmp) / "frames.npz"
        np.savez(path, **{str(n): f for n, f in frames.items()})
        env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3"}
        run = subprocess.run(
            [sys.executable, str(PEER_TOOL), "time", str(path), str(repeat)], capture_output=True, text=True, env=env, cwd=tmp
        )
    if run.returncode:
        return {"error": f"the fer package failed: {(run.stderr.strip().splitlines() or ['no message'])[-1]}"}
    return {int(k): v for k, v in json.loads(run.stdout.strip().splitlines()[-1]).items()}


def run(samples: Path | None = None, data: Path | None = None, repeat: int = 50, with_peer: bool = True) -> dict:
    analyzer = Analyzer.default()
    classifier = analyzer.classifier
    live_detector = stream_detector()
    frames, source = bench_frames(samples)
    batch = np.random.default_rng(0).integers(0, 256, (BATCH, 48, 48), dtype=np.uint8)
    figures: dict = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "cpu_flags": cpu_flags(),  # the same network runs ~12x slower on an AVX2-only CPU than with AVX-512/VNNI/AMX
        "frames": source,
        "detect_every": analyzer.for_stream().detect_every,
    }
    for n, frame in frames.items():
        ms, shown = stream_ms(analyzer, frame)
        key = f"e2e_ms_{n}face{'s' if n > 1 else ''}"
        figures[key] = round(float(ms["median"]), 2)
        figures[f"{key}_mean_p90"] = [round(float(ms["mean"]), 2), round(float(ms["p90"]), 2)]
        figures[f"faces_shown_{n}"] = shown
    figures["live_ms_per_frame_1face_with_drawing"] = round(live_ms_per_frame(analyzer, frames[1]), 2)
    figures["classifier_ms_1face"] = round(median_ms(lambda: classifier(batch[:1]), repeat * 4), 3)
    figures["faces_per_s_batched"] = round(BATCH / (median_ms(lambda: classifier(batch), repeat) / 1000))
    figures["classifier_batch"] = BATCH
    figures["classifier_mirror_averaging"] = classifier.flip  # two passes per face, as the app runs it
    one_pass = EmotionClassifier(flip=False)
    figures["faces_per_s_batched_one_pass"] = round(BATCH / (median_ms(lambda: one_pass(batch), repeat) / 1000))
    accurate = Analyzer.default("accurate").classifier  # photos and recordings, on request: two networks x ten views a face
    figures["accurate_classifier_ms_1face"] = round(median_ms(lambda: accurate(batch[:1]), repeat), 3)
    figures["accurate_faces_per_s_batched"] = round(BATCH / (median_ms(lambda: accurate(batch), max(repeat // 5, 3)) / 1000))
    for w, h in ((640, 480), (1280, 720)):
        gray = cv2.resize(to_gray(frames[6]), (w, h))
        figures[f"detector_ms_{w}x{h}"] = round(median_ms(lambda: live_detector(gray), repeat), 2)
    gray = to_gray(frames[6])
    figures["photo_detector_ms_640x480"] = round(median_ms(lambda: analyzer.detector(gray), max(repeat // 5, 3)), 2)
    figures["peak_memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    figures["detector_hits_live"] = detector_hits(live_detector, samples)
    figures["detector_hits_photo"] = detector_hits(analyzer.detector, samples)
    one_pass, all_views = classifier.multiply_accumulates()
    figures["classifier_mmacs_per_face_one_pass"] = round(one_pass / 1e6, 1)
    figures["classifier_mmacs_per_face_fast_mode"] = round(all_views / 1e6, 1)
    figures["classifier_mmacs_per_face_accurate_mode"] = round(accurate.multiply_accumulates()[1] / 1e6, 1)
    figures["video_x_realtime"] = video_speed(analyzer, samples)
    figures |= publictest_accuracy(data) or {"publictest_accuracy": None}
    figures["startup_s_to_first_prediction"] = round(startup_s(), 2)
    theirs = peer(frames, max(repeat // 2, 5)) if with_peer else {"error": "skipped (--no-peer)"}
    if "error" in theirs:
        figures |= {"peer_e2e_ms_1face": None, "peer_e2e_ms_6faces": None, "peer_note": theirs["error"]}
    else:
        figures |= {
            "peer_e2e_ms_1face": round(theirs[1]["ms"], 2),
            "peer_e2e_ms_6faces": round(theirs[6]["ms"], 2),
            "peer_faces_found": {n: v["faces"] for n, v in theirs.items()},
            "peer_note": f"fer=={PEER_VERSION} from PyPI (Haar + its TFLite model), same frames, every frame detected",
            "speedup_vs_peer_1face": round(theirs[1]["ms"] / figures["e2e_ms_1face"], 1),
            "speedup_vs_peer_6faces": round(theirs[6]["ms"] / figures["e2e_ms_6faces"], 1),
        }
    return figures
