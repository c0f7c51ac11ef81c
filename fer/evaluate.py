"""Accuracy of the shipped model on a labelled dataset, through the same path the app uses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .calibration import expected_calibration_error
from .data import load_dataset
from .emotions import EMOTIONS
from .preprocess import SIZE


@dataclass
class Report:
    labels: np.ndarray  # true class per face
    predicted: np.ndarray  # predicted class per face
    no_face: int = 0  # photos where detection found no face (counted as wrong)
    probabilities: np.ndarray | None = None  # (faces, 7), for calibration figures

    @property
    def ece(self) -> float | None:
        """Expected calibration error of the faces classified (15 equal-width confidence bins)."""
        if self.probabilities is None or not len(self.labels):
            return None
        return expected_calibration_error(self.probabilities, self.labels)

    @property
    def n(self) -> int:
        return len(self.labels) + self.no_face

    @property
    def accuracy(self) -> float:
        return float((self.labels == self.predicted).sum() / self.n) if self.n else 0.0

    @property
    def confusion(self) -> np.ndarray:
        """Rows: true class; columns: predicted class (EMOTIONS order)."""
        matrix = np.zeros((len(EMOTIONS), len(EMOTIONS)), np.int64)
        np.add.at(matrix, (self.labels, self.predicted), 1)
        return matrix

    def per_class_recall(self) -> dict[str, float | None]:
        rows = self.confusion
        return {e: (float(rows[i, i] / rows[i].sum()) if rows[i].sum() else None) for i, e in enumerate(EMOTIONS)}

    def to_dict(self) -> dict:
        out = {
            "accuracy": round(self.accuracy, 6),
            "n": self.n,
            "per_class_recall": {e: (round(r, 6) if r is not None else None) for e, r in self.per_class_recall().items()},
            "confusion": self.confusion.tolist(),
            "expected_calibration_error": None if self.ece is None else round(self.ece, 6),
        }
        if self.no_face:
            out["no_face"] = self.no_face
        return out

    def table(self) -> str:
        lines = [f"accuracy {self.accuracy:.2%} on {self.n} faces"]
        if self.ece is not None:
            lines.append(f"expected calibration error {self.ece:.2%}")
        if self.no_face:
            lines.append(f"({self.no_face} photos had no detectable face and count as errors)")
        lines.append("")
        lines.append(f"{'true/predicted':<17}" + "".join(f"{e[:8]:>9}" for e in EMOTIONS) + f"{'recall':>9}")
        recall = self.per_class_recall()
        for i, e in enumerate(EMOTIONS):
            r = recall[e]
            lines.append(
                f"{e:<17}" + "".join(f"{v:>9}" for v in self.confusion[i]) + (f"{r:>9.1%}" if r is not None else f"{'-':>9}")
            )
        return "\n".join(lines)


def evaluate(data: str | Path, split: str | None = None, mode: str = "fast") -> Report:
    """Evaluate on a FER2013 CSV (optionally one Usage split) or an ``<emotion>/`` image folder.

    48x48 images go straight to the classifier; larger photos go through face detection first and the
    largest face is classified. Photos with no detectable face count as errors.
    """
    from .pipeline import Analyzer

    dataset = load_dataset(data)
    if split:
        dataset = dataset.split(split)
    analyzer = Analyzer.default(mode)
    crops, labels, no_face = [], [], 0
    rows = zip(dataset.images, dataset.labels)
    # Photos need face detection (slow): show progress on a terminal; stays silent when piped.
    for image, label in tqdm(rows, total=len(dataset), desc="faces", unit="img", disable=None, leave=False):
        face = image if image.shape == (SIZE, SIZE) else analyzer.largest_face(image)
        if face is None:
            no_face += 1
            continue
        crops.append(face)
        labels.append(label)
    if not crops:
        return Report(np.zeros(0, np.int64), np.zeros(0, np.int64), no_face)
    probs = analyzer.classifier.predict_many(np.stack(crops))
    return Report(np.asarray(labels, np.int64), probs.argmax(axis=1), no_face, probs)
