"""Stream analysis on real frames: tracking, smoothing, the live session's figures and settings."""

import threading
from collections import Counter

import av
import numpy as np
import pytest

from fer.emotions import EMOTIONS
from fer.pipeline import Analyzer, stream_detector
from fer.stream import LiveSession, LiveSettings

from .conftest import FPS, face_clip, faceless_clip

UNCAPPED = float("inf")  # frames as fast as the CPU goes, all analysed


@pytest.fixture(scope="module")
def analyzer():
    return Analyzer.default()


@pytest.fixture(scope="module")
def happy_clip(samples):
    return face_clip(samples / "faceapi_happy.jpg", seconds=2.0)


class CountingDetector:
    """The real video detector, counting how often it runs."""

    def __init__(self):
        self.detector, self.calls = stream_detector(), 0

    def __call__(self, gray):
        self.calls += 1
        return self.detector(gray)


def test_a_moving_face_is_one_track_with_one_label(analyzer, happy_clip):
    detector = CountingDetector()
    analyze = analyzer.for_stream(detector, detect_every=3)
    results = [analyze(frame, i / FPS) for i, frame in enumerate(happy_clip)]
    assert detector.calls == len(happy_clip) // 3
    shown = [r.faces for r in results[3:]]  # a new face is shown once a second detection confirms it
    assert all(len(faces) == 1 for faces in shown)
    assert {faces[0].track_id for faces in shown} == {1}
    assert {faces[0].label for faces in shown} == {"happy"}
    for faces in shown:
        assert faces[0].probabilities.shape == (7,) and abs(faces[0].probabilities.sum() - 1) < 1e-4
        assert faces[0].score > 0.4 and len(faces[0].keypoints) == 6  # the detector's score and keypoints travel along


def test_smoothing_stops_labels_flickering_on_a_real_video(analyzer, samples):
    with av.open(str(samples / "facerec_short_hamilton_clip.mp4")) as video:
        frames = [(f.to_ndarray(format="rgb24"), float(f.time)) for f in video.decode(video=0)]

    def label_changes(smoothing_s: float) -> int:
        analyze, labels = analyzer.for_stream(stream_detector(), smoothing_s=smoothing_s), {}
        for image, t in frames:
            for face in analyze(image, t).faces:
                labels.setdefault(face.track_id, []).append(face.label)
        return sum(sum(a != b for a, b in zip(seq, seq[1:])) for seq in labels.values())

    raw, smoothed = label_changes(0.0), label_changes(0.5)
    assert smoothed <= raw / 2, (raw, smoothed)  # measured 20 -> 9 over 161 frame pairs


def test_live_session_figures_and_restart(analyzer, happy_clip):
    live = LiveSession(analyzer, max_fps=UNCAPPED)
    for frame in happy_clip[:30]:
        out = live.process(frame)
        assert out.shape == frame.shape and out.dtype == np.uint8
    snap = live.snapshot()
    assert snap.frames == 30 and snap.fps > 0 and snap.ms_per_frame > 0
    assert [f.label for f in snap.result.faces] == ["happy"]
    assert snap.timeline and snap.timeline_csv.startswith("t,frames,faces")
    live.start()
    snap = live.snapshot()
    assert snap.frames == 0 and snap.timeline == [] and snap.result is None


def test_live_settings_take_effect(analyzer):
    frame = faceless_clip(seconds=0.1)[0]
    live = LiveSession(analyzer, LiveSettings(mirror=False, show_probabilities=False), max_fps=UNCAPPED)
    plain = live.process(frame)
    assert np.array_equal(plain, frame)  # no face: nothing drawn, not mirrored
    live.configure(LiveSettings(mirror=True, show_probabilities=False, sensitivity="high", smoothing_s=0.0))
    assert np.array_equal(live.process(frame), frame[:, ::-1])
    assert live.settings.sensitivity == "high"


