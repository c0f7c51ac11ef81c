"""Training: FER2013 Training rows in, the best model on PublicTest out (Keras on TensorFlow or JAX + TFLite).

Every setting lives in :class:`TrainConfig` and is named once; ``python -m fer train --help`` lists them.
Runs resume exactly where they stopped: rerun the same command and it continues after the last finished
epoch, with the same optimizer state, random states and schedule. Use a new --checkpoints folder for a
new configuration. ``tools/campaign.py`` runs a long training in the background across sessions.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .data import load_dataset
from .emotions import EMOTIONS
from .preprocess import preprocess


# class weighting against imbalance: the power of 1/share
WEIGHTINGS = {"none": 0.0, "sqrt": 0.5, "balanced": 1.0}


@dataclass
class TrainConfig:
    data: str = ""  # FER2013 .csv/.csv.gz (or the .npz arrays); required
    out: str = "models"  # where the exported fer_cnn.keras / fer_cnn.tflite / training.json go
    checkpoints: str = "checkpoints"  # resumable state and the best model so far (git-ignored)
    train_split: str = "Training"
    select_split: str = "PublicTest"  # model selection only; never PrivateTest
    epochs: int = 12  # the planned length: the learning-rate schedule is defined over it
    batch_size: int = 64
    optimizer: str = "adamw"  # "adamw", or "sgd" (Nesterov momentum), the long-campaign recipe
    learning_rate: float = 3e-3  # peak, after a linear warm-up
    momentum: float = 0.9  # sgd only
    warmup_epochs: float = 1.0
    weight_decay: float = 1e-4  # decoupled (scaled by the learning rate); not on batch-norm or biases
    label_smoothing: float = 0.1
    widths: tuple[int, ...] = (32, 64, 128, 256)
    convs: tuple[int, ...] = (1, 1, 2, 2)  # conv layers per block
    dropout: float = 0.4
    # augmentation (training only)
    shift: float = 0.1  # share of the side
    rotation_degrees: float = 10.0
    zoom: float = 0.1
    brightness: float = 0.2
    contrast: float = 0.2
    erasing: float = 0.0  # random erasing of a patch: the largest chance per image (0 = off)
    # mixup: each training face blended with another face of its epoch, targets and loss weights alike, in
    # the share lam ~ Beta(mixup, mixup) drawn per face (see mix_faces); 0 = off
    mixup: float = 0.0
    # class imbalance (disgust is 1.5% of the rows): per-face loss weights "none", "sqrt" (1/sqrt of the
    # class's share) or "balanced" (1/share), scaled to a mean of 1 over the training rows
    class_weight: str = "none"
    # FER+ (10 annotators per face) as soft labels: the fer2013new.csv votes, mapped to our classes and
    # mixed into the one-hot FER2013 label with this weight (0 = FER2013 labels only)
    ferplus: str = ""
    ferplus_weight: float = 0.5
    # knowledge distillation: the calibrated probabilities of this classifier mode of the shipped models
    # (fer.pipeline.MODES, e.g. "accurate", the ensemble) on each training face, mixed into its target
    # with this weight ("" = off)
    teacher: str = ""
    teacher_weight: float = 0.5
    # consistent distillation: these .keras networks (frozen, their mean) classify the very augmented view
    # the network being trained sees, at every step, and their probabilities are mixed into its target
    # with teacher_weight; unlike ``teacher``, whose targets come from the clean face once, before training
    teacher_networks: tuple[str, ...] = ()
    seed: int = 2013
    limit: int = 0  # use only the first N training rows (smoke tests); 0 = all
    keep: str = "best"  # which weights to export: "best" PublicTest epoch, or the "last" epoch of the schedule
    init_from: str = ""  # start from this .keras model's weights (a second, fine-tuning cycle); "" = scratch
    # export to --out only when the mirrored PublicTest accuracy beats this (e.g. the shipped model's);
    # 0 = export the kept epoch once, at the end
    export_above: float = 0.0
    # recompute the batch-norm statistics over this many clean Training faces (and their mirrors) in what
    # is checked on PublicTest each epoch, saved and exported (see recalibrate_batchnorm); the network being
    # trained keeps its moving averages; 0 = off
    bn_faces: int = 0
    # stochastic weight averaging: the mean of the weights after each of the schedule's last N epochs; at the
    # end it is checked like an epoch (batch-norm statistics recomputed when bn_faces is set), saved as
    # average.keras, and kept (best.keras, exported) if it beats every epoch; 0 = off
    average_last: int = 0
    # check on PublicTest (what bn_faces, keep, best.keras and export_above act on) after every Nth epoch
    # only, and after every epoch of the schedule's last third, where the learning rate is low and the best
    # epochs lie; an unchecked epoch's history row has no accuracy. A check (recalibration, both views of
    # PublicTest, the save) took 40-134 s of a 160-610 s fast-network epoch here. 1 = every epoch
    check_every: int = 1
    stop_after: int = 0  # end this run after this many epochs (a later run resumes); 0 = run to cfg.epochs
    # "mixed_bfloat16": weights and optimizer state in float32, the arithmetic in bfloat16: 1.4x faster
    # training steps on a CPU with AVX512-BF16 (the fast network: 237 against 340 ms per step here,
    # tools/train_cost.py --precision) and the usual setting on a GPU, but 13x slower on an AVX2-only CPU,
    # where TensorFlow emulates it (tools/campaign.py native_bfloat16); what is saved and exported computes
    # in float32 either way
    precision: str = "float32"

    def __post_init__(self):
        from .assets import MODES

        choices = {
            "class_weight": WEIGHTINGS, "teacher": ("", *MODES), "keep": ("best", "last"), "optimizer": ("adamw", "sgd"),
            "precision": ("float32", "mixed_bfloat16"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, not {getattr(self, name)!r}")
        if self.teacher and self.teacher_networks:
            raise ValueError("choose one teacher: a mode (teacher) or networks (teacher_networks), not both")


def augmenter(cfg: TrainConfig):
    import keras
    from keras import layers

    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=cfg.seed),
            layers.RandomTranslation(cfg.shift, cfg.shift, fill_mode="nearest", seed=cfg.seed + 1),
            layers.RandomRotation(cfg.rotation_degrees / 360.0, fill_mode="nearest", seed=cfg.seed + 2),
            layers.RandomZoom(cfg.zoom, fill_mode="nearest", seed=cfg.seed + 3),
            layers.RandomBrightness(cfg.brightness, value_range=(0.0, 1.0), seed=cfg.seed + 4),
            layers.RandomContrast(cfg.contrast, value_range=(0.0, 1.0), seed=cfg.seed + 5),
            layers.RandomErasing(factor=cfg.erasing, fill_value=0.5, value_range=(0.0, 1.0), seed=cfg.seed + 6),
        ],
        name="augment",
    )


def frozen_teacher(path: str | Path, name: str):
    """A saved network as a teacher: rebuilt under the current precision policy (a bfloat16 run computes
    it in bfloat16 too), its weights loaded, frozen (batch norm in inference mode)."""
    import keras

    from .model import build_model

    saved = keras.models.load_model(path, compile=False)
    convs = [layer for layer in saved.layers if isinstance(layer, keras.layers.Conv2D)]
    blocks = sorted({layer.name.split("_")[0] for layer in convs})  # conv0, conv1, ... (fer.model)
    widths = tuple(next(c.filters for c in convs if c.name.startswith(b + "_")) for b in blocks)
    depths = tuple(sum(c.name.startswith(b + "_") for c in convs) for b in blocks)
    network = build_model(widths, depths)
    network.set_weights(saved.get_weights())
    return frozen(network, name)


def frozen(network, name: str):
    """``network`` under its own name (each of a run's networks needs one), its weights not trained."""
    import keras

    teacher = keras.Model(network.input, network.output, name=name)
    teacher.trainable = False
    return teacher


def training_model(model, augment, teachers=()):
    """The model that trains: augmentation, then the network. With teachers, its output is the network's
    probabilities followed by the teachers' mean on the same augmented view (see distillation_loss)."""
    import keras

    if not teachers:
        return keras.Sequential([keras.Input(model.input_shape[1:]), augment, model], name="trainer")
    inputs = keras.Input(model.input_shape[1:])
    seen = augment(inputs)
    taught = [teacher(seen, training=False) for teacher in teachers]
    mean = keras.layers.Average(dtype="float32")(taught) if len(taught) > 1 else taught[0]
    return keras.Model(inputs, keras.layers.Concatenate(dtype="float32")([model(seen), mean]), name="trainer")


def distillation_loss(label_smoothing: float, teacher_weight: float):
    """Cross-entropy of the network's half of the output against its smoothed label mixed with the
    teachers' half: (1 - w) * label + w * teachers."""
    import keras

    classes = len(EMOTIONS)

    def loss(y_true, y_pred):
        smoothed = y_true * (1 - label_smoothing) + label_smoothing / classes
        target = (1 - teacher_weight) * smoothed + teacher_weight * y_pred[:, classes:]
        return keras.losses.categorical_crossentropy(target, y_pred[:, :classes])

    return loss


def student_accuracy():
    """Training accuracy of the network's half of a distilling training model's output."""
    import keras

    classes = len(EMOTIONS)
    return keras.metrics.MeanMetricWrapper(lambda y, p: keras.metrics.categorical_accuracy(y, p[:, :classes]), name="accuracy")


def class_weights(labels: np.ndarray, how: str) -> np.ndarray:
    """Loss weight per class (EMOTIONS order), scaled so that the mean weight over ``labels`` is 1."""
    share = np.bincount(labels, minlength=len(EMOTIONS)) / len(labels)
    if how not in WEIGHTINGS:
        raise ValueError(f"class_weight must be one of {', '.join(WEIGHTINGS)}, not {how!r}")
    weights = np.where(share > 0, np.maximum(share, 1e-12) ** -WEIGHTINGS[how], 0.0)
    return (weights / (weights[labels].mean())).astype(np.float32)


def mix_faces(x: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float, rng: np.random.Generator):
    """Mixup: each face with a partner drawn from the same rows, ``lam * own + (1 - lam) * partner`` for the
    pixels, the targets and the loss weights, ``lam ~ Beta(alpha, alpha)`` per face. ``rng`` is a function of
    (seed, epoch) in training, so a resumed run mixes the same pairs."""
    lam = rng.beta(alpha, alpha, size=len(x)).astype(np.float32)
    partner = rng.permutation(len(x))

    def blend(a: np.ndarray) -> np.ndarray:
        share = lam.reshape(-1, *[1] * (a.ndim - 1))
        return share * a + (1 - share) * a[partner]

    return blend(x), blend(y), blend(w)


def training_targets(cfg: TrainConfig, data) -> np.ndarray:
    """Targets for the training rows: one-hot FER2013 labels, mixed with the FER+ votes and with a
    teacher's probabilities when asked. Faces whose FER+ votes fall outside our classes (contempt,
    unknown, not a face) keep their label."""
    from .data import read_ferplus_votes

    onehot = np.eye(len(EMOTIONS), dtype=np.float32)[data.labels]
    if cfg.ferplus and cfg.ferplus_weight > 0:
        votes = read_ferplus_votes(cfg.ferplus)
        if len(votes) != len(onehot):
            raise ValueError(f"{cfg.ferplus} has {len(votes)} rows and {cfg.data} {len(onehot)}: they must be the same rows")
        voted = votes.sum(axis=1) > 0
        onehot[voted] = (1 - cfg.ferplus_weight) * onehot[voted] + cfg.ferplus_weight * votes[voted]
    rows = data.usage == cfg.train_split
    targets = onehot[rows]
    if cfg.teacher and cfg.teacher_weight > 0:
        from .classifier import EmotionClassifier
        from .assets import MODES

        faces = np.asarray(data.images)[rows]
        taught = EmotionClassifier(**MODES[cfg.teacher]).predict_many(faces)
        targets = (1 - cfg.teacher_weight) * targets + cfg.teacher_weight * taught
    return targets.astype(np.float32)


def _optimizer(cfg: TrainConfig, steps_per_epoch: int):
    """The optimizer with its learning-rate schedule defined over the *planned* epochs: linear warm-up,
    then cosine decay to zero at ``cfg.epochs``. It is a function of the optimizer's step counter, which is
    checkpointed, so a resumed run continues the same curve."""
    import keras

    warmup = int(cfg.warmup_epochs * steps_per_epoch)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=cfg.learning_rate / 100,
        warmup_target=cfg.learning_rate,
        warmup_steps=warmup,
        decay_steps=max(cfg.epochs * steps_per_epoch - warmup, 1),
    )
    if cfg.optimizer == "sgd":
        opt = keras.optimizers.SGD(schedule, momentum=cfg.momentum, nesterov=True, weight_decay=cfg.weight_decay)
    else:
        opt = keras.optimizers.AdamW(schedule, weight_decay=cfg.weight_decay)
    opt.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])  # batch-norm and biases: no decay
    return opt


