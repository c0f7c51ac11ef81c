"""The one result type for a face, made by the detector and completed by the classifier and the tracker,
and the faces of one frame. Every stage (tracking, aggregation, drawing, export) passes these along;
dict views exist only at the output edge (``to_dict``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .emotions import EMOTIONS

Box = tuple[int, int, int, int]  # x, y, w, h in pixels of the analysed image


@dataclass(frozen=True, eq=False)
class FaceResult:
    box: Box
    score: float = 0.0  # the detector's confidence that this is a face
    keypoints: tuple[tuple[float, float], ...] = ()  # (x, y) landmarks when the detector gives them (BlazeFace: eyes, nose, mouth, ears)
    probabilities: np.ndarray | None = None  # (7,) in EMOTIONS order, summing to 1; None until classified
    track_id: int | None = None  # the same face across the frames of a stream

    @property
    def label(self) -> str | None:
        return None if self.probabilities is None else EMOTIONS[int(np.argmax(self.probabilities))]

    @property
    def confidence(self) -> float:
        return 0.0 if self.probabilities is None else float(np.max(self.probabilities))

    def probability(self, emotion: str) -> float:
        return float(self.probabilities[EMOTIONS.index(emotion)]) if self.probabilities is not None else 0.0

    def to_dict(self) -> dict:
        track = {} if self.track_id is None else {"track_id": self.track_id}
        return track | {
            "box": [int(v) for v in self.box],
            "score": round(float(self.score), 4),
            "label": self.label,
            "probabilities": {e: round(self.probability(e), 6) for e in EMOTIONS},
        }


@dataclass(frozen=True, eq=False)
class FrameResult:
    width: int
    height: int
    faces: tuple[FaceResult, ...] = ()

    @property
    def probabilities(self) -> np.ndarray:
        """(n_faces, 7): the classified faces' probabilities, for aggregation."""
        rows = [f.probabilities for f in self.faces if f.probabilities is not None]
        return np.array(rows, np.float32).reshape(-1, len(EMOTIONS))

    def to_dict(self) -> dict:
        return {"width": self.width, "height": self.height, "faces": [f.to_dict() for f in self.faces]}
