from fer.tracking import Tracker, iou


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
    assert abs(iou((0, 0, 10, 10), (5, 0, 10, 10)) - 50 / 150) < 1e-9


def test_a_moving_face_keeps_its_id_and_a_second_face_gets_another():
    tracker = Tracker(min_hits=1, box_smoothing=0)
    assert [t.id for t in tracker.update([(100, 100, 80, 80)])] == [1]
    shown = tracker.update([(110, 104, 80, 80), (400, 100, 60, 60)])
    assert [(t.id, t.box) for t in shown] == [(1, (110, 104, 80, 80)), (2, (400, 100, 60, 60))]


def test_a_one_off_detection_is_never_shown():
    tracker = Tracker(min_hits=2)
    assert tracker.update([(0, 0, 50, 50)]) == []
    assert tracker.update([]) == [] and tracker.tracks == []
    tracker.update([(200, 200, 50, 50)])
    assert [t.id for t in tracker.update([(202, 200, 50, 50)])] == [1]  # confirmed: numbered from 1


def test_a_face_missed_for_a_moment_keeps_its_box_then_goes():
    tracker = Tracker(min_hits=1, max_missed=2)
    tracker.update([(10, 10, 40, 40)])
    assert [t.box for t in tracker.update([])] == [(10, 10, 40, 40)]
    assert [t.id for t in tracker.update([(12, 10, 40, 40)])] == [1]
    tracker.update([]), tracker.update([])
    assert tracker.update([]) == []


def test_box_smoothing_steadies_the_box():
    tracker = Tracker(min_hits=1, box_smoothing=0.5)
    tracker.update([(100, 100, 80, 80)])
    assert tracker.update([(120, 100, 80, 80)])[0].box == (110, 100, 80, 80)