def _own_variables(trainer) -> list:
    """Every variable of the training model but its teachers' weights: the network's weights and batch-norm
    statistics, and every random state (a teacher's too). The frozen teachers' weights come from their own
    files at every start."""
    teachers = {id(v) for layer in trainer.layers if layer.name.startswith("teacher") for v in layer.weights}
    return [v for v in trainer.variables if id(v) not in teachers]


def _save_state(trainer, ckpt: Path, epoch: int, best: float, average: tuple[int, list]) -> None:
    """Everything a resume needs, in one file written atomically (``state.npz``): the training model's own
    variables (:func:`_own_variables`), the optimizer's (its step counter and momenta), the finished epoch
    count, the best selection accuracy and the weight average (how many epochs it holds, and their mean).
    Without the teachers' weights it is the size a bank in the repository can hold (tools/campaign.py)."""
    arrays = {f"var{i}": np.asarray(v.numpy()) for i, v in enumerate(_own_variables(trainer))}
    arrays |= {f"opt{i}": np.asarray(v.numpy()) for i, v in enumerate(trainer.optimizer.variables)}
    with open(ckpt / "state.tmp.npz", "wb") as fh:
        np.savez(fh, epoch=epoch, best=best, averaged=average[0], **arrays, **{f"mean{i}": w for i, w in enumerate(average[1])})
    (ckpt / "state.tmp.npz").replace(ckpt / "state.npz")


