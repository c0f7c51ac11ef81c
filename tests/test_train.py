"""`python -m fer train` end to end on a tiny generated dataset: trains, exports, resumes."""

import json

import numpy as np
import pytest

from fer.classifier import EmotionClassifier
from fer.data import Dataset
from fer.assets import MODES
from fer.train import TrainConfig, class_weights, epoch_batches, mix_faces, training_targets

from .conftest import run_cli
from .test_data import write_fer_csv


def test_train_exports_a_working_model_and_resumes(tmp_path):
    import keras

    rng = np.random.default_rng(0)
    rows = [(i % 7, rng.integers(0, 256, (48, 48), dtype=np.uint8), "Training") for i in range(48)]
    rows += [(i % 7, rng.integers(0, 256, (48, 48), dtype=np.uint8), "PublicTest") for i in range(14)]
    data = write_fer_csv(tmp_path / "tiny.csv.gz", rows)
    votes = tmp_path / "ferplus.csv"
    votes.write_text("Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n")
    with votes.open("a") as out:
        for i, (_, _, usage) in enumerate(rows):
            out.write(f"{usage},fer{i:07d}.png,{i % 10},0,{10 - i % 10},0,0,0,0,0,0,0\n")
    args = ["train", "--data", str(data), "--out", str(tmp_path / "out"), "--checkpoints", str(tmp_path / "ck")]
    args += ["--widths", "4", "8", "--convs", "1", "1", "--batch-size", "16"]
    args += ["--class-weight", "sqrt", "--erasing", "0.5", "--ferplus", str(votes), "--ferplus-weight", "0.3"]

    first = run_cli(*args, "--epochs", "1")
    assert first.returncode == 0, first.stderr[-2000:]
    summary = json.loads(first.stdout[first.stdout.index("{") :])
    assert summary["train_rows"] == 48 and summary["config"]["epochs"] == 1
    probs = EmotionClassifier(tmp_path / "out" / "fer_cnn.tflite")(rows[0][1][None])
    assert probs.shape == (1, 7) and abs(probs.sum() - 1) < 1e-5

    # Asking for more epochs with the same checkpoints continues the run instead of starting again (this time
    # checking each epoch with batch-norm statistics recomputed over 16 clean faces).
    second = run_cli(*args, "--epochs", "2", "--bn-faces", "16")
    assert second.returncode == 0, second.stderr[-2000:]
    epochs_logged = (tmp_path / "ck" / "history.csv").read_text().strip().splitlines()[1:]
    assert [line.split(",")[0] for line in epochs_logged] == ["0", "1"]

    # A checkpoint holds the training model (augmentation + network); export takes the network out of it.
    exported = run_cli("export", str(tmp_path / "ck" / "best.keras"), "--out", str(tmp_path / "again"))
    assert exported.returncode == 0, exported.stderr[-2000:]
    again = EmotionClassifier(tmp_path / "again" / "fer_cnn.tflite")(rows[0][1][None])
    assert again.shape == (1, 7) and abs(again.sum() - 1) < 1e-5

    # Export can first recompute the batch-norm statistics over the dataset's clean Training faces.
    tuned = run_cli("export", str(tmp_path / "ck" / "best.keras"), "--out", str(tmp_path / "bn"), "--bn-data", str(data))
    assert tuned.returncode == 0, tuned.stderr[-2000:]
    assert "recomputed over 48 Training faces" in tuned.stdout

    def means(folder):
        return keras.models.load_model(folder / "fer_cnn.keras").get_layer("bn0_0").moving_mean.numpy()

    assert not np.allclose(means(tmp_path / "again"), means(tmp_path / "bn"))
    assert abs(EmotionClassifier(tmp_path / "bn" / "fer_cnn.tflite")(rows[0][1][None]).sum() - 1) < 1e-5


def test_class_weights_favour_rare_classes_and_average_one():
    labels = np.array([3] * 90 + [1] * 10)
    for how, ratio in (("none", 1.0), ("sqrt", 3.0), ("balanced", 9.0)):
        w = class_weights(labels, how)
        assert abs(w[labels].mean() - 1) < 1e-6
        assert abs(w[1] / w[3] - ratio) < 1e-4
        assert w[0] == 0  # a class absent from the data


