import numpy as np

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