def _load_state(trainer, ckpt: Path) -> tuple[int, float, tuple[int, list]]:
    """Restore a checkpoint written by :func:`_save_state`: (epochs done, best accuracy, weight average)."""
    if not (ckpt / "state.npz").exists():
        return 0, 0.0, (0, [])
    trainer.optimizer.build(trainer.trainable_variables)
    state = np.load(ckpt / "state.npz")
    for prefix, variables in (("var", _own_variables(trainer)), ("opt", trainer.optimizer.variables)):
        saved = [state[f"{prefix}{i}"] for i in range(sum(name.startswith(prefix) for name in state.files))]
        if [a.shape for a in saved] != [tuple(v.shape) for v in variables]:
            raise ValueError(f"{ckpt / 'state.npz'} is another network's state: its arrays do not fit this run's "
                             "(use a new --checkpoints folder)")
        for v, value in zip(variables, saved):
            v.assign(value)
    mean = [state[f"mean{i}"] for i in range(sum(name.startswith("mean") for name in state.files))]
    return int(state["epoch"]), float(state["best"]), (int(state["averaged"]) if "averaged" in state.files else 0, mean)


def epoch_batches(x: np.ndarray, y: np.ndarray, weights: np.ndarray, batch_size: int):
    """One epoch's faces, targets and weights in batches, in the order given, with tf.data's autotuning off.

    Given the arrays themselves, Keras builds an autotuned pipeline for each ``fit``, and deleting its iterator
    at the end of the epoch waits for the tuning thread to wake from its sleep between rounds (gdb:
    ``~RootDataset::Iterator`` waiting on ``Model::OptimizeLoop``): fast-distil-pair-long sat idle after 61 of
    its 100 epochs, about 46 of its 226 minutes (models/CAMPAIGN.md). Batches in a fixed order need no tuning."""
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return tf.data.Dataset.from_tensor_slices((x, y, weights)).batch(batch_size).with_options(options)