def test_frames_without_faces(analyzer):
    live = LiveSession(analyzer, max_fps=UNCAPPED)
    for frame in faceless_clip(seconds=0.5):
        live.process(frame)
    snap = live.snapshot()
    assert snap.result.faces == () and snap.timeline[0]["faces"] == 0


def test_sessions_in_parallel_threads_share_one_classifier(analyzer, happy_clip):
    """Several viewers at once: each session in its own thread, the classifier shared, same answers."""
    alone = LiveSession(analyzer, max_fps=UNCAPPED)
    for frame in happy_clip:
        alone.process(frame)
    expected = alone.snapshot().result.faces[0].probabilities

    sessions = [LiveSession(analyzer, max_fps=UNCAPPED) for _ in range(4)]
    errors = []

    def run(session):
        try:
            for frame in happy_clip:
                session.process(frame)
                session.snapshot()
        except Exception as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for session in sessions:
        got = session.snapshot().result.faces[0].probabilities
        assert abs(got - expected).max() < 0.05  # time-based smoothing windows differ slightly


def test_frame_rate_is_bounded_per_session(analyzer, happy_clip):
    live = LiveSession(analyzer, LiveSettings(mirror=False), max_fps=5)
    for frame in happy_clip[:20]:  # as fast as the CPU goes: far above 5 fps
        out = live.process(frame)
    snap = live.snapshot()
    assert snap.capped and snap.frames < 20
    assert out.shape == happy_clip[0].shape


def test_calibrating_to_a_resting_face_corrects_that_persons_labels(analyzer, samples):
    """Measured on the face-api sample photos (one person), the GPU-trained network (2026-12-04), each reading
    the mean over a half-second clip: after recording her neutral face as her resting face, it reads closer
    to what neutral faces read on average (RESTING_TARGET), her clear expressions (87-91% before) keep their
    labels, her sad face, read fear 40% / sad 27% before, reads sad (49%), and forgetting it gives back the
    uncorrected readings. Her fearful face (fear 74%, angry 17% before) is not among the clear ones: her
    resting face reads angry at 3% against 9% for neutral faces on average, so the correction lifts angry
    about 3x and that face reads angry 48% / fear 44% after it. (The fast-sgd network kept it fearful; a prior
    shift helps the faces the person's resting face explains and can tip one that was already torn.) Memory
    only: forgotten on request."""
    from fer.calibration import RESTING_TARGET

    live = LiveSession(analyzer, LiveSettings(mirror=False, smoothing_s=0.0), max_fps=UNCAPPED)
    clear = {"faceapi_happy.jpg": "happy", "faceapi_angry.jpg": "angry", "faceapi_surprised.jpg": "surprise"}

    def probabilities(name: str) -> np.ndarray:  # the mean over a half-second clip: one frame is noisy
        live.start()
        readings = []
        for frame in face_clip(samples / name, 0.5):
            live.process(frame)
            face = live.snapshot().result.faces[0]
            readings.append([face.probability(e) for e in EMOTIONS])
        return np.mean(readings, axis=0)

    before = {name: probabilities(name) for name in [*clear, "faceapi_neutral.jpg", "faceapi_sad.jpg"]}
    assert live.snapshot().resting == "off"
    live.calibrate_resting(seconds=0.0)  # the next frames with a face are the resting face
    assert live.snapshot().resting == "recording"
    for frame in face_clip(samples / "faceapi_neutral.jpg", 0.3):
        live.process(frame)
    assert live.snapshot().resting == "on"
    after = {name: probabilities(name) for name in before}
    assert all(EMOTIONS[after[name].argmax()] == label for name, label in clear.items()), after
    distance = {k: np.abs(v["faceapi_neutral.jpg"] - RESTING_TARGET).sum() for k, v in (("before", before), ("after", after))}
    assert distance["after"] < distance["before"], distance
    sad = EMOTIONS.index("sad")
    assert EMOTIONS[after["faceapi_sad.jpg"].argmax()] == "sad" and after["faceapi_sad.jpg"][sad] > before["faceapi_sad.jpg"][sad] + 0.1, after
    live.forget_resting()
    assert live.snapshot().resting == "off" and np.allclose(probabilities("faceapi_sad.jpg"), before["faceapi_sad.jpg"], atol=1e-5)