def test_ferplus_votes_mix_into_the_labels_of_the_training_rows(tmp_path):
    votes = tmp_path / "votes.csv"
    votes.write_text(
        "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
        "Training,a.png,0,10,0,0,0,0,0,0,0,0\n"  # all annotators: happiness
        "Training,b.png,0,0,0,0,0,0,0,0,0,10\n"  # not a face: keeps its FER2013 label
        "PublicTest,c.png,10,0,0,0,0,0,0,0,0,0\n"
    )
    data = Dataset(np.zeros((3, 48, 48), np.uint8), np.array([0, 4, 6]), np.array(["Training", "Training", "PublicTest"]))
    targets = training_targets(TrainConfig(data="x", ferplus=str(votes), ferplus_weight=0.5), data)
    assert targets.shape == (2, 7)
    assert np.allclose(targets[0], [0.5, 0, 0, 0.5, 0, 0, 0]) and np.allclose(targets[1], np.eye(7)[4])


def test_mixup_blends_each_face_with_a_partner_in_one_share_for_pixels_targets_and_weights():
    rng = np.random.default_rng(0)
    x = rng.random((500, 48, 48), dtype=np.float32)
    y = np.eye(7, dtype=np.float32)[rng.integers(0, 7, 500)]
    w = rng.random(500).astype(np.float32) + 0.5
    mx, my, mw = mix_faces(x, y, w, 0.2, np.random.default_rng([5, 3, 1]))
    again = mix_faces(x, y, w, 0.2, np.random.default_rng([5, 3, 1]))
    assert all(np.array_equal(a, b) for a, b in zip((mx, my, mw), again))  # a resume mixes the same pairs
    assert mx.shape == x.shape and my.shape == y.shape and mw.shape == w.shape
    assert np.allclose(my.sum(1), 1) and (my >= 0).all()
    # Beta(0.2, 0.2) leans to the ends: most faces are mostly one of the pair, some near halves
    assert 0.5 < np.mean(my.max(1) > 0.9) < 0.95 and np.mean(my.max(1) < 0.7) > 0.02
    own = np.take_along_axis(my, y.argmax(1)[:, None], 1)[:, 0]
    # the pixels are mixed in the very share the targets are: face i = lam x_i + (1 - lam) x_j (a face whose own
    # class holds 0.6 of its target has a partner of another class, so lam is that 0.6)
    i = int(np.argmin(np.abs(own - 0.6)))
    lam = own[i]
    partners = [j for j in range(500) if np.allclose(mx[i], lam * x[i] + (1 - lam) * x[j], atol=1e-5)]
    assert len(partners) == 1 and np.isclose(mw[i], lam * w[i] + (1 - lam) * w[partners[0]])


def test_a_teacher_mode_mixes_its_probabilities_into_the_targets():
    faces = np.random.default_rng(1).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    data = Dataset(faces, np.array([0, 1, 3, 6, 2]), np.array(["Training"] * 4 + ["PublicTest"]))
    targets = training_targets(TrainConfig(data="x", teacher="fast", teacher_weight=0.25), data)
    taught = EmotionClassifier(**MODES["fast"])(faces[:4])
    assert targets.shape == (4, 7) and np.allclose(targets.sum(axis=1), 1, atol=1e-5)
    assert np.allclose(targets, 0.75 * np.eye(7)[[0, 1, 3, 6]] + 0.25 * taught, atol=1e-6)


def test_an_unknown_teacher_or_class_weighting_is_a_one_line_error(tmp_path):
    for flag, value in (("--teacher", "oracle"), ("--class-weight", "lots"), ("--keep", "worst")):
        result = run_cli("train", "--data", str(tmp_path / "none.csv.gz"), flag, value)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert flag[2:].replace("-", "_") in result.stderr and value in result.stderr