def mirrored_accuracy(model, x: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Accuracy of ``model`` on ``x`` as is, and averaged with its mirror image (the fast mode's views)."""
    plain = model.predict(x, batch_size=512, verbose=0)
    mirror = model.predict(x[:, :, ::-1], batch_size=512, verbose=0)
    return float((plain.argmax(1) == labels).mean()), float(((plain + mirror).argmax(1) == labels).mean())


def recalibrate_batchnorm(model, x: np.ndarray, batch: int = 256) -> None:
    """Replace each batch-norm layer's moving mean and variance in ``model`` by the exact statistics of its
    input over ``x`` and its mirror images (the views the app classifies); no weight changes.

    The moving averages are gathered during training on augmented crops (shifted, zoomed, erased patches)
    and lag the weights; clean faces have other statistics. Layers are done in order, each over the
    outputs of the layers before it as already recalibrated. ``model`` is a chain of layers, as
    ``fer.model.build_model`` makes; the views' features are kept in memory after each pooling layer, and
    each batch-norm layer's input is computed from the last of them, ``batch`` views at a time (the
    full-resolution features would take gigabytes and cost more to write than to recompute)."""
    import keras

    kept, path = np.concatenate([x, x[:, :, ::-1]]), []
    norms = [lay for lay in model.layers if isinstance(lay, keras.layers.BatchNormalization)]
    for before, layer in zip(model.layers, model.layers[1 : model.layers.index(norms[-1]) + 1] if norms else []):
        if layer.input is not before.output:
            raise ValueError(f"batch-norm recalibration needs a chain of layers: {layer.name} follows {before.name}")
        if isinstance(layer, keras.layers.BatchNormalization):
            count, total, squares = 0, 0.0, 0.0
            for part in _through(path, kept, batch):
                flat = part.reshape(-1, part.shape[-1])
                count += len(flat)
                total = total + flat.sum(0, dtype=np.float64)
                squares = squares + np.einsum("ij,ij->j", flat, flat, dtype=np.float64)
            mean = total / count
            layer.moving_mean.assign(mean.astype(np.float32))
            layer.moving_variance.assign(np.maximum(squares / count - mean**2, 0.0).astype(np.float32))
        path.append(layer)
        if isinstance(layer, keras.layers.MaxPooling2D):
            kept, path = np.concatenate(list(_through(path, kept, batch))), []


def _through(layers: list, x: np.ndarray, batch: int):
    """``x`` through a chain of ``layers`` (none: ``x`` as it is), compiled as one network for inference,
    ``batch`` rows at a time: yields each batch's output."""
    import keras

    network = keras.Model(layers[0].input, layers[-1].output) if layers else None
    for start in range(0, len(x), batch):
        yield network.predict_on_batch(x[start : start + batch]) if network else x[start : start + batch]


@contextmanager
def precision(policy: str):
    """Keras' global precision policy is ``policy`` inside the block, the previous one again after it."""
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def train(cfg: TrainConfig) -> dict:
    """:func:`_train` under ``cfg.precision``."""
    with precision(cfg.precision):
        return _train(cfg)


def _train(cfg: TrainConfig) -> dict:
    """Train epoch by epoch, selecting on PublicTest; exports the best epoch (or the last, with
    ``keep="last"``) and returns a summary.

    Resumable exactly: after each epoch the weights, the optimizer state, the epoch and the random states
    go to ``cfg.checkpoints``; the shuffle of epoch *e* is a function of (seed, e). Rerunning the same command
    continues where a killed run stopped. Each epoch appends a row to ``history.csv`` (PublicTest accuracy
    as is and mirrored, on the epochs ``check_every`` checks). With ``export_above`` set, the network is exported to ``cfg.out`` each time its
    mirrored PublicTest accuracy beats both that figure and every earlier epoch, and never otherwise.

    Backend-agnostic Keras: the data are numpy arrays and the augmentation runs as the first layers of
    the training model, so the same code trains on TensorFlow here and on JAX on a GPU machine
    (``KERAS_BACKEND=jax``). The exported model is the inner network, without the augmentation."""
    import keras

    from .model import build_model

    keras.utils.set_random_seed(cfg.seed)
    data = load_dataset(cfg.data)
    train_set, select_set = data.split(cfg.train_split), data.split(cfg.select_split)
    y_train = training_targets(cfg, data)
    if cfg.limit:
        train_set.images, train_set.labels = train_set.images[: cfg.limit], train_set.labels[: cfg.limit]
        y_train = y_train[: cfg.limit]
    x_train, x_val = preprocess(train_set.images), preprocess(select_set.images)
    x_clean = x_train[np.random.default_rng(cfg.seed).permutation(len(x_train))[: cfg.bn_faces]]
    weights = class_weights(train_set.labels, cfg.class_weight)[train_set.labels]

    steps = int(np.ceil(len(x_train) / cfg.batch_size))
    model = build_model(tuple(cfg.widths), tuple(cfg.convs), cfg.dropout)
    if cfg.init_from:
        model.set_weights(keras.models.load_model(cfg.init_from, compile=False).get_weights())
    teachers = [frozen_teacher(path, f"teacher{i}") for i, path in enumerate(cfg.teacher_networks)]
    trainer = training_model(model, augmenter(cfg), teachers)
    if teachers:
        loss, accuracy = distillation_loss(cfg.label_smoothing, cfg.teacher_weight), student_accuracy()
    else:
        loss, accuracy = keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing), "accuracy"
    trainer.compile(optimizer=_optimizer(cfg, steps), loss=loss, metrics=[accuracy])
    ckpt = Path(cfg.checkpoints)
    ckpt.mkdir(parents=True, exist_ok=True)
    (ckpt / "config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")
    first, best, (averaged_epochs, average) = _load_state(trainer, ckpt)
    averaged_from = cfg.epochs - cfg.average_last if cfg.average_last else cfg.epochs
    checked_from = cfg.epochs - cfg.epochs // 3
    log = ckpt / "history.csv"
    if not log.exists():
        log.write_text("epoch,learning_rate,loss,accuracy,val_accuracy,val_accuracy_mirrored,seconds,finished_at\n")
    out = Path(cfg.out)
    exported = False
    if cfg.export_above and best > cfg.export_above and not (out / "fer_cnn.keras").exists():
        # resumed from a bank (tools/campaign.py) on a new machine, without its candidate: export it again
        exported = export(keras.models.load_model(ckpt / "best.keras", compile=False), out)
    started = time.time()
    last = min(cfg.epochs, first + cfg.stop_after) if cfg.stop_after else cfg.epochs

    def keep_if_best(network, accuracy: float) -> None:  # an epoch, or the weight average at the end
        nonlocal best, exported
        if accuracy > best:
            best = accuracy
            network.save(ckpt / "best.keras")
            if cfg.export_above and best > cfg.export_above:
                exported = export(network, out)

    for epoch in range(first, last):
        t0 = time.time()
        order = np.random.default_rng([cfg.seed, epoch]).permutation(len(x_train))
        x_epoch, y_epoch, w_epoch = x_train[order], y_train[order], weights[order]
        if cfg.mixup:
            x_epoch, y_epoch, w_epoch = mix_faces(x_epoch, y_epoch, w_epoch, cfg.mixup, np.random.default_rng([cfg.seed, epoch, 1]))
        fit = trainer.fit(epoch_batches(x_epoch, y_epoch, w_epoch, cfg.batch_size), shuffle=False, epochs=1, verbose=2)
        if epoch >= averaged_from:  # the running mean of the weights after each averaged epoch
            averaged_epochs += 1
            weights_now = model.get_weights()
            average = [a + (w - a) / averaged_epochs for a, w in zip(average, weights_now)] if averaged_epochs > 1 else weights_now
        accuracies = ""
        if epoch >= checked_from or (epoch + 1) % cfg.check_every == 0:
            checked = _as_used(model, x_clean)
            plain, mirrored = mirrored_accuracy(checked, x_val, select_set.labels)
            keep_if_best(checked, mirrored)
            accuracies = f"{plain:.5f},{mirrored:.5f}"
        lr = float(keras.ops.convert_to_numpy(trainer.optimizer.learning_rate))
        _save_state(trainer, ckpt, epoch + 1, best, (averaged_epochs, average))
        with log.open("a") as fh:
            fh.write(
                f"{epoch},{lr:.6g},{fit.history['loss'][0]:.5f},{fit.history['accuracy'][0]:.5f},"
                f"{accuracies or ','},{time.time() - t0:.1f},{time.strftime('%Y-%m-%dT%H:%M:%S')}\n"
            )
    averaged = None
    if average and last == cfg.epochs:
        network = float32_copy(model)
        network.set_weights(average)
        network = _as_used(network, x_clean)
        network.save(ckpt / "average.keras")
        averaged = mirrored_accuracy(network, x_val, select_set.labels)[1]
        keep_if_best(network, averaged)
    seconds = time.time() - started

    if not cfg.export_above:
        if cfg.keep == "best" and (ckpt / "best.keras").exists():
            model = keras.models.load_model(ckpt / "best.keras")
        else:
            model = _as_used(model, x_clean)
        exported = export(model, out)
    summary = {
        "config": asdict(cfg),
        "train_rows": int(len(x_train)),
        "epochs_done": last,
        "best_val_accuracy_mirrored": best,
        "average_val_accuracy_mirrored": averaged,  # of the weight average, when there is one
        "seconds_this_run": round(seconds, 1),
        "parameters": int(model.count_params()),
        "backend": keras.backend.backend(),
        "tflite_exported": exported,
    }
    if exported or not cfg.export_above:
        (out / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _as_used(model, x_clean: np.ndarray):
    """The float32 network that is checked, saved and exported: a copy of ``model``, its batch-norm statistics
    recomputed over ``x_clean`` when there are any."""
    copy = float32_copy(model)
    if len(x_clean):
        recalibrate_batchnorm(copy, x_clean)
    return copy


def export(model, out: Path) -> bool:
    """Write ``fer_cnn.keras`` (weights only, no optimizer state) and ``fer_cnn.tflite``, the TFLite
    flatbuffer that the app runs. The flatbuffer's weights are quantized to int8 (dynamic-range
    quantization: activations stay float, so no calibration data is needed). On the first model this
    made the runtime 3.3x faster in batches (3,053 -> 10,019 faces/s on 2 cores) for 0.06 points of
    PublicTest accuracy with mirror averaging (65.62% -> 65.56%); full int8 with calibration was only
    7% faster still and cost 0.31 points. Returns whether the .tflite was written (it needs TensorFlow)."""
    import keras

    out.mkdir(parents=True, exist_ok=True)
    plain = float32_copy(model)  # uncompiled: no optimizer state in the file
    plain.save(out / "fer_cnn.keras")
    if keras.backend.backend() != "tensorflow":  # e.g. JAX on a GPU machine: convert later, where
        return False  # TensorFlow is, with `python -m fer export fer_cnn.keras`
    import tensorflow as tf
    converter = tf.lite.TFLiteConverter.from_keras_model(plain)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    (out / "fer_cnn.tflite").write_bytes(converter.convert())
    return True


def float32_copy(model):
    """``model`` rebuilt with the same weights to compute in float32, whatever precision it trained in (mixed
    precision keeps the weights in float32 and only computes in bfloat16): what is saved and exported."""
    import keras

    def plain(node):
        if isinstance(node, dict):
            if node.get("class_name") == "DTypePolicy":
                return {**node, "config": {"name": "float32"}}
            return {key: plain(value) for key, value in node.items()}
        return [plain(value) for value in node] if isinstance(node, list) else node

    copy = keras.Model.from_config(plain(model.get_config()))
    copy.set_weights(model.get_weights())
    return copy
