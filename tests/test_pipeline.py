import numpy as np
import pytest

from fer.emotions import EMOTIONS
from fer.imageio import load_image
from fer.pipeline import Analyzer, FrameResult, analyze


def test_no_face_gives_empty_result():
    result = analyze(np.full((240, 320, 3), 90, np.uint8))
    assert result == FrameResult(320, 240, ())
    assert result.to_dict() == {"width": 320, "height": 240, "faces": []}


def test_shared_analyzer_is_created_once():
    assert Analyzer.default() is Analyzer.default()
    with pytest.raises(ValueError):
        Analyzer.default("nonsense")


def test_smile_reads_as_happy_in_any_colour_layout(samples):
    rgb = load_image(samples / "faceapi_happy.jpg")
    for image in (rgb, load_image(samples / "faceapi_happy.jpg", mode="L"), np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])):
        result = analyze(image)
        assert len(result.faces) == 1
        face = result.faces[0]
        assert face.label == "happy" and face.confidence > 0.5
        assert list(face.probabilities) == list(EMOTIONS)
        assert sum(face.probabilities.values()) == pytest.approx(1.0, abs=1e-4)


def test_two_people_each_get_a_box_inside_the_image(samples):
    result = analyze(load_image(samples / "facerec_two_people.jpg"))
    assert (result.width, result.height) == (1126, 661)
    assert len(result.faces) == 2
    for face in result.faces:
        x, y, w, h = face.box
        assert 0 <= x and 0 <= y and x + w <= result.width and y + h <= result.height and w > 50
    d = result.to_dict()
    assert set(d["faces"][0]) == {"box", "label", "probabilities"}


def test_expressions_of_the_sample_photos(samples):
    """The clear, posed expressions of the sample photos; a regression canary for the model."""
    expected = {
        "faceapi_happy.jpg": "happy",
        "faceapi_surprised.jpg": "surprise",
        "faceapi_neutral.jpg": "neutral",
        "wujie_angry_man.jpg": "angry",
    }
    got = {name: analyze(load_image(samples / name)).faces[0].label for name in expected}
    assert got == expected
