"""What a wider or deeper network costs on this machine: training time per epoch and runtime per face.

Usage: .venv/bin/python tools/train_cost.py [NAME ...] [--precision mixed_bfloat16] [--teachers N | --teacher-names NAME ...]
(default: every architecture below, in float32, without teachers)

For each architecture of ``fer.model.build_model`` it times 60 training steps (batch 64, the training
augmentation included, random data: the cost does not depend on the pixels) and converts the median
step into minutes per FER2013 epoch (449 steps), then exports the network to int8 TFLite, as ``fer export`` does,
and times the app's fast-mode call for one face (``EmotionClassifier(flip=True)``: the face and its
mirror image in one batch), the median of 200 calls, as ``python -m fer bench`` does. With ``--teachers N`` the
steps are a distilling run's (``fer train --teacher-networks``): N frozen networks of the same architecture
see each augmented batch too, and the loss is ``fer.train.distillation_loss``; with ``--teacher-names`` the
teachers are those architectures instead, one each (``VGG wide48:``, fast-distil-long's pair).
The figures decide what can be trained in one session on a 2-core CPU, and what fits the 1 ms per face
budget of the live page.
"""

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

ARCHITECTURES = {  # name: (widths, convs per block)
    "small: b, c (32-256, 1-1-2-2)": ((32, 64, 128, 256), (1, 1, 2, 2)),
    "wide48: fast mode (48-384, 1-1-2-2)": ((48, 96, 192, 384), (1, 1, 2, 2)),
    "wide48, deeper (48-384, 1-2-2-2)": ((48, 96, 192, 384), (1, 2, 2, 2)),
    "wide64 (64-512, 1-1-2-2)": ((64, 128, 256, 512), (1, 1, 2, 2)),
    "VGG-size (64-512, 2-2-2-2)": ((64, 128, 256, 512), (2, 2, 2, 2)),
}
STEPS, BATCH, EPOCH_STEPS = 60, 64, 449


def main(names: list[str], precision: str = "float32", teachers: int = 0, teacher_names: tuple[str, ...] = ()) -> None:
    import keras

    keras.mixed_precision.set_global_policy(precision)  # the training steps; the runtime is int8 either way

    from fer.bench import median_ms
    from fer.classifier import EmotionClassifier
    from fer.model import build_model
    from fer.train import TrainConfig, augmenter, distillation_loss, export, frozen, training_model

    rng = np.random.default_rng(0)
    x = rng.random((STEPS * BATCH, 48, 48, 1), dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 7, len(x)), 7)
    face = rng.integers(0, 256, (1, 48, 48), dtype=np.uint8)
    print(f"{'architecture':<34} {'parameters':>10} {'ms/step':>8} {'min/epoch':>9} {'ms/face':>8}")
    for name, (widths, convs) in ARCHITECTURES.items():
        if names and not any(n in name for n in names):
            continue
        network = build_model(widths, convs)
        shapes = [ARCHITECTURES[_named(t)] for t in teacher_names] or [(widths, convs)] * teachers
        taught_by = [frozen(build_model(*shape), f"teacher{i}") for i, shape in enumerate(shapes)]
        trainer = training_model(network, augmenter(TrainConfig(erasing=0.25)), taught_by)
        trainer.compile(optimizer="adamw", loss=distillation_loss(0.1, 0.5) if taught_by else "categorical_crossentropy")
        trainer.fit(x[: 5 * BATCH], y[: 5 * BATCH], batch_size=BATCH, verbose=0)  # compile, warm up
        ends = []
        clock = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: ends.append(time.perf_counter()))
        trainer.fit(x, y, batch_size=BATCH, verbose=0, callbacks=[clock])
        step = float(np.median(np.diff(ends)))  # the median step: robust to the VM's occasional stalls

        with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()):
            export(network, Path(out))  # the converter prints its saved artifact's signature
            runtime = EmotionClassifier(Path(out) / "fer_cnn.tflite", threads=2, flip=True)  # the fast mode
        per_face = median_ms(lambda: runtime(face), 200)  # as `python -m fer bench` times the classifier
        print(
            f"{name:<34} {network.count_params() / 1e6:>9.2f}M {step * 1000:>8.0f} "
            f"{step * EPOCH_STEPS / 60:>9.1f} {per_face:>8.2f}",
            flush=True,
        )


def _named(part: str) -> str:
    """The one architecture whose name contains ``part``."""
    found = [name for name in ARCHITECTURES if part in name]
    if len(found) != 1:
        raise SystemExit(f"--teacher-names: {part!r} names {len(found)} architectures of {list(ARCHITECTURES)}")
    return found[0]


if __name__ == "__main__":

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="architectures whose name contains one of these (default: all)")
    parser.add_argument("--precision", choices=("float32", "mixed_bfloat16"), default="float32")
    teaching = parser.add_mutually_exclusive_group()
    teaching.add_argument("--teachers", type=int, default=0, help="frozen teachers of the same architecture (default: 0)")
    teaching.add_argument("--teacher-names", nargs="+", default=(), help="frozen teachers of these architectures, one each")
    args = parser.parse_args()
    main(args.names, args.precision, args.teachers, tuple(args.teacher_names))
