import numpy as np
import pytest

from fer.preprocess import SIZE, crop_faces, preprocess, to_gray


def test_to_gray_accepts_grey_rgb_rgba():
    rgb = np.zeros((10, 20, 3), np.uint8)
    rgb[..., 1] = 200
    assert to_gray(rgb).shape == (10, 20)
    assert to_gray(rgb).mean() > 100  # green is bright in luminance
    rgba = np.dstack([rgb, np.zeros((10, 20), np.uint8)])
    assert np.array_equal(to_gray(rgba), to_gray(rgb))  # alpha is ignored
    grey = np.full((10, 20), 7, np.uint8)
    assert to_gray(grey) is grey
    assert to_gray(grey[..., None]).shape == (10, 20)


def test_to_gray_rejects_other_dtypes_and_shapes():
    with pytest.raises(ValueError, match="uint8"):
        to_gray(np.zeros((4, 4), np.uint16))
    with pytest.raises(ValueError, match="shape"):
        to_gray(np.zeros((4, 4, 2), np.uint8))


def test_crop_faces_squares_resizes_and_pads_at_edges():
    gray = np.arange(100 * 200, dtype=np.uint32).reshape(100, 200).astype(np.uint8)
    crops = crop_faces(gray, [(10, 10, 50, 50), (170, 80, 40, 30), (0, 0, 100, 100)])
    assert crops.shape == (3, SIZE, SIZE) and crops.dtype == np.uint8
    assert crop_faces(gray, []).shape == (0, SIZE, SIZE)


def test_crop_faces_takes_the_box_content():
    gray = np.zeros((200, 200), np.uint8)
    gray[50:150, 50:150] = 255  # a bright square "face"
    crop = crop_faces(gray, [(50, 50, 100, 100)], margin=0.0)[0]
    assert crop.min() == 255
    wide = crop_faces(gray, [(50, 50, 100, 100)], margin=0.2)[0]
    assert wide[0, 0] == 0 and wide[SIZE // 2, SIZE // 2] == 255  # the margin shows the surroundings


def test_preprocess_scales_to_unit_range_with_channel():
    faces = np.stack([np.zeros((SIZE, SIZE), np.uint8), np.full((SIZE, SIZE), 255, np.uint8)])
    x = preprocess(faces)
    assert x.shape == (2, SIZE, SIZE, 1) and x.dtype == np.float32
    assert x[0].max() == 0.0 and x[1].min() == 1.0


def test_preprocess_rejects_wrong_sizes():
    with pytest.raises(ValueError):
        preprocess(np.zeros((1, 32, 32), np.uint8))


def test_a_tilted_face_is_levelled_from_its_eye_keypoints():
    import cv2

    from fer.preprocess import crop_faces, eye_tilt

    image = np.full((200, 200), 100, np.uint8)
    cv2.line(image, (60, 100), (140, 100), 255, 3)  # the line through the eyes, level
    turn = cv2.getRotationMatrix2D((100, 100), 20, 1.0)  # turned 20 degrees counter-clockwise
    tilted = cv2.warpAffine(image, turn, (200, 200), borderMode=cv2.BORDER_REPLICATE)
    eyes = cv2.transform(np.array([[[60, 100], [140, 100]]], np.float32), turn)[0]
    tilt = eye_tilt(eyes)
    assert abs(tilt + 20) < 0.5  # the line rises to the right: a negative tilt in image coordinates
    box = (50, 50, 100, 100)
    plain, levelled = crop_faces(tilted, [box], margin=0.0), crop_faces(tilted, [box], margin=0.0, tilts=[tilt])

    def bright_rows(crop):
        return int((crop[0] > 180).any(axis=1).sum())

    assert bright_rows(levelled) <= 4 < bright_rows(plain)  # level again: the line lies on a few rows
    assert np.array_equal(crop_faces(tilted, [box], tilts=[1.0]), crop_faces(tilted, [box]))  # small tilts: untouched
