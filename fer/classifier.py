"""The emotion classifier: the shipped model run through the LiteRT (TFLite) interpreter, all faces in one call.

LiteRT (``ai-edge-litert``) is the TFLite runtime without the rest of TensorFlow: it imports in about
0.2 s instead of TensorFlow's seconds, and is TensorFlow's designated successor of ``tf.lite.Interpreter``.
TensorFlow itself is only needed to train and export models.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from .emotions import EMOTIONS
from .preprocess import preprocess

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = MODELS_DIR / "fer_cnn.tflite"


class EmotionClassifier:
    """``classifier(faces)``: uint8 grey faces (N, 48, 48) -> probabilities (N, 7) in EMOTIONS order.

    One interpreter is shared by every caller (app sessions, WebRTC threads); a lock serialises calls,
    which take about 0.2 ms for one face (the shipped model's weights are int8, see ``train.export``). The input tensor is resized only when the batch
    size changes. With ``flip=True`` each face is also classified mirrored, in the same batch, and the
    two distributions are averaged (test-time augmentation: faces are left-right symmetric, the
    model's errors are not).
    """

    def __init__(self, path: str | Path | None = None, threads: int | None = None, flip: bool = False):
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(path or os.environ.get("FER_MODEL") or DEFAULT_MODEL)
        if not self.path.is_file():
            raise FileNotFoundError(f"model file {self.path} not found (train one with `python -m fer train`)")
        self._interpreter = Interpreter(
            model_path=str(self.path), num_threads=threads or min(os.cpu_count() or 1, 4)
        )
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._batch = 0
        self._lock = threading.Lock()
        self.flip = flip

    def __call__(self, faces: np.ndarray) -> np.ndarray:
        x = preprocess(faces)
        if len(x) == 0:
            return np.zeros((0, len(EMOTIONS)), np.float32)
        if not self.flip:
            return self._run(x)
        probs = self._run(np.concatenate([x, x[:, :, ::-1]]))
        return (probs[: len(x)] + probs[len(x) :]) / 2

    def _run(self, x: np.ndarray) -> np.ndarray:
        with self._lock:
            if len(x) != self._batch:
                self._interpreter.resize_tensor_input(self._input, x.shape)
                self._interpreter.allocate_tensors()
                self._batch = len(x)
            self._interpreter.set_tensor(self._input, x)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output).copy()

    def predict_many(self, faces: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Probabilities for a large array of faces, in fixed-size batches (evaluation)."""
        parts = [self(faces[i : i + batch_size]) for i in range(0, len(faces), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, len(EMOTIONS)), np.float32)