def test_a_resting_face_far_from_neutral_is_corrected_wherever_it_is_seen(analyzer, samples, monkeypatch):
    """Her sad photo reads fear, neutral at about 4%, and each view of it as it drifts across the picture
    reads a little differently. Recorded for 3 s as her resting face, it reads neutral on nearly every frame
    after (a correction clipped at 5x, not 10x, got 58% of them: the live page then showed sad half the time)."""
    from types import SimpleNamespace

    from fer import stream

    clock = [0.0]  # a 30 fps webcam, however long the analysis takes here
    monkeypatch.setattr(stream, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    live = LiveSession(analyzer, LiveSettings(mirror=False, smoothing_s=0.0), max_fps=UNCAPPED)
    live.start()
    frames = face_clip(samples / "faceapi_sad.jpg")  # 4 s, to and fro

    def labels() -> list[str]:
        shown = []
        for frame in frames:
            clock[0] += 1 / FPS
            live.process(frame)
            shown += [f.label for f in live.snapshot().result.faces]
        return shown

    assert labels().count("fear") > 0.9 * len(frames)
    live.calibrate_resting(seconds=3.0)
    labels()
    assert live.snapshot().resting == "on"
    after = labels()
    assert len(after) >= len(frames) - 2 and after.count("neutral") > 0.9 * len(after), Counter(after)


def test_the_resting_face_correction_is_that_persons_only(analyzer, samples):
    """Two people in view: the one calibrated (the larger face, at the camera) is corrected, the other one
    not, frame for frame the same as without calibration."""
    import cv2

    from fer.imageio import load_image

    def person(name: str, height: int) -> np.ndarray:
        image = load_image((samples / name).read_bytes())
        side = min(image.shape[:2])  # the middle square: the face and a little around it
        top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
        return cv2.resize(image[top : top + side, left : left + side], (height, height), interpolation=cv2.INTER_AREA)

    def scene(left: str | None) -> np.ndarray:  # the viewer on the left, large; someone behind, smaller, on the right
        canvas = np.full((480, 640, 3), 70, np.uint8)
        far = person("faceapi_sad.jpg", 200)
        canvas[140 : 140 + far.shape[0], 630 - far.shape[1] : 630] = far
        if left:
            near = person(left, 320)
            canvas[80 : 80 + near.shape[0], 10 : 10 + near.shape[1]] = near
        return canvas

    def faces(live: LiveSession, name: str | None) -> dict[str, np.ndarray]:
        for _ in range(6):
            live.process(scene(name))
        return {("near" if f.box[0] < 320 else "far"): f.probabilities for f in live.snapshot().result.faces}

    plain, calibrated = (LiveSession(analyzer, LiveSettings(mirror=False, smoothing_s=0.0), max_fps=UNCAPPED) for _ in range(2))
    calibrated.calibrate_resting(seconds=0.0)
    assert set(faces(calibrated, "faceapi_neutral.jpg")) == {"near", "far"} and calibrated.snapshot().resting == "on"
    faces(plain, "faceapi_neutral.jpg")
    before, after = faces(plain, "faceapi_angry.jpg"), faces(calibrated, "faceapi_angry.jpg")
    assert np.allclose(before["far"], after["far"])  # the other person: untouched
    assert not np.allclose(before["near"], after["near"], atol=1e-3)  # the viewer: corrected
    # The viewer leaves: the face left in view is someone else, elsewhere, and stays uncorrected
    assert np.allclose(faces(plain, None)["far"], faces(calibrated, None)["far"])
