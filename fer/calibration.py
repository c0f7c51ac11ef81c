"""Calibrated probabilities: temperature scaling, expected calibration error and reliability bins.

The class-mood dashboard averages probabilities over faces and time, so a face "70% happy" should be
happy about 70% of the time. Temperature scaling divides the model's logits by one number T fitted on
held-out faces (PublicTest): T > 1 softens over-confident outputs, T < 1 sharpens timid ones. The
model outputs probabilities, so ``log(p)`` stands in for the logits (softmax ignores the shift).
"""

from __future__ import annotations

import numpy as np

EPS = 1e-7


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities (N, C) rescaled as softmax(log(p) / T); T = 1 leaves them unchanged."""
    if temperature == 1.0:
        return probs
    logits = np.log(np.clip(probs, EPS, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return (scaled / scaled.sum(axis=1, keepdims=True)).astype(np.float32)


def nll(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], EPS, 1.0))))


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The T in [0.25, 4] that minimises the negative log-likelihood of ``labels`` (golden-section
    search on log T; the likelihood is unimodal in T)."""
    lo, hi = np.log(0.25), np.log(4.0)
    ratio = (np.sqrt(5) - 1) / 2
    loss = lambda log_t: nll(apply_temperature(probs, float(np.exp(log_t))), labels)  # noqa: E731
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = loss(a), loss(b)
    for _ in range(40):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = loss(b)
    return round(float(np.exp((lo + hi) / 2)), 4)


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> list[dict]:
    """Per confidence bin (equal widths over [0, 1]): faces, mean confidence and accuracy of the top class."""
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == labels
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        inside = which == b
        n = int(inside.sum())
        rows.append({
            "low": float(edges[b]),
            "high": float(edges[b + 1]),
            "n": n,
            "confidence": float(confidence[inside].mean()) if n else None,
            "accuracy": float(correct[inside].mean()) if n else None,
        })
    return rows


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """The faces-weighted mean gap between confidence and accuracy over the bins (0 = calibrated)."""
    total = len(labels)
    return float(sum(r["n"] / total * abs(r["confidence"] - r["accuracy"]) for r in reliability(probs, labels, bins) if r["n"]))


def calibrate(data, split: str = "PublicTest", model=None) -> dict:
    """Fit the temperatures of the classifier's settings (plain, and each mode's views) on ``split`` and write them
    beside the model (``fer_cnn.json``). Returns the figures before and after, and a 2-fold
    cross-fitted ECE (each half scaled with the temperature fitted on the other) as an honest estimate
    for faces the fit has not seen."""
    import json
    from pathlib import Path

    from .classifier import EmotionClassifier, calibration_file
    from .data import load_dataset
    from .pipeline import MODES

    dataset = load_dataset(data).split(split)
    faces, labels = np.asarray(dataset.images), dataset.labels
    halves = np.array_split(np.random.default_rng(0).permutation(len(labels)), 2)
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
        }
        path = calibration_file(classifier.path)
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return summary
