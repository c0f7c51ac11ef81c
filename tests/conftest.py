"""Shared test fixtures. Real data from ../shared is used where present; tests that need it skip cleanly."""

from __future__ import annotations

import atexit
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer.bench import KNOWN_FACES
from fer.imageio import load_image
from fer.store import Store

ROOT = Path(__file__).resolve().parent.parent
# Class sessions written by tests go to a throw-away SQLite file, never to ~/.fer; removed when the run ends.
if "FER_DATABASE_URL" not in os.environ:
    _SCRATCH = tempfile.mkdtemp(prefix="fer-tests-")
    atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)
    os.environ["FER_DATABASE_URL"] = f"sqlite:///{_SCRATCH}/classes.db"
SHARED = Path(os.environ.get("FER_SHARED", ROOT.parent / "shared"))
SAMPLES = SHARED / "samples"
FER2013_CSV = SHARED / "data" / "fer2013" / "fer2013.csv.gz"

SAMPLE_FACES = KNOWN_FACES  # faces per sample photo, counted by eye


def new_room(title: str) -> tuple[str, str]:
    """A class session in the tests' store (FER_DATABASE_URL), as a teacher starts one: (code, teacher key)."""
    with Store(os.environ["FER_DATABASE_URL"]) as store:
        return store.create_room(title)


@pytest.fixture(scope="session")
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip("../shared/samples is not present")
    return SAMPLES


@pytest.fixture
def fer2013_csv() -> Path:
    if not FER2013_CSV.is_file():
        pytest.skip("../shared/data/fer2013 is not present")
    return FER2013_CSV


def png_bytes(array: np.ndarray, **save_args) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", **save_args)
    return buf.getvalue()


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """``python -m fer ARGS`` in a fresh interpreter, as a user would run it."""
    return subprocess.run(
        [sys.executable, "-m", "fer", *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


# Video frames for the live tests: 640x480 at 30 fps, like a webcam.
W, H, FPS = 640, 480, 30


def face_clip(photo: Path, seconds: float = 4.0) -> list[np.ndarray]:
    """A photo on a 640x480 canvas, drifting slowly sideways as a person in front of a webcam would."""
    image = load_image(photo.read_bytes())
    scale = min(420 / image.shape[1], 420 / image.shape[0])
    face = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(int(seconds * FPS)):
        canvas = np.full((H, W, 3), 70, np.uint8)
        x = int((W - face.shape[1]) / 2 + 40 * np.sin(2 * np.pi * i / (seconds * FPS)))
        y = (H - face.shape[0]) // 2
        canvas[y : y + face.shape[0], x : x + face.shape[1]] = face
        frames.append(canvas)
    return frames


def faceless_clip(seconds: float = 2.0) -> list[np.ndarray]:
    """Moving colour gradients: a camera that sees no one (used when ../shared is absent)."""
    yy, xx = np.mgrid[0:H, 0:W]
    return [
        np.stack([(xx + 4 * i) % 256, (yy + 2 * i) % 256, np.full_like(xx, 128)], -1).astype(np.uint8)
        for i in range(int(seconds * FPS))
    ]
