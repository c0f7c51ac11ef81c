"""Which test-time views make the accurate mode: PublicTest accuracy of the shipped network averaged over
sets of views of each face (every view also mirrored), the search that chose ``MODES["accurate"]``.

    .venv/bin/python tools/test_time_views.py ../shared/data/fer2013/fer2013.npz.xz [--model NEW.tflite] [--members OLD.tflite ...]

Views: the face as is; zooms (the centre enlarged 1.1x, 1.2x); a wider frame (0.9x: the edges repeated);
corner crops 2, 4 or 6 pixels smaller, enlarged back (the face shifted that much each way); rotations of
8 degrees. ``--model`` scores another network instead of the shipped one (e.g. a campaign's candidate).
``--members`` adds other networks' files (e.g. the earlier ensemble's, from the git history, or the shipped
network beside a candidate): each over the as-is and 1.1x views at a few weights, and each over the
accurate mode's ten views, alone and averaged with the network scored (the corners 2, 4 or 6 px smaller).
PublicTest only: PrivateTest is never read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fer.assets import DEFAULT_MODEL  # noqa: E402
from fer.classifier import _Network, corners, zoom  # noqa: E402
from fer.data import load_dataset  # noqa: E402
from fer.preprocess import preprocess  # noqa: E402


def views_of(faces: np.ndarray) -> dict[str, np.ndarray]:
    def wider(f):
        return cv2.resize(cv2.copyMakeBorder(f, 3, 3, 3, 3, cv2.BORDER_REPLICATE), (48, 48), interpolation=cv2.INTER_AREA)

    def turned(f, degrees):
        return cv2.warpAffine(f, cv2.getRotationMatrix2D((23.5, 23.5), degrees, 1.0), (48, 48), borderMode=cv2.BORDER_REPLICATE)

    views = {"as is": faces, "1.1x": zoom(faces, 1.1), "1.2x": zoom(faces, 1.2), "0.9x": np.stack([wider(f) for f in faces])}
    for shift in (2, 4, 6):
        for name, crop in zip(("tl", "tr", "bl", "br"), corners(faces, shift)):
            views[f"s{shift}{name}"] = crop
    for degrees in (8, -8):
        views[f"r{degrees:+d}"] = np.stack([turned(f, degrees) for f in faces])
    return views


def probabilities(network: _Network, views: dict[str, np.ndarray], names) -> dict[str, np.ndarray]:
    """Each view's raw probabilities, as is and mirrored averaged."""
    out = {}
    for name in names:
        x = preprocess(views[name])
        out[name] = np.mean([np.concatenate([network(v[i : i + 512]) for i in range(0, len(v), 512)]) for v in (x, x[:, :, ::-1])], axis=0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="the network scored (default: the shipped one)")
    parser.add_argument("--members", nargs="*", type=Path, default=[])
    args = parser.parse_args()
    test = load_dataset(args.data).split("PublicTest")
    labels = test.labels
    views = views_of(np.asarray(test.images))
    shipped = probabilities(_Network(args.model, 2), views, views)

    def accuracy(p: np.ndarray) -> float:
        return float((p.argmax(1) == labels).mean())

    shifts = {s: [f"s{s}{c}" for c in ("tl", "tr", "bl", "br")] for s in (2, 4, 6)}
    sets = {
        "as is (the fast mode)": ["as is"],
        "+ 1.1x": ["as is", "1.1x"],
        "+ 1.1x, 1.2x": ["as is", "1.1x", "1.2x"],
        "+ 1.1x, 0.9x": ["as is", "1.1x", "0.9x"],
        "+ rotations of 8 degrees": ["as is", "r+8", "r-8"],
        "+ corners 2 px smaller (shifts of 2)": ["as is", *shifts[2]],
        "+ corners 4 px smaller": ["as is", *shifts[4]],
        "+ corners 6 px smaller": ["as is", *shifts[6]],
        "ten-crop: corners 4 px smaller + centre 1.1x": [*shifts[4], "1.1x"],
        "+ 1.1x, 1.2x, 0.9x, corners 4 px smaller": ["as is", "1.1x", "1.2x", "0.9x", *shifts[4]],
        "+ corners 2, 4 and 6 px smaller, 1.1x": ["as is", "1.1x", *shifts[2], *shifts[4], *shifts[6]],
        "all of the above views": list(views),
    }
    print("| views (each also mirrored) | passes per face | PublicTest |\n|---|---|---|")
    for name, names in sets.items():
        print(f"| {name} | {2 * len(names)} | {accuracy(np.mean([shipped[n] for n in names], 0)):.2%} |")
    if args.members:
        ten = ["as is", *shifts[2]]  # the accurate mode's views
        members = [probabilities(_Network(path, 2), views, ["as is", "1.1x", *sum(shifts.values(), [])]) for path in args.members]
        others = np.mean([m[n] for m in members for n in ("as is", "1.1x")], 0)
        chosen = np.mean([shipped[n] for n in ten], 0)
        old = np.mean([p[n] for p in (shipped, *members) for n in ("as is", "1.1x")], 0)
        print(f"| the network and {len(members)} member(s), as is + 1.1x each (the earlier accurate mode) | | {accuracy(old):.2%} |")
        for weight in (0.1, 0.2, 0.3, 0.4):
            print(f"| corners 2 px smaller, with the members at weight {weight} | | {accuracy((1 - weight) * chosen + weight * others):.2%} |")
        for path, member in zip(args.members, members):
            print(f"| {path.name} alone, corners 2 px smaller | {2 * len(ten)} | {accuracy(np.mean([member[n] for n in ten], 0)):.2%} |")
        for shift in shifts:  # the accurate mode's ten views, each network; corners 2, 4 or 6 px smaller
            both = np.mean([p[n] for p in (shipped, *members) for n in ("as is", *shifts[shift])], 0)
            print(f"| the network and the member(s), corners {shift} px smaller each | {2 * len(ten) * (1 + len(members))} | {accuracy(both):.2%} |")


if __name__ == "__main__":
    main()