@pytest.mark.parametrize("teacher,mixup", [(False, False), (True, False), (False, True)])
def test_a_run_stopped_and_resumed_ends_with_the_same_weights_as_one_run(tmp_path, teacher, mixup):
    """Exact resume: weights, optimizer state (SGD momenta, step count), random states and the shuffle
    of each epoch all continue, so 1 + 1 epochs give the very network that 2 epochs in one go give; with
    teachers too (the training model then holds them, its output the two halves side by side)."""
    import keras

    from fer.model import build_model

    rng = np.random.default_rng(3)
    rows = [(i % 7, rng.integers(0, 256, (48, 48), dtype=np.uint8), "Training") for i in range(64)]
    rows += [(i % 7, rng.integers(0, 256, (48, 48), dtype=np.uint8), "PublicTest") for i in range(14)]
    data = write_fer_csv(tmp_path / "tiny.csv.gz", rows)
    args = ["train", "--data", str(data), "--widths", "4", "8", "--convs", "1", "1", "--batch-size", "16"]
    args += ["--optimizer", "sgd", "--learning-rate", "0.05", "--erasing", "0.5", "--epochs", "2", "--keep", "last"]
    if teacher:
        build_model((4, 8), (1, 1)).save(tmp_path / "teacher.keras")
        args += ["--teacher-networks", str(tmp_path / "teacher.keras"), "--teacher-weight", "0.7"]
    if mixup:
        args += ["--mixup", "0.4"]
    whole = run_cli(*args, "--checkpoints", str(tmp_path / "a"), "--out", str(tmp_path / "a_out"))
    assert whole.returncode == 0, whole.stderr[-2000:]
    for _ in range(2):
        part = run_cli(*args, "--checkpoints", str(tmp_path / "b"), "--out", str(tmp_path / "b_out"), "--stop-after", "1")
        assert part.returncode == 0, part.stderr[-2000:]
    a = keras.models.load_model(tmp_path / "a_out" / "fer_cnn.keras").get_weights()
    b = keras.models.load_model(tmp_path / "b_out" / "fer_cnn.keras").get_weights()
    assert all(np.allclose(x, y, atol=1e-6) for x, y in zip(a, b))
    logged = (tmp_path / "b" / "history.csv").read_text().strip().splitlines()
    assert [line.split(",")[0] for line in logged[1:]] == ["0", "1"] and "val_accuracy_mirrored" in logged[0]


def test_a_checkpoint_of_another_network_is_a_one_line_error(tmp_path):
    rng = np.random.default_rng(4)
    rows = [(i % 7, rng.integers(0, 256, (48, 48), dtype=np.uint8), usage) for usage in ("Training", "PublicTest") for i in range(14)]
    data = write_fer_csv(tmp_path / "tiny.csv.gz", rows)
    args = ["train", "--data", str(data), "--convs", "1", "1", "--epochs", "2", "--checkpoints", str(tmp_path / "ck")]
    first = run_cli(*args, "--widths", "4", "8", "--stop-after", "1", "--out", str(tmp_path / "a"))
    assert first.returncode == 0, first.stderr[-2000:]
    other = run_cli(*args, "--widths", "4", "16", "--out", str(tmp_path / "b"))
    assert other.returncode == 2 and "Traceback" not in other.stderr
    assert "another network's state" in other.stderr and "--checkpoints" in other.stderr


def test_an_epochs_batches_train_as_keras_own_batching_of_the_arrays_without_a_tuning_thread():
    """The faces, targets and weights in the order given, the last batch short, so an epoch trains the very
    network that ``fit`` on the arrays gives; with autotuning off, so no tuning thread outlives the epoch."""
    import keras

    from fer.model import build_model

    rng = np.random.default_rng(5)
    x = rng.random((40, 48, 48, 1), dtype=np.float32)
    y = np.eye(7, dtype=np.float32)[rng.integers(0, 7, 40)]
    w = rng.random(40) + 0.5
    batches = epoch_batches(x, y, w, 16)
    assert [len(b[0]) for b in batches] == [16, 16, 8] and not batches.options().autotune.enabled
    assert np.array_equal(np.concatenate([b[2] for b in batches]), w)
    trained = []
    for data in ({"x": x, "y": y, "sample_weight": w, "batch_size": 16}, {"x": batches}):
        keras.utils.set_random_seed(1)
        model = build_model((4, 8), (1, 1))
        initial = model.get_weights()
        model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="categorical_crossentropy")
        model.fit(**data, shuffle=False, epochs=1, verbose=0)
        trained.append(model.get_weights())
        assert not all(np.allclose(a, b) for a, b in zip(initial, trained[-1]))
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(*trained))


