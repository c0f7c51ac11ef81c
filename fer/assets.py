"""Where the shipped weights live, and the classifier modes built from them. Imports nothing of ours:
every layer above may use it."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = MODELS_DIR / "fer_cnn.tflite"
DETECTOR_MODEL = MODELS_DIR / "face_detection_full_range.tflite"

# Classifier views and models per mode, with PublicTest accuracy (model card): "fast" averages each face
# with its mirror image (70.49% with the GPU-trained, taught network); "accurate" averages two networks, each
# over ten views of each face (as is and its four corner crops 2 pixels smaller, each mirrored): the fast
# network and the earlier AdamW-trained one, 72.53%, where either alone over the same views made 71.47% / 70.21%.
MODES: dict[str, dict] = {
    "fast": {"flip": True},
    "accurate": {"flip": True, "shifts": (2,), "members": ("fer_cnn_adamw.tflite",)},
}

_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence what native code writes on file descriptor 2 while a LiteRT interpreter is created (it
    prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." on every start). Python's own
    errors are raised, not printed, so none is lost; the descriptor is restored afterwards."""
    with _STDERR_LOCK:
        saved = os.dup(2)
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 2)
                yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
