"""One GPU call, prepared before any GPU appears: train a network on the device in at most ~9 minutes.

    # on the device machine (Keras 3 on JAX; carry the keras, optree and namex wheels in .whl/ and
    # fer2013.npz.xz in .gpudata/, both listed in .git/info/exclude). At most 64 MiB travel: the data
    # (52 MiB) fits beside the code only with models/, docs/ and notebooks/ untracked for the call
    # (`git rm -r -q --cached` them and list them in .git/info/exclude; `git reset -q -- models docs
    # notebooks` after). No file over 16 MiB comes back (the default net's .keras is 19 MB), at most 8
    # files and 64 MiB in all: the networks come back as one tar in parts.
    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl; export PYTHONPATH=/tmp/site
    KERAS_BACKEND=jax timeout 560 python3 tools/gpu_train.py --data .gpudata/fer2013.npz.xz --minutes 8.7 \
        --out /tmp/run > $OUT/log.txt 2>&1
    tar cf - -C /tmp/run . | split -b 15000000 -d - $OUT/run.tar.part  # here: cat run.tar.part* | tar xf -
    # The wheels: `.venv/bin/pip download --no-deps --only-binary=:all: --python-version 3.12 --platform
    # manylinux_2_28_x86_64 --platform any -d .whl keras==3.15.1 optree namex`. With 15 minutes of device
    # time a task (2026-12-04, one H200): that call held the machine 499 s, start included (455 s of
    # training: a teacher and a student, 300 epochs each); a second call at once, before the machine goes
    # idle (30 s), with `--minutes 5.3 --seed 17 --networks 1` and `timeout 335`, took 314 s more; then
    # give_back. Each network: `python -m fer export NET.keras --bn-data DATA --bn-faces 2048`, then
    # tools/compare_models.py (models/CAMPAIGN.md, *Shipping a candidate*).
    # here, to test it on the CPU with a tiny run:
    .venv/bin/python tools/gpu_train.py --data tiny.npz --minutes 0.3 --limit 256 --widths 8 16 --convs 1 1

What it does, in order: loads the FER2013 arrays once and puts them on the device; builds the training
model (``fer.train.augmenter`` + ``fer.model.build_model``: the augmentation runs on the device, inside the
model) under mixed precision (bfloat16 on a GPU); trains one warm-up epoch and times it; fits the number
of remaining epochs to the time left (``--minutes`` minus the time used and a margin for the last export);
trains them with SGD + Nesterov momentum on a cosine schedule defined over that number, checkpointing the
best network by PublicTest accuracy (as is and mirrored, the fast mode's views) under ``--out`` every few
epochs, so that a call cut short still returns them. When the first network had its full ``--max-epochs``
and time is left for another whole run like it, it trains the next (seed + 1, ...), up to ``--networks``:
an ensemble, for the accurate mode or as teachers. The last ``--student-share`` of the time is kept for a
student (by default the live network's size): trained the same way with the networks just trained as its
frozen teachers on each augmented batch (``fer.train.training_model``, ``distillation_loss``), saved as
``student.keras``. Back here, ``python -m fer export OUT/best_0.keras`` (or ``OUT/student.keras``) converts
one to the app's runtime, or ``python -m fer train --teacher-networks`` distils them again on the CPU.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fer.data import load_dataset  # noqa: E402
from fer.emotions import EMOTIONS  # noqa: E402
from fer.preprocess import preprocess  # noqa: E402
from fer.train import (  # noqa: E402
    TrainConfig, augmenter, class_weights, distillation_loss, float32_copy, frozen_teacher, mirrored_accuracy, student_accuracy,
    training_model,
)

MARGIN_S = 25  # kept for the last evaluation and export


def main(argv: list[str] | None = None) -> int:
    started = time.time()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="fer2013.npz.xz (or .csv.gz) with Training and PublicTest rows")
    parser.add_argument("--out", required=True, help="checkpoints, history and summary go here ($OUT on the device)")
    parser.add_argument("--minutes", type=float, default=8.5, help="wall-clock budget of the whole run")
    parser.add_argument("--widths", type=int, nargs="+", default=[64, 128, 256, 512])
    parser.add_argument("--convs", type=int, nargs="+", default=[2, 2, 2, 2])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=0.04, help="peak: 0.01 per 64 faces of batch, scaled")
    parser.add_argument("--weight-decay", type=float, default=5e-3, help="decoupled, scaled by the learning rate")
    parser.add_argument("--max-epochs", type=int, default=300)
    parser.add_argument("--checkpoint-every", type=int, default=5)
    parser.add_argument("--limit", type=int, default=0, help="only the first N training rows (a CPU smoke test)")
    parser.add_argument("--seed", type=int, default=7, help="network k trains with seed + k")
    parser.add_argument("--networks", type=int, default=2, help="at most this many, one after another, while time allows (each VGG-sized .keras is 19 MB, the student 10 MB, and 64 MiB come back in all)")
    parser.add_argument("--student-widths", type=int, nargs="+", default=[48, 96, 192, 384], help="the live network's")
    parser.add_argument("--student-convs", type=int, nargs="+", default=[1, 1, 2, 2])
    parser.add_argument("--student-share", type=float, default=0.4, help="of the time left after loading; 0: no student")
    parser.add_argument("--teacher-weight", type=float, default=0.5, help="the teachers' share of the student's target")
    args = parser.parse_args(argv)

    import keras

    from fer.model import build_model

    gpu = keras.backend.backend() == "jax" and _has_gpu()
    if gpu:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    keras.utils.set_random_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    data = load_dataset(args.data)
    train_set, select = data.split("Training"), data.split("PublicTest")
    images, labels = train_set.images, train_set.labels
    if args.limit:
        images, labels = images[: args.limit], labels[: args.limit]
    cfg = TrainConfig(data=args.data, erasing=0.5, zoom=0.15, class_weight="sqrt", seed=args.seed)
    x = keras.ops.convert_to_tensor(preprocess(images))  # on the device, once
    y = keras.ops.convert_to_tensor(np.eye(len(EMOTIONS), dtype=np.float32)[labels])
    w = keras.ops.convert_to_tensor(class_weights(labels, cfg.class_weight)[labels])
    x_val, y_val = preprocess(select.images), select.labels
    steps = int(np.ceil(len(images) / args.batch_size))

    jit = keras.backend.backend() == "jax"  # TensorFlow's CPU smoke test runs as a graph, without XLA
    deadline = started + args.minutes * 60 - MARGIN_S
    teachers_until = deadline - args.student_share * (deadline - time.time())
    history: list[dict] = []

    def train_network(k, seed: int, stem: str, planned: int | None, until: float, shape: tuple, teachers=()) -> dict:
        """Network k (a teacher's number, or "student"), its best epoch saved as ``stem``.keras: ``planned``
        epochs, or with None as many as fit before ``until`` (at most --max-epochs)."""
        keras.utils.set_random_seed(seed)
        network = build_model(*shape, 0.4)
        trainer = build_trainer(network, cfg, teachers)

        def compile_with(schedule) -> None:
            opt = keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True, weight_decay=args.weight_decay)
            opt.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
            if teachers:
                loss, accuracy = distillation_loss(0.1, args.teacher_weight), student_accuracy()
            else:
                loss, accuracy = keras.losses.CategoricalCrossentropy(label_smoothing=0.1), "accuracy"
            trainer.compile(optimizer=opt, loss=loss, metrics=[accuracy], jit_compile=jit or "auto")

        def one_epoch() -> object:
            return trainer.fit(x, y, sample_weight=w, batch_size=args.batch_size, epochs=1, shuffle=True, verbose=0)

        best, best_weights = -1.0, None  # the first epoch is always kept, even at 0% on a tiny smoke test

        def save_best() -> None:
            nonlocal best_weights
            if best_weights is not None:
                kept = float32_copy(network)
                kept.set_weights(best_weights)
                kept.save(out / f"{stem}.keras")  # loads under TensorFlow here
                best_weights = None

        def epoch_done(epoch: int, fit, seconds: float) -> None:
            nonlocal best, best_weights
            plain, mirrored = mirrored_accuracy(network, x_val, y_val)  # the float32 softmax layer: exact sums
            row = {
                "network": k, "epoch": epoch, "seconds": round(seconds, 2), "loss": float(fit.history["loss"][-1]),
                "val_accuracy": plain, "val_accuracy_mirrored": mirrored,
            }
            history.append(row)
            print(json.dumps(row), flush=True)
            if row["val_accuracy_mirrored"] > best:  # kept in memory; written every few epochs and at the end
                best, best_weights = row["val_accuracy_mirrored"], network.get_weights()
            if epoch % args.checkpoint_every == 0:
                save_best()
            (out / "history.json").write_text(json.dumps(history))

        # 1. one warm-up epoch (linear ramp to the peak learning rate), timed with its compilation
        compile_with(keras.optimizers.schedules.PolynomialDecay(args.learning_rate / 100, steps, args.learning_rate, power=1.0))
        t0 = time.time()
        fit = one_epoch()
        first = time.time() - t0
        epoch_done(0, fit, first)
        # 2. a second epoch and its evaluation, timed: the cost of each further epoch
        t1 = time.time()
        fit = one_epoch()
        epoch_done(1, fit, time.time() - t1)
        per_epoch = time.time() - t1
        epochs = planned or int(min(args.max_epochs, max(2, 2 + (until - time.time()) // per_epoch)))
        # 3. the rest on a cosine schedule defined over exactly that many epochs
        if epochs > 2:
            compile_with(keras.optimizers.schedules.CosineDecay(args.learning_rate, (epochs - 2) * steps))
            for epoch in range(2, epochs):
                t = time.time()
                fit = one_epoch()
                epoch_done(epoch, fit, time.time() - t)
        save_best()
        return {
            "network": k, "seed": seed, "first_epoch_s": round(first, 2), "epoch_s": round(per_epoch, 2),
            "epochs": epochs, "jit_compiled": bool(trainer.jit_compile), "best_val_accuracy_mirrored": best,
            "parameters": int(network.count_params()), "seconds": round(time.time() - t0, 1), "teachers": len(teachers),
        }

    # As many networks as fit, each over the full --max-epochs once the first shows it can (the GPU's time
    # is rare; several networks make an ensemble, for the accurate mode or as teachers): the first fits its
    # epochs to the time, and each further one starts only if a whole run like the first fits before the
    # student's share of the time begins; the student then fits its epochs to what is left.
    shape = (tuple(args.widths), tuple(args.convs))
    networks = [train_network(0, args.seed, "best_0", None, teachers_until, shape)]
    while len(networks) < args.networks and networks[0]["epochs"] == args.max_epochs:
        if time.time() + networks[0]["seconds"] > teachers_until:
            break
        k = len(networks)
        networks.append(train_network(k, args.seed + k, f"best_{k}", args.max_epochs, teachers_until, shape))
    if args.student_share > 0:  # the live network taught by all of them, on the same augmented batches
        taught = [frozen_teacher(out / f"best_{n['network']}.keras", f"teacher{n['network']}") for n in networks]
        student_shape = (tuple(args.student_widths), tuple(args.student_convs))
        student = train_network("student", args.seed + args.networks, "student", None, deadline, student_shape, taught)
        networks.append(student)
    summary = {
        "backend": keras.backend.backend(), "gpu": gpu, "mixed_precision": gpu, "widths": args.widths, "convs": args.convs,
        "batch_size": args.batch_size, "train_rows": int(len(images)), "networks": networks,
        "wall_s": round(time.time() - started, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))
    return 0


def build_trainer(network, cfg: TrainConfig, teachers=()):
    """The network (and its teachers) behind the augmentation, one model, so that under JAX each training step is one XLA
    program on the device. Keras marks RandomTranslation, RandomRotation and RandomZoom as not
    jit-compatible (their TensorFlow kernel is not), and one such layer makes the JAX trainer run the whole
    step op by op: 44 s an epoch on an H200 (2026-12-04) against 0.12 s for 32 steps of the network
    alone. Their JAX implementations trace under ``jax.jit`` (0.2 ms a batch of 256 there), so they are
    declared compatible here."""
    augment = augmenter(cfg)
    for layer in augment.layers:
        layer.supports_jit = True
    return training_model(network, augment, teachers)


def _has_gpu() -> bool:
    import jax

    return any(d.platform == "gpu" for d in jax.devices())


if __name__ == "__main__":
    sys.exit(main())
