"""Should a candidate network ship? Classifiers side by side on PublicTest and the nine labelled sample photos.

    .venv/bin/python tools/compare_models.py ../shared/data/fer2013/fer2013.npz.xz fast accurate \\
        CANDIDATE.tflite CANDIDATE.tflite+models/fer_cnn_adamw.tflite

Each argument after the data is a classifier: ``fast`` or ``accurate`` (the shipped modes,
``fer.assets.MODES``), a ``.tflite`` file (the fast mode's views: each face and its mirror), or files joined
by ``+`` (the accurate mode's views over each file, averaged: an ensemble). For each it prints PublicTest
accuracy, disgust recall, and how many of the nine labelled photos in ``../shared/samples`` it labels right
(the app's photo path: detector, alignment, crop; a canary, not a test set); then every classifier's
PublicTest recall of each class, a row each; then each against the first,
face by face: how many faces only one of the two gets right, and the exact two-sided McNemar p-value (a
gap of a few dozen faces out of 3,589 can be chance, and more so when the candidate is the best of several
epochs picked on this same split), and whether it passes the shipping rule written in the model card
before any run was scored (:func:`shipping_rule`). PublicTest only: PrivateTest is never read.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from fer.assets import DEFAULT_MODEL, MODES  # noqa: E402
from fer.classifier import EmotionClassifier  # noqa: E402
from fer.data import load_dataset  # noqa: E402
from fer.emotions import EMOTIONS  # noqa: E402
from fer.evaluate import Report  # noqa: E402
from fer.faces import AgreedDetector  # noqa: E402
from fer.imageio import load_image  # noqa: E402
from fer.pipeline import Analyzer  # noqa: E402
from tests.test_pipeline import LABELLED_PHOTOS  # noqa: E402


def classifier(spec: str) -> EmotionClassifier:
    """A shipped mode by name, one file in the fast mode's views, or ``a+b+...`` in the accurate mode's."""
    if spec in MODES:
        return EmotionClassifier(DEFAULT_MODEL, **MODES[spec])
    first, *others = [Path(f).resolve() for f in spec.split("+")]
    if not others:
        return EmotionClassifier(first, **MODES["fast"])
    return EmotionClassifier(first, **{**MODES["accurate"], "members": tuple(others)})


def mcnemar_p(only_first: int, only_second: int) -> float:
    """Exact two-sided McNemar test: the chance of a split at least this uneven if both were equally good."""
    n, k = only_first + only_second, min(only_first, only_second)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n) if n else 1.0


# The rule a candidate must pass to replace the first classifier (the shipped fast mode for a live network, the
# shipped accurate mode for an accurate member; models/CAMPAIGN.md, "Shipping a candidate").
SIGNIFICANCE, DISGUST_FLOOR = 0.05, 0.55


def shipping_rule(only_first: int, only_it: int, disgust: float | None, photos: int, first_photos: int) -> list[str]:
    """Why a candidate may not replace the first classifier; none when it may: more faces right than the first
    face by face with McNemar p < 0.05, disgust recall of 55% or more, and no fewer labelled photos right."""
    failed = []
    if not (only_it > only_first and mcnemar_p(only_first, only_it) < SIGNIFICANCE):
        failed.append(f"not better face by face at p < {SIGNIFICANCE}")
    if disgust is None or disgust < DISGUST_FLOOR:
        failed.append(f"disgust recall under {DISGUST_FLOOR:.0%}")
    if photos < first_photos:
        failed.append(f"{photos} photos against {first_photos}")
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", help="fer2013.npz.xz (or .csv.gz) with PublicTest rows")
    parser.add_argument("classifiers", nargs="+", help="fast | accurate | A.tflite | A.tflite+B.tflite[+...]")
    parser.add_argument("--samples", default=str(ROOT.parent / "shared" / "samples"), help="the labelled photos' folder")
    args = parser.parse_args(argv)

    select = load_dataset(args.data).split("PublicTest")
    samples = Path(args.samples)
    right, recall, photos = {}, {}, {}
    for spec in args.classifiers:
        model = classifier(spec)
        report = Report(select.labels, model.predict_many(np.asarray(select.images)).argmax(1))
        right[spec], recall[spec] = report.labels == report.predicted, report.per_class_recall()
        analyzer = Analyzer(AgreedDetector(), model)
        missed = [name for name, label in LABELLED_PHOTOS.items() if analyzer(load_image(samples / name)).faces[0].label != label]
        photos[spec] = len(LABELLED_PHOTOS) - len(missed)
        print(f"{spec}: PublicTest {right[spec].mean():.2%}, disgust recall {recall[spec]['disgust']:.1%}, "
              f"photos {photos[spec]}/{len(LABELLED_PHOTOS)} (missed: {', '.join(missed) or 'none'})", flush=True)
    width = max(len(spec) for spec in right)
    print("PublicTest recall by class".ljust(width), *(f"{name:>8}" for name in EMOTIONS))
    for spec, by_class in recall.items():
        print(spec.ljust(width), *(f"{'-' if r is None else format(r, '.1%'):>8}" for r in by_class.values()))
    first = args.classifiers[0]
    for spec in args.classifiers[1:]:
        only_first, only_other = int((right[first] & ~right[spec]).sum()), int((right[spec] & ~right[first]).sum())
        print(f"{spec} against {first}: {only_other} faces only it gets right, {only_first} only {first}, "
              f"McNemar p = {mcnemar_p(only_first, only_other):.3f}")
        failed = shipping_rule(only_first, only_other, recall[spec]["disgust"], photos[spec], photos[first])
        print(f"  the shipping rule: {'passes' if not failed else 'fails (' + '; '.join(failed) + ')'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
