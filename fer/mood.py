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

    def regroup(self, bucket_s: float) -> "Timeline":
        """The same frames in buckets of ``bucket_s`` seconds, a multiple of this timeline's: counts and
        sums add up, ``faces`` is the most seen in one frame. Exact, without the frames: a page analyses a
        video once and changes the timeline's step without analysing it again."""
        ratio = bucket_s / self.bucket_s
        if ratio < 1 or abs(ratio - round(ratio)) > 1e-9:
            raise ValueError(f"{bucket_s:g} s is not a multiple of {self.bucket_s:g} s")
        out = Timeline(bucket_s)
        for index, b in self._buckets.items():
            new = int(index // round(ratio))
            merged = out._buckets.setdefault(new, Bucket(float(new * bucket_s)))
            merged.frames += b.frames
            merged.faces = max(merged.faces, b.faces)
            merged.observations += b.observations
            merged.counts = merged.counts + b.counts
            merged.prob_sum = merged.prob_sum + b.prob_sum
        return out

    def to_csv(self) -> str:
        return rows_to_csv(self.rows())

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


def alert_periods(rows: list[dict], threshold: float, duration_s: float, bucket_s: float, min_faces: int) -> list[dict]:
    """Every stretch of time during which the negative alert was up: from the bucket that completed a
    streak of ``duration_s`` seconds to the last bucket that kept it (``{"start", "end"}``, bucket times).
    The alert clears as soon as one bucket is no longer negative enough, has too few faces, or is missing."""
    periods: list[dict] = []
    for i in range(len(rows)):
        if negative_streak(rows[: i + 1], threshold, duration_s, bucket_s, min_faces):
            if periods and periods[-1]["end"] == rows[i - 1]["t"] and rows[i]["t"] - rows[i - 1]["t"] == bucket_s:
                periods[-1]["end"] = rows[i]["t"]
            else:
                periods.append({"start": rows[i]["t"], "end": rows[i]["t"]})
    return periods


def session_report(rows: list[dict], min_faces: int, alerts: list[dict] | None = None) -> dict:
    """A whole class session in numbers: its span, the most students at once, and the mood over all
    buckets with enough faces (each bucket's counts summed, so busier moments weigh more)."""
    kept = shown(rows, min_faces)
    observations = sum(r["observations"] for r in kept)
    counts = {e: sum(r["counts"][e] for r in kept) for e in EMOTIONS}
    distribution = {e: round(c / observations, 4) if observations else 0.0 for e, c in counts.items()}
    return {
        "start": rows[0]["t"] if rows else None,
        "end": rows[-1]["t"] if rows else None,
        "buckets": len(rows),
        "buckets_shown": len(kept),
        "peak_participants": max((r["streams"] for r in rows), default=0),
        "peak_faces": max((r["faces"] for r in rows), default=0),
        "observations": observations,
        "distribution": distribution,
        "valence": valence(distribution),
        "alerts": alerts or [],
    }


_CSV_PREFIX = {"distribution": "", "mean_probability": "p_", "counts": "n_"}


def rows_to_csv(rows: list[dict]) -> str:
    """Timeline or class rows as CSV: plain fields as they are, per-emotion dicts as one column each
    (shares under the emotion's name, mean probabilities as p_<emotion>, counts as n_<emotion>)."""
    out = io.StringIO()
    writer = csv.writer(out)
    if rows:
        header = []
        for key, value in rows[0].items():
            header += [f"{_CSV_PREFIX[key]}{e}" for e in value] if isinstance(value, dict) else [key]
        writer.writerow(header)
        for row in rows:
            writer.writerow([c for v in row.values() for c in (v.values() if isinstance(v, dict) else [v])])
    return out.getvalue()
