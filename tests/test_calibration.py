"""Temperature scaling and calibration error on synthetic outputs whose calibration is known."""

import json

import numpy as np
import pytest

from fer.calibration import apply_temperature, expected_calibration_error, fit_temperature, reliability
from fer.classifier import DEFAULT_MODEL, EmotionClassifier, calibration_file, load_temperatures


def _calibrated(n: int = 20000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and labels drawn from those very probabilities: calibrated by construction."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (n, 7))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(7, p=p) for p in probs])
    return probs, labels


def test_calibrated_outputs_have_small_error_and_temperature_one():
    probs, labels = _calibrated()
    assert expected_calibration_error(probs, labels) < 0.015
    assert fit_temperature(probs, labels) == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("temperature", [0.5, 2.0])
def test_the_fit_undoes_a_known_distortion(temperature):
    probs, labels = _calibrated()
    distorted = apply_temperature(probs, 1 / temperature)  # over- or under-confident
    assert expected_calibration_error(distorted, labels) > 0.05
    fitted = fit_temperature(distorted, labels)
    assert fitted == pytest.approx(temperature, rel=0.08)
    assert expected_calibration_error(apply_temperature(distorted, fitted), labels) < 0.015


def test_scaling_keeps_the_label_and_the_sum():
    probs, _ = _calibrated(500)
    for t in (0.3, 1.0, 3.0):
        scaled = apply_temperature(probs, t)
        assert np.allclose(scaled.sum(1), 1, atol=1e-5)
        assert (scaled.argmax(1) == probs.argmax(1)).all()


def test_reliability_bins_count_every_face():
    probs, labels = _calibrated(1000)
    bins = reliability(probs, labels, bins=10)
    assert len(bins) == 10 and sum(b["n"] for b in bins) == 1000
    assert all(b["low"] <= b["confidence"] <= b["high"] for b in bins if b["n"])


def test_the_shipped_model_carries_its_temperatures():
    saved = json.loads(calibration_file(DEFAULT_MODEL).read_text())
    assert "PublicTest" in saved["fitted_on"]
    temperatures = load_temperatures(DEFAULT_MODEL)
    assert set(temperatures) == {"plain", "mirrored", "accurate"}
    assert all(0.5 < t < 2 for t in temperatures.values())
    assert EmotionClassifier(flip=True).temperature == temperatures["mirrored"]


def test_the_resting_face_target_is_what_the_shipped_fast_mode_reads_on_neutral_faces():
    from fer.calibration import RESTING_TARGET

    saved = json.loads(calibration_file(DEFAULT_MODEL).read_text())["mirrored"]["neutral_mean"]
    assert np.allclose(RESTING_TARGET, saved, atol=5e-4), (RESTING_TARGET, saved)


def test_calibrate_fits_and_writes_every_setting_beside_the_model(tmp_path):
    """`fer calibrate` on a small labelled split: a temperature, the figures before and after, reliability bins
    and the mean of the neutral faces for each setting, in the JSON file beside the model it calibrated."""
    from fer.evaluate import calibrate

    from .test_data import write_fer_csv

    rng = np.random.default_rng(4)
    rows = [(i % 7, rng.integers(0, 256, (48, 48), dtype=np.uint8), "PublicTest") for i in range(42)]
    copy = tmp_path / "model.tflite"
    copy.write_bytes(DEFAULT_MODEL.read_bytes())
    summary = calibrate(write_fer_csv(tmp_path / "small.csv.gz", rows), model=copy)
    saved = json.loads(calibration_file(copy).read_text())
    assert saved == json.loads(json.dumps(summary)) and "PublicTest (42 faces)" in saved["fitted_on"]
    assert set(saved["temperature"]) == {"plain", "mirrored", "accurate"}
    for setting, t in saved["temperature"].items():
        assert t > 0 and sum(b["n"] for b in saved[setting]["reliability_after"]) == 42
        assert len(saved[setting]["neutral_mean"]) == 7 and abs(sum(saved[setting]["neutral_mean"]) - 1) < 0.01
    assert EmotionClassifier(copy, flip=True).temperature == saved["temperature"]["mirrored"]


def test_a_model_without_calibration_file_is_left_unscaled(tmp_path):
    copy = tmp_path / "model.tflite"
    copy.write_bytes(DEFAULT_MODEL.read_bytes())
    assert load_temperatures(copy) == {"plain": 1.0, "mirrored": 1.0, "accurate": 1.0}


def test_accurate_views_give_one_distribution_per_face():
    faces = np.random.default_rng(2).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    probs = EmotionClassifier(flip=True, zooms=(1.1, 1.2))(faces)
    assert probs.shape == (3, 7) and np.allclose(probs.sum(1), 1, atol=1e-5)


def test_resting_weights_turn_a_persons_resting_face_into_an_average_neutral_one():
    from fer.calibration import RESTING_LIMITS, RESTING_TARGET, apply_weights, resting_weights

    sad_rest = np.array([0.10, 0.01, 0.09, 0.05, 0.45, 0.03, 0.27])  # a face that rests "sad"
    w = resting_weights(sad_rest)
    assert np.allclose(apply_weights(sad_rest, w), RESTING_TARGET / RESTING_TARGET.sum(), atol=1e-3)
    smile = np.array([0.01, 0.01, 0.02, 0.90, 0.02, 0.02, 0.02])
    assert apply_weights(smile, w).argmax() == 3  # a real smile still reads happy
    extreme = resting_weights(np.array([1e-9, 1, 1, 1, 1, 1, 1]) / 6)  # bounded corrections
    assert extreme.max() == RESTING_LIMITS[1] and extreme.min() >= RESTING_LIMITS[0]
