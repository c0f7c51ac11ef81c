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


def _face(label: str, confidence: float, box=(50, 30, 40, 40)) -> FaceResult:
    probs = np.array([confidence if e == label else (1 - confidence) / 6 for e in EMOTIONS])
    return FaceResult(box, 0.9, probabilities=probs)


def test_the_unsure_threshold_is_where_the_fast_mode_is_right_half_the_time():
    """UNSURE_BELOW is the reliability bin edge (models/fer_cnn.json, fast mode = "mirrored") below which
    every bin's labels were right less than half the time, and above which more than half: recalibrating
    the model shows here when the threshold has to move."""
    import json
    from pathlib import Path

    from fer.render import UNSURE_BELOW

    bins = [b for b in json.loads((Path(__file__).resolve().parent.parent / "models" / "fer_cnn.json").read_text())["mirrored"]["reliability_after"] if b["n"]]
    edge = next(b["low"] for b in bins if b["accuracy"] >= 0.5)
    assert all(b["accuracy"] < 0.5 for b in bins if b["high"] <= edge)
    assert all(b["accuracy"] >= 0.5 for b in bins if b["low"] >= edge)
    assert UNSURE_BELOW == round(edge, 2)


def test_an_unsure_label_is_marked_in_text_and_drawn_with_a_dashed_box():
    from fer.render import UNSURE_BELOW, label_text, unsure

    sure, doubtful = _face("sad", 0.9), _face("sad", UNSURE_BELOW - 0.1)
    assert not unsure(sure) and unsure(doubtful) and not unsure(FaceResult((0, 0, 1, 1)))
    assert label_text(sure) == "sad 90%" and label_text(sure, show_confidence=False) == "sad"
    assert label_text(doubtful) == f"sad? {doubtful.confidence:.0%}" and label_text(doubtful, False) == "sad?"
    blank = np.zeros((100, 200, 3), np.uint8)
    for face, gaps in ((sure, False), (doubtful, True)):
        out = draw(blank, FrameResult(200, 100, (face,)))
        left_edge = [tuple(p) == COLORS["sad"] for p in out[30:71, 50]]
        assert any(left_edge) and (not all(left_edge)) == gaps, face.confidence
    # Unsure or not, the label tag is filled with the emotion's colour (readable at a glance).
    assert (draw(blank, FrameResult(200, 100, (doubtful,)))[10:28, 52:90] == COLORS["sad"]).all(-1).sum() > 100


def test_without_labels_nothing_is_marked():
    out = draw(np.zeros((100, 200, 3), np.uint8), FrameResult(200, 100, (_face("sad", 0.3),)), labels=False)
    assert (out[30:71, 50] == 255).all() and out[:28].max() == 0  # a plain white box, no tag


def test_the_mood_strip_shows_the_shares_in_the_emotions_colours():
    from fer.render import mood_strip

    shares = np.zeros(len(EMOTIONS))
    shares[EMOTIONS.index("happy")], shares[EMOTIONS.index("sad")] = 3, 1  # counts work as well as shares
    strip = mood_strip(200, 10, shares)
    assert strip.shape == (10, 200, 3)
    assert (strip[:, :150] == COLORS["happy"]).all() and (strip[:, 150:] == COLORS["sad"]).all()
    assert (mood_strip(50, 4, None) == 40).all() and (mood_strip(50, 4, np.zeros(7)) == 40).all()
