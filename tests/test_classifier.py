import numpy as np
import pytest

from fer.classifier import DEFAULT_MODEL, EmotionClassifier
from fer.emotions import EMOTIONS


@pytest.fixture(scope="module")
def classifier():
    return EmotionClassifier()


def test_shipped_model_is_in_the_repo():
    assert DEFAULT_MODEL.is_file() and DEFAULT_MODEL.stat().st_size > 100_000


def test_batch_gives_one_distribution_per_face(classifier):
    faces = np.random.default_rng(0).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    probs = classifier(faces)
    assert probs.shape == (5, len(EMOTIONS)) and probs.dtype == np.float32
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5) and (probs >= 0).all()


def test_batch_size_changes_and_order_are_consistent(classifier):
    faces = np.random.default_rng(1).integers(0, 256, (7, 48, 48), dtype=np.uint8)
    together = classifier(faces)
    one_by_one = np.concatenate([classifier(faces[i : i + 1]) for i in range(7)])
    assert np.allclose(together, one_by_one, atol=1e-5)
    assert np.allclose(classifier.predict_many(faces, batch_size=3), together, atol=1e-5)


def test_empty_batch(classifier):
    assert classifier(np.zeros((0, 48, 48), np.uint8)).shape == (0, len(EMOTIONS))


def test_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m fer train"):
        EmotionClassifier(tmp_path / "none.tflite")


def test_flip_averaging_is_mirror_invariant():
    faces = np.random.default_rng(2).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    flipping = EmotionClassifier(flip=True)
    plain = EmotionClassifier()
    flipping.temperature = plain.temperature = 1.0  # raw outputs: each setting has its own temperature
    mirrored = faces[:, :, ::-1]
    assert np.allclose(flipping(faces), flipping(mirrored), atol=1e-5)
    assert np.allclose(flipping(faces), (plain(faces) + plain(mirrored)) / 2, atol=1e-5)
    assert np.allclose(flipping(faces).sum(axis=1), 1.0, atol=1e-5)


def test_shipped_weights_are_int8():
    """The runtime model's weights are quantized to int8 (3.3x the float32 speed): every convolution
    kernel but the first, which the converter keeps in float32 (it skips tensors of fewer than 1,024
    weights; the first kernel has 9 per channel)."""
    from ai_edge_litert.interpreter import Interpreter

    tensors = Interpreter(model_path=str(DEFAULT_MODEL)).get_tensor_details()
    kernels = [t for t in tensors if t["name"].endswith("convolution") and np.prod(t["shape"]) >= 1024]
    assert len(kernels) == 5 and all(t["dtype"] == np.int8 for t in kernels)


def test_an_ensemble_averages_its_members():
    """Two copies of one model average to that model's output; the setting becomes "accurate"."""
    faces = np.random.default_rng(3).integers(0, 256, (4, 48, 48), dtype=np.uint8)
    single, doubled = EmotionClassifier(flip=True), EmotionClassifier(flip=True, members=(DEFAULT_MODEL.name,))
    assert doubled.setting == "accurate" and single.setting == "mirrored"
    single.temperature = doubled.temperature = 1.0
    assert np.allclose(single(faces), doubled(faces), atol=1e-6)


def test_shifted_views_are_the_four_corner_crops_enlarged_back():
    """The accurate mode's views: as is and four corner crops 2 pixels smaller, each mirrored (ten passes of
    each of its two networks)."""
    import cv2

    from fer.assets import MODES
    from fer.classifier import corners

    faces = np.random.default_rng(5).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    views = corners(faces, 2)
    assert len(views) == 4 and all(v.shape == faces.shape for v in views)
    assert np.array_equal(views[0][1], cv2.resize(faces[1, :46, :46], (48, 48), interpolation=cv2.INTER_LINEAR))
    assert np.array_equal(views[3][1], cv2.resize(faces[1, 2:, 2:], (48, 48), interpolation=cv2.INTER_LINEAR))
    accurate = EmotionClassifier(**MODES["accurate"])
    one_pass, all_views = accurate.multiply_accumulates()
    assert accurate.setting == "accurate" and all_views == 2 * 10 * one_pass
    assert np.allclose(accurate(faces).sum(1), 1, atol=1e-5)


def test_calls_from_two_threads_run_side_by_side(monkeypatch):
    """Two video threads classify at the same time, each on its own set of interpreters: both calls are
    inside the network at once (with one shared lock, the second would wait and the barrier would break)."""
    import threading

    from fer import classifier as module

    barrier, real = threading.Barrier(2, timeout=20), module._Network.__call__

    def meeting(self, x):
        barrier.wait()  # returns only when the other call is inside a network too
        return real(self, x)

    shared = module.EmotionClassifier(copies=2)
    monkeypatch.setattr(module._Network, "__call__", meeting)
    faces = np.zeros((1, 48, 48), np.uint8)
    results, errors = [], []

    def call():
        try:
            results.append(shared(faces))
        except Exception as err:  # a broken barrier: the calls were serialised
            errors.append(err)

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 2 and np.allclose(results[0], results[1])


def test_a_batch_larger_than_one_interpreter_call_gives_each_face_its_own_result():
    """Over MAX_ROWS views, the network runs in padded chunks (bounded memory); no face's result changes."""
    from fer.classifier import MAX_ROWS

    faces = np.random.default_rng(9).integers(0, 256, (MAX_ROWS // 2 + 5, 48, 48), dtype=np.uint8)
    classifier = EmotionClassifier(flip=True)  # two views a face: more than MAX_ROWS rows in one call
    together = classifier(faces)
    alone = np.concatenate([classifier(faces[i : i + 1]) for i in range(len(faces))])
    assert together.shape == (len(faces), 7) and np.allclose(together, alone, atol=1e-5)
