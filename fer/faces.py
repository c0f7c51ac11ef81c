"""Face detectors behind one small interface: ``detector(gray) -> list[FaceResult]`` (box, score and,
for BlazeFace, keypoints; the classifier fills in the probabilities later)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from .assets import DETECTOR_MODEL, quiet_native_stderr
from .results import FaceResult
from .tracking import iou


class FaceDetector(Protocol):
    def __call__(self, gray: np.ndarray) -> list[FaceResult]: ...


class HaarDetector:
    """OpenCV's frontal-face Haar cascade, run on a copy scaled to at most ``work_width`` pixels wide.

    Defaults were tuned on the sample photos of the test suite (10 photos and a 7-face collage, 19
    faces; grid over 3 cascades x histogram equalisation x scale factor 1.05-1.15 x min neighbours 3-5):
    the ``alt2`` cascade on an equalised image with scale factor 1.05 found all 19 faces, the one half
    covered by a hand included, with no false positive, for every min_neighbors from 3 to 5; the
    ``default`` cascade did so at one setting only (no equalisation, scale 1.15, min neighbours 3-4) and
    missed or doubled faces at the others. On a 2560-pixel grid of 11 small faces (a large group photo),
    a 640-wide working copy lost 3 faces and a 1024-wide one lost 1, at the same cost on ordinary photos.
    ``min_face`` is a share of the shorter side of the working copy; boxes come back in the caller's
    pixel coordinates.
    """

    def __init__(
        self,
        scale_factor: float = 1.05,
        min_neighbors: int = 5,
        min_face: float = 0.04,
        work_width: int = 1024,
        cascade: str = "haarcascade_frontalface_alt2.xml",
    ):
        path = Path(cv2.data.haarcascades) / cascade
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise RuntimeError(f"cannot load the Haar cascade {path}")
        self.scale_factor, self.min_neighbors = scale_factor, min_neighbors
        self.min_face, self.work_width = min_face, work_width

    def __call__(self, gray: np.ndarray) -> list[FaceResult]:
        height, width = gray.shape[:2]
        scale = min(1.0, self.work_width / width)
        small = cv2.resize(gray, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else gray
        min_side = max(20, int(self.min_face * min(small.shape[:2])))
        boxes, _, weights = self._cascade.detectMultiScale3(
            cv2.equalizeHist(small),
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(min_side, min_side),
            outputRejectLevels=True,
        )
        found = [
            FaceResult(tuple(int(round(v / scale)) for v in box), float(weight))
            for box, weight in zip(np.asarray(boxes).reshape(-1, 4), np.asarray(weights).reshape(-1))
        ]
        return sorted(suppress_duplicates(found), key=lambda d: (d.box[0], d.box[1]))


class AgreedDetector:
    """The photo detector: the Haar cascade's boxes where BlazeFace agrees there is a face, plus the faces
    BlazeFace is sure of that the cascade missed (turned heads). Neither alone is right on photos: the
    cascade finds small faces in group photos that BlazeFace misses, and it also fires on hands, fists and
    patterns, which BlazeFace does not call faces. Measured on the sample photos (10 photos, 11 faces) and
    a 2560-pixel grid of all 11 faces: Haar alone found 10/10 photos exactly and 10 of the grid's 11,
    BlazeFace alone 10/10 and 5, both with agreement 10/10 and 10. Each face keeps the cascade's box
    (the framing our crops were tuned for) and takes BlazeFace's score (a probability) and keypoints."""

    def __init__(self, haar: FaceDetector | None = None, blaze: FaceDetector | None = None, min_iou: float = 0.3, sure: float = 0.6):
        self.haar = haar or HaarDetector()
        self.blaze = blaze or BlazeFaceDetector(min_score=0.2, fine=True)
        self.min_iou, self.sure = min_iou, sure

    def __call__(self, gray: np.ndarray) -> list[FaceResult]:
        haar, blaze = self.haar(gray), self.blaze(gray)
        faces = []
        for h in haar:
            overlap, best = max(((iou(h.box, b.box), b) for b in blaze), default=(0.0, None), key=lambda pair: pair[0])
            if overlap >= self.min_iou:
                faces.append(FaceResult(h.box, best.score, best.keypoints))
        faces += [b for b in blaze if b.score >= self.sure and all(iou(b.box, f.box) < self.min_iou for f in faces)]
        return sorted(faces, key=lambda d: (d.box[0], d.box[1]))


