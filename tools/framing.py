"""How framing and tilt move the accuracy, measured on FER2013 PublicTest (the fast mode):

    .venv/bin/python tools/framing.py ../shared/data/fer2013/fer2013.csv.gz [--limit N] [--photos N]

- tighter crops (the centre 85% / 70% of each face, enlarged back to 48x48): CK+48-style framing, where
  the crop hugs the face;
- looser crops (each face shrunk inside 130% / 160% of its frame, the border repeated): JAFFE-style and
  webcam framing, where more of the head and background shows;
- the same looser frames as photos (each face enlarged to 144 px first), found and reframed by the app's
  photo path (``Analyzer.largest_face``: detector, FER2013-style margin, eyes levelled): what a user's
  full-frame photo gets; a face the detector misses counts as wrong;
- tilted faces (each face turned 15 degrees either way), classified as they are, and levelled first by
  the photo path's alignment (BlazeFace keypoints, ``fer.preprocess.eye_tilt`` and ``crop_faces``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fer.data import load_dataset  # noqa: E402
from fer.faces import BlazeFaceDetector  # noqa: E402
from fer.pipeline import Analyzer  # noqa: E402
from fer.preprocess import SIZE, crop_faces, eye_tilt  # noqa: E402


def in_frame(face: np.ndarray, scale: float) -> np.ndarray:
    """The square ``face`` inside a frame ``scale`` (> 1) times its side, the border pixels repeated."""
    pad = int(round(len(face) * (scale - 1) / 2))
    return cv2.copyMakeBorder(face, pad, pad, pad, pad, cv2.BORDER_REPLICATE)


def reframe(faces: np.ndarray, scale: float) -> np.ndarray:
    """scale < 1: the centre ``scale`` of each face enlarged; scale > 1: the face shrunk inside a frame
    ``scale`` times its side, the border pixels repeated."""
    out = []
    for face in faces:
        side = int(round(SIZE * scale))
        if scale < 1:
            start = (SIZE - side) // 2
            view = face[start : start + side, start : start + side]
        else:
            view = in_frame(face, scale)
        out.append(cv2.resize(view, (SIZE, SIZE), interpolation=cv2.INTER_AREA))
    return np.stack(out)


def framed_photo(face: np.ndarray, scale: float, side: int = 144) -> np.ndarray:
    """The face enlarged to ``side`` pixels inside a frame ``scale`` times that, the border repeated."""
    return in_frame(cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC), scale)


def turned(faces: np.ndarray, degrees: float, canvas: int = 192) -> list[np.ndarray]:
    """Each face turned by ``degrees`` on a grey-bordered canvas (the face a third of it), as a photo."""
    out = []
    for face in faces:
        big = cv2.resize(face, (canvas // 3, canvas // 3), interpolation=cv2.INTER_CUBIC)
        pad = canvas // 3
        frame = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        turn = cv2.getRotationMatrix2D((canvas / 2, canvas / 2), degrees, 1.0)
        out.append(cv2.warpAffine(frame, turn, (canvas, canvas), borderMode=cv2.BORDER_REPLICATE))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--photos", type=int, default=300, help="faces for the photo-path rows (slow: a detector run each)")
    args = parser.parse_args()
    test = load_dataset(args.data).split("PublicTest")
    faces, labels = np.asarray(test.images), test.labels
    if args.limit:
        faces, labels = faces[: args.limit], labels[: args.limit]
    classify = Analyzer.default().classifier.predict_many
    accuracy = lambda crops, truth=labels: float((classify(crops).argmax(1) == truth).mean())  # noqa: E731
    print(f"PublicTest faces: {len(labels)}; fast mode")
    print(f"as framed in FER2013                {accuracy(faces):.2%}")
    for scale, name in ((0.85, "tighter, centre 85%"), (0.7, "tighter, centre 70%"), (1.3, "looser, 130% frame"), (1.6, "looser, 160% frame")):
        print(f"{name:<36}{accuracy(reframe(faces, scale)):.2%}")
    analyzer, n = Analyzer.default(), min(len(labels), args.photos)
    print(f"the photo path on the first {n} faces: as framed in FER2013 {accuracy(faces[:n], labels[:n]):.2%}")
    for scale in (1.0, 1.3, 1.6, 2.0):
        crops = [analyzer.largest_face(framed_photo(face, scale)) for face in faces[:n]]
        found = np.array([c is not None for c in crops])
        kept = np.stack([c for c in crops if c is not None])
        right = accuracy(kept, labels[:n][found]) * found.mean()
        print(f"{f'{scale:.0%} frame, photo path':<36}{right:.2%}  (face found in {found.mean():.1%}, "
              f"{right / found.mean():.2%} of those right)")
    detector = BlazeFaceDetector(min_score=0.2)
    side = 192 // 3
    for degrees in (15, -15):
        photos = turned(faces, degrees)
        plain, levelled, found = [], [], 0
        for photo in photos:
            box = (side, side, side, side)
            detections = detector(photo)
            tilt = 0.0
            if detections:
                found += 1
                tilt = eye_tilt(max(detections, key=lambda d: d.score).keypoints)
            plain.append(crop_faces(photo, [box], margin=0.0)[0])
            levelled.append(crop_faces(photo, [box], margin=0.0, tilts=[tilt])[0])
        print(f"turned {degrees:+d} degrees, as is           {accuracy(np.stack(plain)):.2%}")
        print(f"turned {degrees:+d} degrees, eyes levelled   {accuracy(np.stack(levelled)):.2%}  (keypoints found on {found / len(photos):.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
