"""The model card's figures: confusion matrix and reliability diagram of each mode on PublicTest.

Usage: .venv/bin/python tools/model_figures.py ../shared/data/fer2013/fer2013.csv.gz [--out models]
Writes confusion_matrix.png and reliability.png (fast mode, the app's default), and
confusion_matrix_accurate.png and reliability_accurate.png.
"""

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fer.calibration import expected_calibration_error, reliability  # noqa: E402
from fer.classifier import EmotionClassifier  # noqa: E402
from fer.data import load_dataset  # noqa: E402
from fer.emotions import EMOTIONS  # noqa: E402
from fer.assets import MODES  # noqa: E402


def confusion_figure(labels: np.ndarray, probs: np.ndarray, path: Path, mode: str) -> None:
    matrix = np.zeros((7, 7))
    np.add.at(matrix, (labels, probs.argmax(1)), 1)
    share = matrix / matrix.sum(1, keepdims=True)
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(7):
        for j in range(7):
            ax.text(j, i, f"{share[i, j]:.0%}\n{int(matrix[i, j])}", ha="center", va="center", fontsize=7,
                    color="white" if share[i, j] > 0.5 else "black")
    ax.set_xticks(range(7), EMOTIONS, rotation=45, ha="right")
    ax.set_yticks(range(7), EMOTIONS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (FER2013 label)")
    accuracy = (probs.argmax(1) == labels).mean()
    ax.set_title(f"FER2013 PublicTest, {mode} mode: accuracy {accuracy:.2%} (row shares)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def reliability_figure(labels: np.ndarray, raw: np.ndarray, scaled: np.ndarray, temperature: float, path: Path, mode: str) -> None:
    fig, ax = plt.subplots(figsize=(5.4, 5.0))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    for probs, name in ((raw, "before"), (scaled, f"after (T = {temperature:.3f})")):
        bins = [b for b in reliability(probs, labels) if b["n"] >= 10]
        ece = expected_calibration_error(probs, labels)
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o", label=f"{name}: ECE {ece:.2%}")
    ax.set_xlabel("confidence of the top class (15 bins, 10+ faces each)")
    ax.set_ylabel("accuracy in the bin")
    ax.set_title(f"Reliability on FER2013 PublicTest, {mode} mode")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("--out", type=Path, default=Path("models"))
    args = parser.parse_args()
    test = load_dataset(args.data).split("PublicTest")
    faces, labels = np.asarray(test.images), test.labels
    for mode in MODES:
        classifier = EmotionClassifier(**MODES[mode])
        scaled = classifier.predict_many(faces)
        temperature, classifier.temperature = classifier.temperature, 1.0
        raw = classifier.predict_many(faces)
        suffix = "" if mode == "fast" else f"_{mode}"
        confusion, diagram = args.out / f"confusion_matrix{suffix}.png", args.out / f"reliability{suffix}.png"
        confusion_figure(labels, scaled, confusion, mode)
        reliability_figure(labels, raw, scaled, temperature, diagram, mode)
        print(f"wrote {confusion} and {diagram}")
