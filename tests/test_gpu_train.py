"""tools/gpu_train.py, the prepared one-call GPU run, tested on the CPU with a tiny dataset: it times its
first epochs, fits the rest to its budget, and leaves loadable checkpoints and a summary in --out."""

import json
import subprocess
import sys

import numpy as np

from .conftest import ROOT


def test_gpu_script_runs_on_cpu_and_leaves_a_checkpoint_per_network_and_a_taught_student(tmp_path):
    rng = np.random.default_rng(0)
    n_train, n_test = 96, 21
    np.savez(
        tmp_path / "tiny.npz",
        pixels=rng.integers(0, 256, (n_train + n_test, 48, 48), dtype=np.uint8),
        emotion=np.arange(n_train + n_test, dtype=np.uint8) % 7,
        usage=np.array(["Training"] * n_train + ["PublicTest"] * n_test),
    )
    out = tmp_path / "out"

    def run(minutes: float, max_epochs: int, networks: int) -> tuple[dict, list]:
        done = subprocess.run(
            [sys.executable, str(ROOT / "tools" / "gpu_train.py"), "--data", str(tmp_path / "tiny.npz"), "--out", str(out),
             "--minutes", str(minutes), "--max-epochs", str(max_epochs), "--networks", str(networks),
             "--widths", "4", "8", "--convs", "1", "1", "--batch-size", "32", "--checkpoint-every", "1",
             "--student-widths", "2", "4", "--student-convs", "1", "1"],
            capture_output=True, text=True, cwd=tmp_path, timeout=600,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads((out / "summary.json").read_text()), json.loads((out / "history.json").read_text())

    # time for more epochs than allowed: the first network has all of them, then a second one, then the student
    # taught by both
    summary, history = run(minutes=10, max_epochs=3, networks=2)
    assert summary["backend"] == "tensorflow" and summary["gpu"] is False
    assert [(n["network"], n["epochs"], n["seed"], n["teachers"]) for n in summary["networks"]] == [
        (0, 3, 7, 0), (1, 3, 8, 0), ("student", 3, 9, 2)]
    assert [(h["network"], h["epoch"]) for h in history] == [(k, e) for k in (0, 1, "student") for e in range(3)]
    for network in summary["networks"]:
        assert network["jit_compiled"] is False  # TensorFlow on the CPU: a graph; under JAX, XLA
        rows = [h["val_accuracy_mirrored"] for h in history if h["network"] == network["network"]]
        assert network["best_val_accuracy_mirrored"] == max(rows)

    import keras

    for name, widths in (("best_0", 4), ("best_1", 4), ("student", 2)):
        model = keras.models.load_model(out / f"{name}.keras")
        assert model.layers[1].filters == widths  # the student is the small network, not a teacher
        probs = model.predict(np.zeros((2, 48, 48, 1), np.float32), verbose=0)
        assert probs.shape == (2, 7) and np.allclose(probs.sum(1), 1, atol=1e-4)


def test_the_gpu_trainer_can_compile_each_step_whole():
    """Under JAX one layer marked not jit-compatible makes Keras run the whole training step op by op: the
    first GPU run (2026-12-04, an H200) took 44 s an epoch so, with RandomTranslation, RandomRotation and
    RandomZoom so marked. Every layer of the trainer the script builds must allow XLA."""
    from fer.model import build_model
    from fer.train import TrainConfig
    from tools import gpu_train

    from fer.train import frozen

    cfg = TrainConfig(data="unused")
    teacher = frozen(build_model((4, 8), (1, 1)), "teacher0")
    for trainer in (gpu_train.build_trainer(build_model((4, 8), (1, 1)), cfg),
                    gpu_train.build_trainer(build_model((2, 4), (1, 1)), cfg, [teacher])):  # a network, the student
        assert [layer.name for layer in trainer._flatten_layers() if not layer.supports_jit] == []