def suppress_duplicates(found: list[FaceResult], overlap: float = 0.5) -> list[FaceResult]:
    """Keep one box per face: drop a box when ``overlap`` of the smaller of it and a stronger box is shared."""
    kept: list[FaceResult] = []
    for det in sorted(found, key=lambda d: -d.score):
        if all(_shared(det.box, k.box) < overlap for k in kept):
            kept.append(det)
    return kept


def _shared(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection area over the smaller box's area."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0) / min(a[2] * a[3], b[2] * b[3])


class BlazeFaceDetector:
    """MediaPipe's BlazeFace detector (full-range model, 192x192 input), run through LiteRT.

    The network sees a 192x192 square: the frame padded to a square and scaled down, and, for frames
    at least twice as wide as high (or the reverse), also overlapping square tiles of it, so that
    faces in a wide gallery keep their size. The network scores 2,304 anchors, one per cell of a 48x48
    grid; each anchor's regression gives a box centre offset and size in input pixels. Boxes above
    ``min_score`` are merged the way MediaPipe does it (overlapping boxes averaged, weighted by score).
    BlazeFace boxes hug the face from brows to chin; ``_FRAMING`` maps them onto the framing of the
    Haar boxes that our crop margin was chosen for (fitted on the sample photos). Faces smaller than
    about a twelfth of the square's side are missed: the photo page keeps the Haar detector.
    """

    SIZE = 192
    GRID = 48
    # (scale, shift of the centre as a share of the side, upwards): BlazeFace box -> Haar-like box.
    _FRAMING = (1.0, 0.1)
    TILE_ASPECT = 1.9  # 4:3 and 16:9 frames take one pass; 2:1 and wider are also tiled
    KEYPOINTS = 6  # right eye, left eye, nose tip, mouth centre, right ear, left ear (the person's own sides)
    # which columns of a detection row (x, y, w, h, then x, y per keypoint) move with a tile's offset
    _SHIFTED = np.array([1, 1, 0, 0] + [1, 1] * KEYPOINTS, np.float32)

    def __init__(self, min_score: float = 0.4, path: str | Path | None = None, threads: int = 1, fine: bool = False):
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(path or DETECTOR_MODEL)
        with quiet_native_stderr():
            self._interpreter = Interpreter(model_path=str(self.path), num_threads=threads)
            self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = sorted(self._interpreter.get_output_details(), key=lambda d: -d["shape"][-1])
        self._boxes, self._scores = outputs[0]["index"], outputs[1]["index"]
        centres = (np.arange(self.GRID, dtype=np.float32) + 0.5) * (self.SIZE / self.GRID)
        ys, xs = np.meshgrid(centres, centres, indexing="ij")
        self._anchors = np.stack([xs.ravel(), ys.ravel()], axis=1)
        self._min_logit = np.log(min_score / (1 - min_score))
        self.min_score, self.fine = min_score, fine
        self._lock = threading.Lock()

    def __call__(self, gray: np.ndarray) -> list[FaceResult]:
        height, width = gray.shape[:2]
        long, short = max(height, width), min(height, width)
        # The whole frame, padded to a square; a wide (or tall) one also in overlapping square tiles.
        squares = [(0, 0, long)]
        if long >= self.TILE_ASPECT * short:
            starts = np.linspace(0, long - short, int(np.ceil(long / short))).round().astype(int)
            squares += [(s, 0, short) if width > height else (0, s, short) for s in starts]
        if self.fine and long >= 2 * self.SIZE:
            # Photos: also four overlapping squares of 55% of the long side, so faces down to about a
            # twentieth of the picture (a group photo) are seen at a size the network finds.
            side = int(round(0.55 * long))
            xs, ys = sorted({0, max(0, width - side)}), sorted({0, max(0, height - side)})
            squares += [(x, y, side) for y in ys for x in xs]
        rows, scores = [], []
        for x0, y0, side in squares:
            found, score = self._square(gray[y0 : y0 + side, x0 : x0 + side], side)
            rows.append(found + np.tile([x0, y0], self.KEYPOINTS + 2) * self._SHIFTED)
            scores.append(score)
        detections = []
        for row, score in _weighted_merge(np.concatenate(rows), np.concatenate(scores)):
            x, y, w, h = row[:4]
            side_scale, lift = self._FRAMING
            cx, cy, w, h = x + w / 2, y + h / 2 - lift * h, w * side_scale, h * side_scale
            x0, y0 = max(0, round(cx - w / 2)), max(0, round(cy - h / 2))
            x1, y1 = min(width, round(cx + w / 2)), min(height, round(cy + h / 2))
            if x1 - x0 >= 4 and y1 - y0 >= 4:
                keypoints = tuple((round(float(px), 1), round(float(py), 1)) for px, py in row[4:].reshape(-1, 2))
                detections.append(FaceResult((x0, y0, x1 - x0, y1 - y0), float(score), keypoints))
        if self.fine:  # a face cut by a tile's edge leaves a partial box inside the whole one
            detections = suppress_duplicates(detections)
        return sorted(detections, key=lambda d: (d.box[0], d.box[1]))

    def _square(self, region: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
        """Detection rows (x, y, w, h, then x, y of each keypoint, in the region's pixels) and scores above
        the threshold, for a region of at most ``side`` x ``side`` pixels, scaled by 192 / ``side`` and
        padded to the network's square."""
        scale = self.SIZE / side
        h, w = (min(self.SIZE, max(1, round(n * scale))) for n in region.shape[:2])
        small = cv2.resize(region, (w, h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        x = np.full((1, self.SIZE, self.SIZE, 3), -1.0, np.float32)
        x[0, :h, :w, :] = (small.astype(np.float32) * (2 / 255) - 1)[..., None]
        with self._lock:
            self._interpreter.set_tensor(self._input, x)
            self._interpreter.invoke()
            logits = self._interpreter.get_tensor(self._scores).reshape(-1)
            keep = np.flatnonzero(logits > self._min_logit)
            raw = self._interpreter.get_tensor(self._boxes)[0, keep, : 4 + 2 * self.KEYPOINTS]
        anchors = self._anchors[keep]
        centre = raw[:, :2] + anchors
        keypoints = raw[:, 4:].reshape(len(keep), self.KEYPOINTS, 2) + anchors[:, None, :]
        rows = np.concatenate([centre - raw[:, 2:4] / 2, raw[:, 2:4], keypoints.reshape(len(keep), 2 * self.KEYPOINTS)], axis=1)
        return rows / scale, 1 / (1 + np.exp(-logits[keep]))


def _weighted_merge(rows: np.ndarray, scores: np.ndarray, min_iou: float = 0.3):
    """MediaPipe's weighted non-maximum suppression: each cluster of boxes (the first four columns of
    ``rows``) overlapping the strongest remaining one by ``min_iou`` becomes the score-weighted mean of
    its rows (box and keypoints), with the strongest score."""
    if not len(rows):
        return
    order = np.argsort(-scores)
    rows, scores = rows[order], scores[order]
    boxes = rows[:, :4]
    corners = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
    areas = boxes[:, 2] * boxes[:, 3]
    left = np.ones(len(boxes), bool)
    for i in range(len(boxes)):
        if not left[i]:
            continue
        lo = np.maximum(corners[i, :2], corners[:, :2])
        hi = np.minimum(corners[i, 2:], corners[:, 2:])
        inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
        cluster = left & (inter / (areas[i] + areas - inter + 1e-9) >= min_iou)
        left &= ~cluster
        weights = scores[cluster][:, None]
        yield (rows[cluster] * weights).sum(0) / weights.sum(), scores[i]
