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


# What a neutral face reads as, on average: the fast mode's mean calibrated probabilities over the 607
# PublicTest faces labelled neutral (angry, disgust, fear, happy, sad, surprise, neutral), as `fer calibrate`
# writes them into models/fer_cnn.json ("mirrored" / "neutral_mean"; tests/test_calibration.py checks that
# the two agree, so a new model cannot ship with its predecessor's target).
RESTING_TARGET = np.array([0.091, 0.021, 0.085, 0.107, 0.148, 0.037, 0.511])
# A correction never scales an emotion by more than 10 either way. At 5, a resting face whose neutral reads
# about 4% (the face-api sad photo) was corrected on only about half of its frames.
RESTING_LIMITS = (0.1, 10.0)


def resting_weights(baseline: np.ndarray, target: np.ndarray = RESTING_TARGET) -> np.ndarray:
    """Per-emotion weights that turn one person's resting face (``baseline``: their mean probabilities
    while they hold a neutral face) into what a neutral face reads as on average: a face that rests
    "sad" or "angry" is common, and the model would call that person sad all session long. Applied with
    :func:`apply_weights`; a prior shift, clipped to ``RESTING_LIMITS``."""
    baseline = np.clip(np.asarray(baseline, np.float64), EPS, 1.0)
    return np.clip(target / baseline, *RESTING_LIMITS)


def apply_weights(probs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Probabilities (N, 7) or (7,) reweighted per emotion and renormalised."""
    scaled = np.asarray(probs, np.float64) * weights
    return (scaled / scaled.sum(axis=-1, keepdims=True)).astype(np.float32)
