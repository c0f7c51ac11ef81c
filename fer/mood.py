"""Aggregate many faces over time into a mood timeline: no images and no identities, only numbers
per time bucket."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import numpy as np

from .emotions import EMOTIONS, VALENCE


@dataclass
class Bucket:
    t: float  # start of the bucket, seconds
    frames: int = 0
    faces: int = 0  # the most faces seen in one frame of the bucket
    observations: int = 0  # faces summed over frames
    counts: np.ndarray = field(default_factory=lambda: np.zeros(len(EMOTIONS), np.int64))  # dominant labels
    prob_sum: np.ndarray = field(default_factory=lambda: np.zeros(len(EMOTIONS)))

    def to_dict(self) -> dict:
        n = max(self.observations, 1)
        return {
            "t": round(self.t, 3),
            "frames": self.frames,
            "faces": self.faces,
            "distribution": {e: round(float(c) / n, 4) for e, c in zip(EMOTIONS, self.counts)},
            "mean_probability": {e: round(float(p) / n, 4) for e, p in zip(EMOTIONS, self.prob_sum)},
        }


class Timeline:
    """Frames in, one row per ``bucket_s`` seconds out. ``distribution`` is the share of each emotion
    among the faces seen in the bucket (by each face's most likely label); ``mean_probability`` averages
    the probabilities themselves. Buckets with no frame are not listed."""

    def __init__(self, bucket_s: float = 1.0):
        self.bucket_s = bucket_s
        self._buckets: dict[int, Bucket] = {}

    def add(self, t: float, probabilities: np.ndarray) -> None:
        """One frame at ``t`` seconds with an (n_faces, 7) array of probabilities (n may be 0)."""
        index = int(t // self.bucket_s)
        bucket = self._buckets.setdefault(index, Bucket(float(index * self.bucket_s)))
        probabilities = np.asarray(probabilities, dtype=float).reshape(-1, len(EMOTIONS))
        bucket.frames += 1
        bucket.faces = max(bucket.faces, len(probabilities))
        bucket.observations += len(probabilities)
        bucket.counts += np.bincount(probabilities.argmax(1), minlength=len(EMOTIONS)) if len(probabilities) else 0
        bucket.prob_sum += probabilities.sum(0)

    def rows(self) -> list[dict]:
        return [self._buckets[i].to_dict() for i in sorted(self._buckets)]

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["t", "frames", "faces", *EMOTIONS, *(f"p_{e}" for e in EMOTIONS)])
        for row in self.rows():
            writer.writerow(
                [row["t"], row["frames"], row["faces"], *row["distribution"].values(), *row["mean_probability"].values()]
            )
        return out.getvalue()

    def __len__(self) -> int:
        return len(self._buckets)


def valence(distribution: dict[str, float]) -> dict[str, float]:
    """Positive, neutral and negative shares of a distribution over the seven emotions."""
    out = {"positive": 0.0, "neutral": 0.0, "negative": 0.0}
    for emotion, share in distribution.items():
        out[VALENCE[emotion]] += share
    return {k: round(v, 4) for k, v in out.items()}


def shown(rows: list[dict], min_faces: int) -> list[dict]:
    """The buckets with enough faces for their distribution to be shown (fewer could single out a person)."""
    return [r for r in rows if r["faces"] >= min_faces]


def negative_streak(rows: list[dict], threshold: float, duration_s: float, bucket_s: float, min_faces: int) -> bool:
    """True when the negative share stayed above ``threshold`` in every bucket of the last ``duration_s``
    seconds (consecutive buckets, each with at least ``min_faces`` faces)."""
    needed = max(1, int(np.ceil(duration_s / bucket_s)))
    last = rows[-needed:]
    if len(last) < needed or any(b["t"] - a["t"] != bucket_s for a, b in zip(last, last[1:])):
        return False
    return all(r["faces"] >= min_faces and valence(r["distribution"])["negative"] > threshold for r in last)
