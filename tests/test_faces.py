import numpy as np
import pytest

from fer.faces import Detection, HaarDetector, suppress_duplicates
from fer.imageio import load_image
from fer.preprocess import to_gray

from .conftest import SAMPLE_FACES


@pytest.fixture(scope="module")
def detector():
    return HaarDetector()


@pytest.mark.parametrize("name", sorted(SAMPLE_FACES))
def test_every_face_of_the_sample_photos_found_once(samples, detector, name):
    found = detector(to_gray(load_image(samples / name)))
    assert len(found) == SAMPLE_FACES[name]


def test_collage_of_seven_faces(samples, detector):
    """A group-photo stand-in: the seven one-face photos side by side, each face found once."""
    import cv2

    tiles = []
    for name in sorted(n for n in SAMPLE_FACES if n.startswith("faceapi_")):
        gray = to_gray(load_image(samples / name))
        scale = 240 / max(gray.shape)
        tile = np.full((240, 240), 200, np.uint8)
        small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        tile[: small.shape[0], : small.shape[1]] = small
        tiles.append(tile)
    tiles.append(np.full((240, 240), 200, np.uint8))
    collage = np.vstack([np.hstack(tiles[:4]), np.hstack(tiles[4:])])
    found = detector(collage)
    assert len(found) == 7
    # one box per tile
    assert sorted((d.box[1] // 240, d.box[0] // 240) for d in found) == [(r, c) for r in range(2) for c in range(4)][:7]


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
    outer = Detection((0, 0, 100, 100), 5.0)
    inner = Detection((10, 10, 60, 60), 2.0)
    apart = Detection((200, 0, 100, 100), 1.0)
    assert suppress_duplicates([inner, outer, apart]) == [outer, apart]
