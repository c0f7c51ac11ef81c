import numpy as np
import pytest

from fer.faces import AgreedDetector, BlazeFaceDetector, HaarDetector, suppress_duplicates
from fer.results import FaceResult
from fer.imageio import load_image
from fer.preprocess import to_gray

from .conftest import SAMPLE_FACES


DETECTORS = {"haar": HaarDetector, "blazeface": BlazeFaceDetector, "photo (agreed)": AgreedDetector}


@pytest.fixture(scope="module", params=sorted(DETECTORS))
def detector(request):
    """Each detector: the Haar cascade, the streams' BlazeFace, and the photo detector (both, agreeing)."""
    return DETECTORS[request.param]()


@pytest.mark.parametrize("name", sorted(SAMPLE_FACES))
def test_every_face_of_the_sample_photos_found_once(samples, detector, name):
    found = detector(to_gray(load_image(samples / name)))
    assert len(found) == SAMPLE_FACES[name]


def _tile(gray: np.ndarray, side: int) -> np.ndarray:
    import cv2

    scale = side / max(gray.shape)
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    tile = np.full((side, side), 200, np.uint8)
    tile[: small.shape[0], : small.shape[1]] = small
    return tile


def _grid(tiles: list[np.ndarray], columns: int) -> np.ndarray:
    blank = np.full_like(tiles[0], 200)
    tiles = tiles + [blank] * (-len(tiles) % columns)
    return np.vstack([np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)])


def test_collage_of_seven_faces(samples, detector):
    """A group-photo stand-in: the seven one-face photos side by side, each face found once."""
    names = sorted(n for n in SAMPLE_FACES if n.startswith("faceapi_"))
    collage = _grid([_tile(to_gray(load_image(samples / n)), 240) for n in names], 4)
    found = detector(collage)
    assert len(found) == 7
    # one box per tile
    assert sorted((d.box[1] // 240, d.box[0] // 240) for d in found) == [(r, c) for r in range(2) for c in range(4)][:7]


def test_small_faces_in_a_large_group_photo(samples):
    """All 11 sample faces, small, in one 2560x2560 picture: found without duplicates or extras by the
    photo detector (BlazeFace alone found 5: it sees 192 pixels and is for webcam frames)."""
    import cv2

    detector = AgreedDetector()
    grid = _grid([_tile(to_gray(load_image(samples / n)), 160) for n in sorted(SAMPLE_FACES)], 4)
    found = detector(cv2.resize(grid, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC))
    assert 10 <= len(found) <= 11
    assert len({(d.box[1] // 640, d.box[0] // 640) for d in found}) >= 9  # spread over the tiles


def test_no_face_in_noise_or_flat_images(detector):
    rng = np.random.default_rng(0)
    assert detector(rng.integers(0, 256, (480, 640), dtype=np.uint8)) == []
    assert detector(np.full((480, 640), 128, np.uint8)) == []
    assert detector(np.zeros((1, 1), np.uint8)) == []


def test_boxes_are_in_input_coordinates_for_large_images(samples, detector):
    import cv2

    gray = to_gray(load_image(samples / "faceapi_happy.jpg"))
    small = detector(gray)[0].box
    big = detector(cv2.resize(gray, None, fx=4, fy=4))[0].box  # detected on a 640-wide copy
    assert all(abs(b - 4 * s) <= 0.15 * 4 * small[2] for s, b in zip(small, big))


def test_suppress_duplicates_keeps_the_strongest_of_nested_boxes():
    outer = FaceResult((0, 0, 100, 100), 5.0)
    inner = FaceResult((10, 10, 60, 60), 2.0)
    apart = FaceResult((200, 0, 100, 100), 1.0)
    assert suppress_duplicates([inner, outer, apart]) == [outer, apart]


def test_blazeface_boxes_frame_faces_like_haar_boxes(samples):
    """The crop margin was chosen for Haar's framing: BlazeFace's boxes are mapped onto it."""
    from fer.tracking import iou

    haar, blaze = HaarDetector(), BlazeFaceDetector()
    overlaps = []
    for name in sorted(SAMPLE_FACES):
        gray = to_gray(load_image(samples / name))
        for h, b in zip(haar(gray), blaze(gray)):
            overlaps.append(iou(h.box, b.box))
    assert len(overlaps) == sum(SAMPLE_FACES.values())
    assert min(overlaps) > 0.6 and np.median(overlaps) > 0.8, overlaps


def test_blazeface_finds_turned_faces_that_the_frontal_cascade_misses(samples):
    """The Hamilton clip: a singer behind a microphone and an audience in three-quarter view."""
    import av

    blaze = BlazeFaceDetector()
    haar = HaarDetector(scale_factor=1.1, min_neighbors=4, min_face=0.03, work_width=960)  # the old video settings
    found = {"blaze": 0, "haar": 0}
    with av.open(str(samples / "facerec_short_hamilton_clip.mp4")) as video:
        for i, frame in enumerate(video.decode(video=0)):
            if i % 10 == 0:
                gray = to_gray(frame.to_ndarray(format="rgb24"))
                found["blaze"] += len(blaze(gray))
                found["haar"] += len(haar(gray))
    assert found["blaze"] >= 1.5 * found["haar"], found  # measured 42 against 24


def test_the_photo_detector_drops_what_blazeface_does_not_call_a_face(samples):
    """A cascade box on a hand or a pattern is dropped: here a stand-in cascade that reports the real face
    and a box on the background; the agreeing detector keeps the face, with BlazeFace's score and keypoints."""
    gray = to_gray(load_image(samples / "faceapi_happy.jpg"))
    face = HaarDetector()(gray)[0]
    background = FaceResult((0, 0, 60, 60), 40.0)
    found = AgreedDetector(haar=lambda g: [background, face])(gray)
    assert [f.box for f in found] == [face.box]
    assert 0.5 < found[0].score <= 1 and len(found[0].keypoints) == 6