def test_a_run_resumed_in_mixed_precision_continues_and_saves_float32_networks(tmp_path):
    """A campaign can switch to bfloat16 arithmetic at a resume (the weights and optimizer state stay float32);
    what it saves and exports computes in float32, so the runtime and TensorFlow-less tools read it as before."""
    import keras

    rng = np.random.default_rng(5)
    rows = [(i % 7, rng.integers(0, 256, (48, 48), dtype=np.uint8), "Training") for i in range(48)]
    rows += [(i % 7, rng.integers(0, 256, (48, 48), dtype=np.uint8), "PublicTest") for i in range(14)]
    data = write_fer_csv(tmp_path / "tiny.csv.gz", rows)
    args = ["train", "--data", str(data), "--widths", "4", "8", "--convs", "1", "1", "--batch-size", "16", "--epochs", "2"]
    args += ["--optimizer", "sgd", "--keep", "last", "--checkpoints", str(tmp_path / "ck"), "--out", str(tmp_path / "out")]
    first = run_cli(*args, "--stop-after", "1")
    assert first.returncode == 0, first.stderr[-2000:]
    second = run_cli(*args, "--precision", "mixed_bfloat16")
    assert second.returncode == 0, second.stderr[-2000:]
    assert json.loads(second.stdout[second.stdout.index("{") :])["config"]["precision"] == "mixed_bfloat16"
    logged = (tmp_path / "ck" / "history.csv").read_text().strip().splitlines()[1:]
    assert [line.split(",")[0] for line in logged] == ["0", "1"]
    network = keras.models.load_model(tmp_path / "out" / "fer_cnn.keras")
    assert {layer.dtype_policy.name for layer in network.layers} == {"float32"}
    probs = EmotionClassifier(tmp_path / "out" / "fer_cnn.tflite")(rows[0][1][None])
    assert probs.shape == (1, 7) and abs(probs.sum() - 1) < 1e-5


def test_a_float32_copy_of_a_mixed_precision_network_keeps_its_weights_and_outputs():
    import keras

    from fer.model import build_model
    from fer.train import float32_copy, precision

    with precision("mixed_bfloat16"):
        network = build_model((8, 16), (1, 1), 0.4)
    assert keras.mixed_precision.global_policy().name == "float32"
    assert network.get_layer("conv0_0").compute_dtype == "bfloat16"
    copy = float32_copy(network)
    assert {layer.dtype_policy.name for layer in copy.layers} == {"float32"}
    assert all(np.array_equal(a, b) for a, b in zip(network.get_weights(), copy.get_weights()))
    faces = np.random.default_rng(1).random((8, 48, 48, 1), dtype=np.float32)
    assert np.allclose(network.predict(faces, verbose=0), copy.predict(faces, verbose=0), atol=0.02)


def test_batchnorm_recalibration_normalises_every_layer_over_the_faces_and_their_mirrors():
    """After it, each batch-norm layer's output over the faces (as is and mirrored) has exactly the mean beta and
    the spread gamma that the layer learnt: the statistics are the real ones, layer after layer, with no
    weight touched but the moving averages."""
    import keras

    from fer.model import build_model
    from fer.train import recalibrate_batchnorm

    network = build_model((4, 8), (1, 2), 0.4)
    rng = np.random.default_rng(7)
    norms = [layer for layer in network.layers if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in norms:  # learnt scales and shifts, and moving averages far from the truth
        layer.gamma.assign(rng.uniform(0.5, 2.0, layer.gamma.shape).astype(np.float32))
        layer.beta.assign(rng.normal(0, 1, layer.beta.shape).astype(np.float32))
        layer.moving_mean.assign(np.full(layer.moving_mean.shape, 5.0, np.float32))
    learnt = [w.numpy().copy() for w in network.trainable_weights]
    faces = rng.random((40, 48, 48, 1), dtype=np.float32) * np.linspace(0.2, 1.0, 48, dtype=np.float32)[None, None, :, None]
    recalibrate_batchnorm(network, faces, batch=16)

    views = np.concatenate([faces, faces[:, :, ::-1]])
    for layer in norms:
        out = keras.Model(network.inputs, layer.output).predict(views, verbose=0).reshape(-1, layer.beta.shape[0])
        assert np.allclose(out.mean(0), layer.beta.numpy(), atol=1e-3), layer.name
        variance = layer.moving_variance.numpy()  # gamma's spread, shrunk by the layer's epsilon as it is computed
        expected = np.abs(layer.gamma.numpy()) * np.sqrt(variance / (variance + layer.epsilon))
        assert np.allclose(out.std(0), expected, rtol=2e-3), layer.name
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(learnt, network.trainable_weights))


