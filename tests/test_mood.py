import numpy as np
import pytest

from fer.emotions import EMOTIONS
from fer.mood import Timeline

HAPPY = np.eye(7)[EMOTIONS.index("happy")] * 0.8 + 0.2 / 7
SAD = np.eye(7)[EMOTIONS.index("sad")] * 0.6 + 0.4 / 7


def test_frames_become_one_row_per_bucket():
    timeline = Timeline(bucket_s=1.0)
    timeline.add(0.1, np.array([HAPPY, SAD]))
    timeline.add(0.5, np.array([HAPPY]))
    timeline.add(0.9, np.empty((0, 7)))
    timeline.add(2.2, np.array([SAD]))
    rows = timeline.rows()
    assert [r["t"] for r in rows] == [0.0, 2.0]  # no frame in second 1: no row
    first = rows[0]
    assert first["frames"] == 3 and first["faces"] == 2
    assert first["distribution"]["happy"] == round(2 / 3, 4) and first["distribution"]["sad"] == round(1 / 3, 4)
    assert abs(sum(first["mean_probability"].values()) - 1) < 1e-3
    assert abs(first["mean_probability"]["happy"] - (2 * HAPPY[3] + SAD[3]) / 3) < 1e-4
    assert rows[1]["distribution"]["sad"] == 1.0


def test_csv_has_a_header_and_a_line_per_bucket():
    timeline = Timeline(bucket_s=5)
    for t in range(12):
        timeline.add(t, np.array([HAPPY]))
    lines = timeline.to_csv().splitlines()
    assert lines[0].split(",")[:4] == ["t", "frames", "faces", "angry"] and len(lines[0].split(",")) == 3 + 14
    assert [line.split(",")[:3] for line in lines[1:]] == [["0.0", "5", "1"], ["5.0", "5", "1"], ["10.0", "2", "1"]]


def test_a_frame_without_faces_counts_as_a_frame_only():
    timeline = Timeline()
    timeline.add(0.0, np.empty((0, 7)))
    (row,) = timeline.rows()
    assert row["frames"] == 1 and row["faces"] == 0 and set(row["distribution"].values()) == {0.0}


def _row(t, faces, counts, streams=1):
    n = sum(counts.values())
    return {
        "t": t,
        "streams": streams,
        "faces": faces,
        "observations": n,
        "counts": {e: counts.get(e, 0) for e in EMOTIONS},
        "distribution": {e: counts.get(e, 0) / n for e in EMOTIONS},
    }


def test_valence_groups_the_seven_shares():
    from fer.mood import valence

    v = valence({"happy": 0.5, "sad": 0.2, "angry": 0.1, "neutral": 0.1, "surprise": 0.1, "fear": 0, "disgust": 0})
    assert v == {"positive": 0.5, "neutral": 0.2, "negative": 0.3}


def test_negative_alert_needs_the_whole_duration_and_enough_faces():
    from fer.mood import negative_streak

    sad = [_row(t, 4, {"sad": 3, "happy": 1}) for t in range(0, 30, 5)]
    assert negative_streak(sad, 0.5, 30, 5, 3)
    assert not negative_streak(sad[1:], 0.5, 30, 5, 3)  # only 25 s
    assert not negative_streak(sad[:3] + [_row(15, 4, {"happy": 4})] + sad[4:], 0.5, 30, 5, 3)
    assert not negative_streak(sad[:2] + sad[3:], 0.5, 25, 5, 3)  # a gap breaks the streak
    assert not negative_streak([r | {"faces": 2} for r in sad], 0.5, 30, 5, 3)  # too few faces to say


def test_session_report_and_csv():
    from fer.mood import rows_to_csv, session_report

    rows = [_row(0, 3, {"happy": 3}, streams=3), _row(5, 2, {"sad": 2}, streams=2), _row(10, 4, {"sad": 4}, streams=4)]
    report = session_report(rows, min_faces=3)
    assert report["buckets"] == 3 and report["buckets_shown"] == 2 and report["peak_participants"] == 4
    assert report["distribution"]["happy"] == round(3 / 7, 4) and report["distribution"]["sad"] == round(4 / 7, 4)
    lines = rows_to_csv(rows).splitlines()
    assert lines[0].startswith("t,streams,faces,observations,n_angry") and "angry" in lines[0].split(",")
    assert len(lines) == 4


def test_alert_history_starts_when_the_streak_is_complete_and_clears_when_the_mood_recovers():
    from fer.mood import alert_periods

    sad = {"sad": 3, "happy": 1}
    rows = [_row(t, 4, sad) for t in range(0, 40, 5)] + [_row(40, 4, {"happy": 4})] + [_row(t, 4, sad) for t in range(45, 80, 5)]
    assert alert_periods(rows, 0.5, 30, 5, 3) == [{"start": 25, "end": 35}, {"start": 70, "end": 75}]
    assert alert_periods(rows[:7], 0.5, 30, 5, 3) == [{"start": 25, "end": 30}]
    assert alert_periods([r | {"faces": 2} for r in rows], 0.5, 30, 5, 3) == []


def test_a_timeline_regrouped_equals_one_built_with_the_longer_step():
    from fer.mood import Timeline

    rng = np.random.default_rng(4)
    fine, coarse = Timeline(1.0), Timeline(5.0)
    for t in np.arange(0, 23, 0.2):
        probs = rng.dirichlet(np.ones(7), size=int(rng.integers(0, 4)))
        fine.add(t, probs)
        coarse.add(t, probs)
    assert fine.regroup(5.0).rows() == coarse.rows()
    assert fine.regroup(1.0).rows() == fine.rows()
    with pytest.raises(ValueError):
        fine.regroup(2.5)
