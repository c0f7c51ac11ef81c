"""Follow faces across the frames of a video and smooth their probabilities over time.

A face keeps one id while it moves: each new detection is matched to the track whose box it overlaps
most (intersection over union). Between detections a track keeps its last box, so detection can run
on every few frames only. Probabilities are averaged over the last ``window_s`` seconds of a track,
which is what keeps the labels from flickering.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .results import Box, FaceResult


def iou(a: Box, b: Box) -> float:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter) if inter else 0.0


@dataclass
class Track:
    face: FaceResult  # the latest detection of this face (score, keypoints)
    box: Box  # the drawn box: the detections' boxes, steadied
    id: int = 0  # numbered 1, 2, ... once confirmed
    hits: int = 1  # detection rounds that found this face
    missed: int = 0  # detection rounds in a row that did not find this face
    history: deque = field(default_factory=deque)  # (time, probabilities)
    smoothed: np.ndarray | None = None  # the latest mean over the window

    def observe(self, t: float, probabilities: np.ndarray, window_s: float) -> np.ndarray:
        """Record this frame's probabilities; return their mean over the last ``window_s`` seconds."""
        self.history.append((t, probabilities))
        while self.history[0][0] < t - window_s:
            self.history.popleft()
        self.smoothed = np.mean([p for _, p in self.history], axis=0)
        return self.smoothed


class Tracker:
    """Greedy IoU matching of detections to tracks. A track is shown once ``min_hits`` detection rounds
    found it (a one-off, doubtful false detection never is), or at once when the detector is sure and kept through ``max_missed`` rounds that miss it
    (a face the detector loses for a moment keeps its id). ``box_smoothing`` is the weight kept by the
    old box when a detection moves it (0 = jump to the detection), which steadies the drawn boxes."""

    def __init__(
        self, min_iou: float = 0.3, min_hits: int = 2, max_missed: int = 2, box_smoothing: float = 0.4, sure_score: float = 0.75
    ):
        self.min_iou, self.min_hits, self.max_missed, self.sure_score = min_iou, min_hits, max_missed, sure_score
        self.box_smoothing = box_smoothing
        self.tracks: list[Track] = []

    def update(self, faces: list[FaceResult]) -> list[Track]:
        """Match one round of detections; returns the tracks to show."""
        boxes = [f.box for f in faces]
        pairs = sorted(
            ((iou(t.box, b), ti, bi) for ti, t in enumerate(self.tracks) for bi, b in enumerate(boxes)),
            reverse=True,
        )
        matched_tracks, matched_boxes = set(), set()
        for overlap, ti, bi in pairs:
            if overlap < self.min_iou:
                break
            if ti in matched_tracks or bi in matched_boxes:
                continue
            matched_tracks.add(ti)
            matched_boxes.add(bi)
            track = self.tracks[ti]
            k = self.box_smoothing
            track.box = tuple(int(round(k * o + (1 - k) * n)) for o, n in zip(track.box, boxes[bi]))
            track.hits, track.missed, track.face = track.hits + 1, 0, faces[bi]
        for ti, track in enumerate(self.tracks):
            if ti not in matched_tracks:
                track.missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= (self.max_missed if self.confirmed(t) else 0)]
        self.tracks += [Track(faces[bi], tuple(b)) for bi, b in enumerate(boxes) if bi not in matched_boxes]
        for track in self.shown:  # the smallest free number: one person in view stays "face 1"
            if not track.id:
                used = {t.id for t in self.tracks}
                track.id = next(i for i in itertools.count(1) if i not in used)
        return self.shown

    def confirmed(self, track: Track) -> bool:
        """Found by ``min_hits`` detections, or by one the detector is sure of (BlazeFace's probability of a
        face at least ``sure_score``): a face in a one-frame video, or the first frame of a stream, counts."""
        return track.hits >= self.min_hits or track.face.score >= self.sure_score

    @property
    def shown(self) -> list[Track]:
        return [t for t in self.tracks if self.confirmed(t)]

    def reset(self) -> None:
        self.tracks = []
