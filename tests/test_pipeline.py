import numpy as np
import pytest

from fer.emotions import EMOTIONS
from fer.imageio import load_image
from fer.pipeline import Analyzer, analyze


def test_no_face_gives_empty_result():
    result = analyze(np.full((240, 320, 3), 90, np.uint8))
    assert (result.width, result.height, result.faces) == (320, 240, ())
    assert result.probabilities.shape == (0, 7)
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
        assert face.probabilities.shape == (len(EMOTIONS),) and face.score > 0
        assert float(face.probabilities.sum()) == pytest.approx(1.0, abs=1e-4)
        assert list(face.to_dict()["probabilities"]) == list(EMOTIONS)


def test_two_people_each_get_a_box_inside_the_image(samples):
    result = analyze(load_image(samples / "facerec_two_people.jpg"))
    assert (result.width, result.height) == (1126, 661)
    assert len(result.faces) == 2
    for face in result.faces:
        x, y, w, h = face.box
        assert 0 <= x and 0 <= y and x + w <= result.width and y + h <= result.height and w > 50
    d = result.to_dict()
    assert set(d["faces"][0]) == {"box", "score", "label", "probabilities"}


# The nine sample photos with a posed, named expression. Measured with the GPU-trained, taught network
# (2026-12-04): the fast mode gets 7 right (it calls the disgusted face angry, 28% against neutral's 27%, and
# the sad one fearful, 43% against sad's 15%), the accurate mode 8 (the sad face fearful); the fast-sgd network
# before it got 6 and 8. Nine photos are a canary, not a benchmark: PublicTest (3,589 faces) decides, and the
# clearest three must always be right.
LABELLED_PHOTOS = {
    "faceapi_angry.jpg": "angry",
    "faceapi_disgusted.jpg": "disgust",
    "faceapi_fearful.jpg": "fear",
    "faceapi_happy.jpg": "happy",
    "faceapi_neutral.jpg": "neutral",
    "faceapi_sad.jpg": "sad",
    "faceapi_surprised.jpg": "surprise",
    "wujie_angry_man.jpg": "angry",
    "wujie_crying_woman.jpg": "sad",
}


@pytest.mark.parametrize("mode, at_least", [("fast", 7), ("accurate", 8)])
def test_expressions_of_the_sample_photos(samples, mode, at_least):
    """A regression canary for the model on real photos outside FER2013."""
    got = {name: analyze(load_image(samples / name), mode).faces[0].label for name in LABELLED_PHOTOS}
    right = [name for name, label in LABELLED_PHOTOS.items() if got[name] == label]
    assert len(right) >= at_least, got
    assert {"faceapi_happy.jpg", "faceapi_surprised.jpg", "wujie_angry_man.jpg"} <= set(right), got
