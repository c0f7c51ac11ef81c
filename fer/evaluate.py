"""Accuracy of the shipped model on a labelled dataset, through the same path the app uses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .assets import MODES
from .calibration import apply_temperature, expected_calibration_error, fit_temperature, nll, reliability
from .classifier import EmotionClassifier, calibration_file
from .data import load_dataset
from .emotions import EMOTIONS
from .pipeline import Analyzer
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


def calibrate(data, split: str = "PublicTest", model=None) -> dict:
    """Fit the temperatures of the classifier's settings (plain, and each mode's views) on ``split`` and write them
    beside the model (``fer_cnn.json``). Returns the figures before and after, and a 2-fold
    cross-fitted ECE (each half scaled with the temperature fitted on the other) as an honest estimate
    for faces the fit has not seen."""

    dataset = load_dataset(data).split(split)
    faces, labels = np.asarray(dataset.images), dataset.labels
    halves = np.array_split(np.random.default_rng(0).permutation(len(labels)), 2)
    neutral = labels == EMOTIONS.index("neutral")
    summary: dict = {"fitted_on": f"{Path(data).name} {split} ({len(labels)} faces)", "temperature": {}}
    for views in ({"flip": False}, *MODES.values()):
        classifier = EmotionClassifier(model, **views)
        setting = classifier.setting
        classifier.temperature = 1.0  # raw outputs
        probs = classifier.predict_many(faces)
        t = fit_temperature(probs, labels)
        crossed = np.empty_like(probs)
        for fit, held in (halves, halves[::-1]):
            crossed[held] = apply_temperature(probs[held], fit_temperature(probs[fit], labels[fit]))
        scaled = apply_temperature(probs, t)
        summary["temperature"][setting] = t
        summary[setting] = {
            "accuracy": round(float((probs.argmax(1) == labels).mean()), 4),
            "ece_before": round(expected_calibration_error(probs, labels), 4),
            "ece_after": round(expected_calibration_error(scaled, labels), 4),
            "ece_after_cross_fitted": round(expected_calibration_error(crossed, labels), 4),
            "nll_before": round(nll(probs, labels), 4),
            "nll_after": round(nll(scaled, labels), 4),
            "reliability_after": reliability(scaled, labels),
            # what a neutral face reads as on average, once calibrated (the resting-face correction's target)
            "neutral_mean": [round(float(p), 3) for p in scaled[neutral].mean(axis=0)] if neutral.any() else None,
        }
        path = calibration_file(classifier.path)
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return summary