def test_batchnorm_recalibration_refuses_a_network_that_is_not_a_chain():
    """Its layer-after-layer pass is only exact for a chain; a batch norm after a branch (a residual sum) is
    refused with the layer named, not miscomputed."""
    import keras

    from fer.train import recalibrate_batchnorm

    face = keras.Input((48, 48, 1))
    features = keras.layers.Conv2D(4, 3, padding="same", name="conv")(face)
    summed = keras.layers.Add(name="sum")([features, keras.layers.ReLU(name="relu")(features)])
    network = keras.Model(face, keras.layers.BatchNormalization(name="bn")(summed))
    with pytest.raises(ValueError, match="chain of layers: sum follows"):
        recalibrate_batchnorm(network, np.zeros((4, 48, 48, 1), np.float32))


def test_the_weight_average_of_the_last_epochs_is_their_mean_and_survives_a_resume(tmp_path):
    """--average-last 2 over 3 epochs: average.keras holds the mean of the weights after epochs 2 and 3, the
    same whether the run went in one go or stopped after each epoch."""
    import keras

    rng = np.random.default_rng(4)
    rows = [(i % 7, rng.integers(0, 256, (48, 48), dtype=np.uint8), "Training") for i in range(48)]
    rows += [(i % 7, rng.integers(0, 256, (48, 48), dtype=np.uint8), "PublicTest") for i in range(14)]
    data = write_fer_csv(tmp_path / "tiny.csv.gz", rows)
    args = ["train", "--data", str(data), "--widths", "4", "8", "--convs", "1", "1", "--batch-size", "16", "--epochs", "3"]
    args += ["--optimizer", "sgd", "--learning-rate", "0.05", "--average-last", "2", "--keep", "last"]
    whole = run_cli(*args, "--checkpoints", str(tmp_path / "a"), "--out", str(tmp_path / "a_out"))
    assert whole.returncode == 0, whole.stderr[-2000:]
    assert json.loads(whole.stdout[whole.stdout.index("{") :])["average_val_accuracy_mirrored"] is not None
    for part, stop in (("b2", "2"), ("b3", "1")):  # the last epoch of each part is exported (--keep last)
        ran = run_cli(*args, "--checkpoints", str(tmp_path / "b"), "--out", str(tmp_path / part), "--stop-after", stop)
        assert ran.returncode == 0, ran.stderr[-2000:]

    def weights(path):
        return keras.models.load_model(path).get_weights()

    second, third = weights(tmp_path / "b2" / "fer_cnn.keras"), weights(tmp_path / "b3" / "fer_cnn.keras")
    resumed, whole_average = weights(tmp_path / "b" / "average.keras"), weights(tmp_path / "a" / "average.keras")
    assert all(np.allclose(m, (x + y) / 2, atol=1e-6) for m, x, y in zip(resumed, second, third))
    assert all(np.allclose(m, w, atol=1e-6) for m, w in zip(resumed, whole_average))
    assert not all(np.allclose(m, y, atol=1e-4) for m, y in zip(resumed, third))  # not just the last epoch


def test_consistent_teachers_see_the_augmented_view_and_stay_frozen(tmp_path):
    """--teacher-networks: the frozen teachers classify the very view the network trains on, each step."""
    import keras

    from fer.model import build_model
    from fer.train import augmenter, distillation_loss, frozen_teacher, training_model

    keras.utils.set_random_seed(5)
    build_model((4, 8), (1, 2)).save(tmp_path / "teacher.keras")
    teacher = frozen_teacher(tmp_path / "teacher.keras", "teacher0")
    before = [w.copy() for w in teacher.get_weights()]
    student = build_model((4, 8), (1, 1))
    cfg = TrainConfig(data="x", erasing=1.0, shift=0.3)
    trainer = training_model(student, augmenter(cfg), [teacher])
    x = np.random.default_rng(5).random((32, 48, 48, 1)).astype(np.float32)

    clean = keras.ops.convert_to_numpy(trainer(x, training=False))
    assert clean.shape == (32, 14)
    assert np.allclose(clean[:, 7:], keras.ops.convert_to_numpy(teacher(x)), atol=1e-6)  # inference: as is
    taught = keras.ops.convert_to_numpy(trainer(x, training=True))[:, 7:]
    assert not np.allclose(taught, clean[:, 7:], atol=1e-3)  # training: the augmented view, not the clean face

    trainer.compile(optimizer="sgd", loss=distillation_loss(0.0, 1.0))
    y = np.eye(7, dtype=np.float32)[np.arange(32) % 7]
    student_before = [w.copy() for w in student.get_weights()]
    trainer.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, teacher.get_weights()))
    assert not all(np.array_equal(a, b) for a, b in zip(student_before, student.get_weights()))


