"""tools/resting_face.py drives the live page's resting-face calibration as the page does: frames on their
own clock, the largest face recorded while Calibrate runs, that recording's correction applied after."""

import numpy as np
import pytest

from fer.calibration import apply_weights, resting_weights
from fer.pipeline import Analyzer
from tools.resting_face import RECORD_S, largest, segment_labels, session_frames, shown


@pytest.fixture(scope="module")
def runs(samples):
    frames, segments = session_frames(samples, ["faceapi_angry.jpg", "faceapi_neutral.jpg"], each_s=1.0)
    analyzer = Analyzer.default()
    return frames, segments, shown(analyzer, frames), shown(analyzer, frames, press=0.0)


def test_the_recorded_resting_face_corrects_the_frames_after_it(runs):
    frames, _, plain, fixed = runs
    times = [t for t, _ in frames]
    end = next(i for i, t in enumerate(times) if t >= RECORD_S)  # the last frame recorded, the first corrected
    # A frame the page's 30 frames/s bound refused shows the faces before it again (the same tuple): not recorded.
    analysed = [f for i, f in enumerate(plain[: end + 1]) if i == 0 or f is not plain[i - 1]]
    recorded = [largest(f).probabilities for f in analysed if f]
    assert len(recorded) > 60  # her face was seen through most of the 3 s
    weights = resting_weights(np.mean(recorded, axis=0))
    for before, after in zip(plain[:end], fixed[:end]):  # nothing changes while it records
        assert [str(f.probabilities) for f in before] == [str(f.probabilities) for f in after]
    corrected = [(largest(a).probabilities, largest(b).probabilities) for a, b in zip(plain[end:], fixed[end:]) if a]
    assert corrected
    for p, q in corrected:
        np.testing.assert_allclose(q, apply_weights(p, weights), atol=1e-5)
    assert max(np.abs(p - q).max() for p, q in corrected) > 0.05  # her resting face does not read as the average one


def test_her_neutral_face_stays_neutral_after_calibrating_on_it(runs):
    frames, segments, plain, fixed = runs
    assert [s[0] for s in segments] == ["angry", "neutral"]
    assert segment_labels(frames, fixed, segments)[1] == "neutral"
    assert segment_labels(frames, plain, segments)[0] == segment_labels(frames, fixed, segments)[0] == "angry"
