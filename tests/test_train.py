"""`python -m fer train` end to end on a tiny generated dataset: trains, exports, resumes."""

import json

import numpy as np

from fer.classifier import EmotionClassifier

from .conftest import run_cli
from .test_data import write_fer_csv


def test_train_exports_a_working_model_and_resumes(tmp_path):
    rng = np.random.default_rng(0)
    rows = [(i % 7, rng.integers(0, 256, (48, 48), dtype=np.uint8), "Training") for i in range(48)]
    rows += [(i % 7, rng.integers(0, 256, (48, 48), dtype=np.uint8), "PublicTest") for i in range(14)]
    data = write_fer_csv(tmp_path / "tiny.csv.gz", rows)
    args = ["train", "--data", str(data), "--out", str(tmp_path / "out"), "--checkpoints", str(tmp_path / "ck")]
    args += ["--widths", "4", "8", "--convs", "1", "1", "--batch-size", "16"]

    first = run_cli(*args, "--epochs", "1")
    assert first.returncode == 0, first.stderr[-2000:]
    summary = json.loads(first.stdout[first.stdout.index("{") :])
    assert summary["train_rows"] == 48 and summary["config"]["epochs"] == 1
    probs = EmotionClassifier(tmp_path / "out" / "fer_cnn.tflite")(rows[0][1][None])
    assert probs.shape == (1, 7) and abs(probs.sum() - 1) < 1e-5

    # Asking for more epochs with the same checkpoints continues the run instead of starting again.
    second = run_cli(*args, "--epochs", "2")
    assert second.returncode == 0, second.stderr[-2000:]
    epochs_logged = (tmp_path / "ck" / "history.csv").read_text().strip().splitlines()[1:]
    assert [line.split(",")[0] for line in epochs_logged] == ["0", "1"]
