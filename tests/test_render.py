import numpy as np

from fer.emotions import COLORS, EMOTIONS
from fer.results import FaceResult, FrameResult
from fer.render import draw


def _result(label="happy"):
    probs = np.array([0.9 if e == label else 0.1 / 6 for e in EMOTIONS])
    return FrameResult(200, 100, (FaceResult((50, 30, 40, 40), 0.9, probabilities=probs),))


def test_draw_boxes_face_in_its_colour_without_touching_input():
    image = np.zeros((100, 200, 3), np.uint8)
    out = draw(image, _result())
    assert out.shape == image.shape and image.max() == 0
    assert tuple(out[50, 50]) == COLORS["happy"]  # left edge of the box
    assert out[:, 150:].max() == 0  # nothing drawn far from the face


def test_draw_accepts_grey_and_rgba():
    assert draw(np.zeros((100, 200), np.uint8), _result("sad")).shape == (100, 200, 3)
    assert draw(np.zeros((100, 200, 4), np.uint8), _result("sad")).shape == (100, 200, 3)


def test_label_at_top_edge_goes_below_the_box():
    probs = np.full(len(EMOTIONS), 1 / 7)
    out = draw(np.zeros((100, 200, 3), np.uint8), FrameResult(200, 100, (FaceResult((50, 0, 40, 40), probabilities=probs),)))
    assert out[45:55, 55:80].max() > 0
