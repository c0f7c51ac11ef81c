"""Shared test fixtures. Real data from ../shared is used where present; tests that need it skip cleanly."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("FER_SHARED", ROOT.parent / "shared"))
SAMPLES = SHARED / "samples"
FER2013_CSV = SHARED / "data" / "fer2013" / "fer2013.csv.gz"

# Faces per sample photo, counted by eye.
SAMPLE_FACES = {
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


@pytest.fixture
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