def test_the_distillation_target_mixes_the_smoothed_label_and_the_teachers():
    import keras

    from fer.train import distillation_loss

    label = np.eye(7, dtype=np.float32)[[3]]
    student = np.array([[0.1, 0.05, 0.05, 0.5, 0.1, 0.1, 0.1]], np.float32)
    teachers = np.array([[0.0, 0.0, 0.0, 0.2, 0.0, 0.0, 0.8]], np.float32)
    got = keras.ops.convert_to_numpy(distillation_loss(0.1, 0.25)(label, np.concatenate([student, teachers], axis=1)))
    target = 0.75 * (label * 0.9 + 0.1 / 7) + 0.25 * teachers
    assert np.allclose(got, -(target * np.log(student)).sum(axis=1), atol=1e-5)


def test_teacher_networks_train_from_the_command_line_and_a_missing_one_is_a_one_line_error(tmp_path):
    from fer.model import build_model

    rng = np.random.default_rng(4)
    rows = [(i % 7, rng.integers(0, 256, (48, 48), dtype=np.uint8), "Training") for i in range(32)]
    rows += [(i % 7, rng.integers(0, 256, (48, 48), dtype=np.uint8), "PublicTest") for i in range(14)]
    data = write_fer_csv(tmp_path / "tiny.csv.gz", rows)
    build_model((4, 8), (1, 1)).save(tmp_path / "teacher.keras")
    args = ["train", "--data", str(data), "--widths", "4", "8", "--convs", "1", "1", "--batch-size", "16", "--epochs", "1"]
    args += ["--checkpoints", str(tmp_path / "ck"), "--out", str(tmp_path / "out"), "--teacher-weight", "0.5"]
    done = run_cli(*args, "--teacher-networks", str(tmp_path / "teacher.keras"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout[done.stdout.index("{") :])["config"]["teacher_networks"] == [str(tmp_path / "teacher.keras")]
    assert EmotionClassifier(tmp_path / "out" / "fer_cnn.tflite")(rows[0][1][None]).shape == (1, 7)

    missing = run_cli(*args, "--teacher-networks", str(tmp_path / "none.keras"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr and "none.keras: no such file" in missing.stderr
    both = run_cli(*args, "--teacher-networks", str(tmp_path / "teacher.keras"), "--teacher", "fast")
    assert both.returncode == 2 and "Traceback" not in both.stderr and "choose one teacher" in both.stderr


def test_check_every_checks_every_nth_epoch_and_every_one_of_the_last_third(tmp_path):
    """--check-every 4 over 6 epochs: epoch 3 (the fourth) is checked, 0-2 are not (blank accuracy in the
    history), 4-5 are (the schedule's last third); the best network is chosen among the checked ones, across
    a resume."""
    rng = np.random.default_rng(6)
    rows = [(i % 7, rng.integers(0, 256, (48, 48), dtype=np.uint8), "Training") for i in range(32)]
    rows += [(i % 7, rng.integers(0, 256, (48, 48), dtype=np.uint8), "PublicTest") for i in range(14)]
    data = write_fer_csv(tmp_path / "tiny.csv.gz", rows)
    args = ["train", "--data", str(data), "--widths", "4", "8", "--convs", "1", "1", "--batch-size", "16", "--epochs", "6"]
    args += ["--check-every", "4", "--checkpoints", str(tmp_path / "ck"), "--out", str(tmp_path / "out")]
    first = run_cli(*args, "--stop-after", "3")
    assert first.returncode == 0, first.stderr[-2000:]
    assert not (tmp_path / "ck" / "best.keras").exists()  # nothing checked yet, so nothing kept
    second = run_cli(*args)
    assert second.returncode == 0, second.stderr[-2000:]
    logged = [line.split(",") for line in (tmp_path / "ck" / "history.csv").read_text().strip().splitlines()[1:]]
    assert [row[0] for row in logged] == ["0", "1", "2", "3", "4", "5"]
    assert [bool(row[5]) for row in logged] == [False, False, False, True, True, True]
    assert all(bool(row[4]) == bool(row[5]) for row in logged)
    summary = json.loads(second.stdout[second.stdout.index("{") :])
    assert summary["best_val_accuracy_mirrored"] == pytest.approx(max(float(row[5]) for row in logged[3:]), abs=1e-5)
    assert (tmp_path / "ck" / "best.keras").exists()
