"""tools/compare_models.py, which decides whether a candidate network ships: the shipped fast mode against
its own file (the same classifier twice: no face differs, class by class), and its exact McNemar test."""

import math

from tools.compare_models import main, mcnemar_p, shipping_rule

from .conftest import ROOT


def test_mcnemar_p_is_the_exact_two_sided_binomial_tail():
    assert mcnemar_p(0, 0) == 1.0 and mcnemar_p(5, 5) == 1.0
    assert math.isclose(mcnemar_p(10, 0), 2 / 2**10) and mcnemar_p(10, 0) == mcnemar_p(0, 10)
    assert math.isclose(mcnemar_p(9, 1), 2 * 11 / 2**10)  # 10 faces, 1 or fewer for one side, either side
    assert 0.05 < mcnemar_p(97, 73) < 0.1  # the candidate of the model card's consistent distillation: not proof


def test_a_classifier_against_itself_differs_on_no_face(fer2013_csv, samples, capsys):
    shipped = str(ROOT / "models" / "fer_cnn.tflite")
    assert main([str(fer2013_csv), "fast", shipped, "--samples", str(samples)]) == 0
    lines = capsys.readouterr().out.splitlines()
    fast, same = lines[0].split(": ", 1)[1], lines[1].split(": ", 1)[1]
    assert fast == same and "PublicTest" in fast and "disgust recall" in fast and "/9 (missed:" in fast
    header, fast_recall, same_recall = (line.split() for line in lines[2:5])
    assert header[-7:] == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert fast_recall[0] == "fast" and same_recall[0] == shipped and fast_recall[1:] == same_recall[1:]
    assert len(fast_recall) == 8 and all(value.endswith("%") for value in fast_recall[1:])
    assert lines[5] == f"{shipped} against fast: 0 faces only it gets right, 0 only fast, McNemar p = 1.000"
    assert lines[6].startswith("  the shipping rule: fails (not better face by face at p < 0.05")


def test_the_shipping_rule_needs_significance_in_the_candidates_favour_disgust_and_the_photos():
    assert shipping_rule(174, 223, 0.750, 6, 6) == []  # fast-distil-long's epoch 127 against the fast mode
    assert shipping_rule(75, 90, 0.732, 6, 6) == ["not better face by face at p < 0.05"]  # fast-distil: p = 0.28
    assert shipping_rule(223, 174, 0.750, 6, 6) == ["not better face by face at p < 0.05"]  # significantly worse
    assert shipping_rule(174, 223, 0.536, 6, 6) == ["disgust recall under 55%"]
    assert shipping_rule(174, 223, None, 6, 6) == ["disgust recall under 55%"]  # no disgusted face: no recall
    assert shipping_rule(174, 223, 0.750, 7, 8) == ["7 photos against 8"]  # the accurate mode keeps its 8 of 9
