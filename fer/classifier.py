"""The emotion classifier: the shipped model run through the LiteRT (TFLite) interpreter, all faces in one call.

LiteRT (``ai-edge-litert``) is the TFLite runtime without the rest of TensorFlow: it imports in about
0.2 s instead of TensorFlow's seconds, and is TensorFlow's designated successor of ``tf.lite.Interpreter``.
TensorFlow itself is only needed to train and export models.
"""

from __future__ import annotations

import functools
import os
import queue
from pathlib import Path

import cv2
import numpy as np

from .assets import DEFAULT_MODEL, MODELS_DIR, quiet_native_stderr
from .calibration import apply_temperature
from .emotions import EMOTIONS
from .preprocess import preprocess



# The most views one interpreter call takes. An interpreter's memory grows with its batch (a photo of 32 faces in
# the accurate mode is 320 views: 420 MB for one network); larger batches run in chunks of this size.
MAX_ROWS = 64


class _Network:
    """One LiteRT interpreter of a model file; the input tensor is resized only when the batch size changes."""

    def __init__(self, path: Path, threads: int):
        from ai_edge_litert.interpreter import Interpreter

        if not path.is_file():
            raise FileNotFoundError(f"model file {path} not found (train one with `python -m fer train`)")
        with quiet_native_stderr():
            self._interpreter = Interpreter(model_path=str(path), num_threads=threads)
            self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._batch = 0

    def multiply_accumulates(self) -> int:
        """Multiply-accumulates of one pass over one face: the convolutions and dense layers of the file."""
        tensors = {t["index"]: t for t in self._interpreter.get_tensor_details()}
        total = 0
        for op in self._interpreter._get_ops_details():
            weights = tensors[op["inputs"][1]]["shape"] if len(op["inputs"]) > 1 else None
            if op["op_name"] == "CONV_2D":
                total += int(np.prod(tensors[op["outputs"][0]]["shape"][1:]) * np.prod(weights[1:]))
            elif op["op_name"] == "FULLY_CONNECTED":
                total += int(np.prod(weights))
        return total

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if len(x) > MAX_ROWS:  # in chunks of MAX_ROWS, the last padded: one tensor size, bounded memory
            padded = np.concatenate([x, np.zeros((-len(x) % MAX_ROWS, *x.shape[1:]), x.dtype)])
            return np.concatenate([self._run(padded[i : i + MAX_ROWS]) for i in range(0, len(x), MAX_ROWS)])[: len(x)]
        return self._run(x)

    def _run(self, x: np.ndarray) -> np.ndarray:
        if len(x) != self._batch:
            self._interpreter.resize_tensor_input(self._input, x.shape)
            self._interpreter.allocate_tensors()
            self._batch = len(x)
        self._interpreter.set_tensor(self._input, x)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output).copy()


