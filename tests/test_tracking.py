from fer.results import FaceResult
from fer.tracking import Tracker, iou


def faces(*boxes):
    return [FaceResult(b) for b in boxes]


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
    assert abs(iou((0, 0, 10, 10), (5, 0, 10, 10)) - 50 / 150) < 1e-9


def test_a_moving_face_keeps_its_id_and_a_second_face_gets_another():
    tracker = Tracker(min_hits=1, box_smoothing=0)
    assert [t.id for t in tracker.update(faces((100, 100, 80, 80)))] == [1]
    shown = tracker.update(faces((110, 104, 80, 80), (400, 100, 60, 60)))
    assert [(t.id, t.box) for t in shown] == [(1, (110, 104, 80, 80)), (2, (400, 100, 60, 60))]


def test_a_one_off_detection_is_never_shown():
    tracker = Tracker(min_hits=2)
    assert tracker.update(faces((0, 0, 50, 50))) == []
    assert tracker.update(faces()) == [] and tracker.tracks == []
    tracker.update(faces((200, 200, 50, 50)))
    assert [t.id for t in tracker.update(faces((202, 200, 50, 50)))] == [1]  # confirmed: numbered from 1


def test_a_face_missed_for_a_moment_keeps_its_box_then_goes():
    tracker = Tracker(min_hits=1, max_missed=2)
    tracker.update(faces((10, 10, 40, 40)))
    assert [t.box for t in tracker.update(faces())] == [(10, 10, 40, 40)]
    assert [t.id for t in tracker.update(faces((12, 10, 40, 40)))] == [1]
    tracker.update(faces()), tracker.update(faces())
    assert tracker.update(faces()) == []


def test_box_smoothing_steadies_the_box():
    tracker = Tracker(min_hits=1, box_smoothing=0.5)
    tracker.update(faces((100, 100, 80, 80)))
    assert tracker.update(faces((120, 100, 80, 80)))[0].box == (110, 100, 80, 80)


def test_ids_stay_small_one_person_in_view_is_face_1():
    tracker = Tracker(min_hits=1, max_missed=0)
    for x in (10, 300, 10, 300):  # the person jumps across the frame: a new track each time, never "face 4"
        assert [t.id for t in tracker.update(faces((x, 10, 40, 40)))] == [1]
    assert [t.id for t in tracker.update(faces((300, 10, 40, 40), (10, 10, 40, 40)))] == [1, 2]


def test_a_detection_the_detector_is_sure_of_counts_at_once():
    tracker = Tracker(min_hits=2, sure_score=0.75)
    shown = tracker.update([FaceResult((0, 0, 50, 50), 0.9), FaceResult((100, 0, 50, 50), 0.5)])
    assert [t.box for t in shown] == [(0, 0, 50, 50)]  # the doubtful one waits for a second detection