class EmotionClassifier:
    """``classifier(faces)``: uint8 grey faces (N, 48, 48) -> probabilities (N, 7) in EMOTIONS order.

    One instance is shared by every caller (app sessions, WebRTC threads). It holds ``copies`` sets of
    interpreters (one per core by default), each used by one call at a time: calls from different video
    threads run side by side on the cores (the interpreter releases Python's lock while it computes),
    instead of queueing behind one lock. A fast-mode call for one face (the face and its mirror image) took
    1.0 ms on 2 cores with AVX-512 and VNNI, and 5.0 ms with AVX2 alone (``fer bench``; docs/speed.md).
    All views of all faces go through the network in one batch, and their distributions are averaged:
    with ``flip=True`` each face is also classified mirrored (faces are left-right symmetric, the
    model's errors are not); ``zooms`` adds closer views (centre crops enlarged by these factors);
    ``shifts`` adds, per shift s, the four corner crops s pixels smaller, enlarged back (the face moved
    by up to s pixels each way: the small shifts training's augmentation taught the network);
    ``members`` adds other model files (an ensemble), each seeing the same views. The output is
    temperature-scaled with the temperature fitted for that setting (``python -m fer calibrate``), read
    from the JSON file beside the (first) model.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        threads: int | None = None,
        flip: bool = False,
        zooms: tuple[float, ...] = (),
        shifts: tuple[int, ...] = (),
        members: tuple[str | Path, ...] = (),
        copies: int | None = None,
    ):
        self.path = Path(path or DEFAULT_MODEL)
        threads = threads or min(os.cpu_count() or 1, 4)
        files = (self.path, *(MODELS_DIR / m for m in members))
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(copies or min(os.cpu_count() or 1, 4)):
            self._idle.put([_Network(p, threads) for p in files])
        self._networks = self._idle.get()  # the first set, for inspection (multiply_accumulates)
        self._idle.put(self._networks)
        self.flip, self.zooms, self.shifts, self.members = flip, tuple(zooms), tuple(shifts), tuple(members)
        self.temperature = load_temperatures(self.path)[self.setting]

    @functools.cached_property
    def version(self) -> str:
        """The model's name and the start of its file's SHA-256 (and its members'), for traceable exports;
        hashed once per classifier, not on every page run that shows it."""
        import hashlib

        digest = hashlib.sha256(b"".join(p.read_bytes() for p in (self.path, *(MODELS_DIR / m for m in self.members))))
        return f"{self.path.stem}-{digest.hexdigest()[:10]}"

    def multiply_accumulates(self) -> tuple[int, int]:
        """(one pass of the first network over one face, all passes of this mode over one face)."""
        views = (1 + len(self.zooms) + 4 * len(self.shifts)) * (2 if self.flip else 1)
        return self._networks[0].multiply_accumulates(), views * sum(n.multiply_accumulates() for n in self._networks)

    @property
    def setting(self) -> str:
        """The name of this combination of views and models, under which its temperature is stored."""
        return "accurate" if self.zooms or self.shifts or self.members else "mirrored" if self.flip else "plain"

    def __call__(self, faces: np.ndarray) -> np.ndarray:
        faces = np.asarray(faces)
        x = preprocess(faces)
        n = len(x)
        if n == 0:
            return np.zeros((0, len(EMOTIONS)), np.float32)
        views = [x] + [preprocess(zoom(faces, factor)) for factor in self.zooms]
        views += [preprocess(corner) for s in self.shifts for corner in corners(faces, s)]
        if self.flip:
            views += [v[:, :, ::-1] for v in views]
        batch = np.concatenate(views) if len(views) > 1 else x
        networks = self._idle.get()  # waits only when every set is busy
        try:
            probs = np.mean([network(batch) for network in networks], axis=0)
        finally:
            self._idle.put(networks)
        return apply_temperature(probs.reshape(len(views), n, -1).mean(axis=0), self.temperature)

    def predict_many(self, faces: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Probabilities for a large array of faces, in fixed-size batches (evaluation)."""
        parts = [self(faces[i : i + batch_size]) for i in range(0, len(faces), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, len(EMOTIONS)), np.float32)


def calibration_file(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def load_temperatures(model_path: Path) -> dict[str, float]:
    """{"plain": T, "mirrored": T, "accurate": T} from the model's calibration file; 1.0 (no scaling) without one."""
    import json

    path = calibration_file(model_path)
    found = json.loads(path.read_text()).get("temperature", {}) if path.is_file() else {}
    return {setting: float(found.get(setting, 1.0)) for setting in ("plain", "mirrored", "accurate")}


def corners(faces: np.ndarray, shift: int) -> list[np.ndarray]:
    """The four corner crops of uint8 faces (N, 48, 48), ``shift`` pixels smaller each way, enlarged back
    to 48x48: the face moved by up to ``shift`` pixels up, down, left and right (test-time views)."""
    side = faces.shape[1]
    crop = side - shift
    return [
        np.stack([cv2.resize(f[y : y + crop, x : x + crop], (side, side), interpolation=cv2.INTER_LINEAR) for f in faces])
        for y in (0, shift) for x in (0, shift)
    ]


def zoom(faces: np.ndarray, factor: float) -> np.ndarray:
    """Centre crops of uint8 faces (N, 48, 48), enlarged ``factor`` times back to 48x48: the face seen
    a little closer (a test-time view of the accurate mode)."""
    side = faces.shape[1]
    crop = int(round(side / factor))
    start = (side - crop) // 2
    return np.stack([cv2.resize(f[start : start + crop, start : start + crop], (side, side), interpolation=cv2.INTER_LINEAR) for f in faces])
