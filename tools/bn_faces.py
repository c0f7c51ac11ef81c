"""How many clean Training faces batch-norm recalibration needs: PublicTest accuracy (as is, mirrored) of a
saved network with its batch-norm statistics as saved, then recomputed (``fer.train.recalibrate_batchnorm``)
over N faces drawn at random, for each N given. PublicTest only: PrivateTest is never read.

    .venv/bin/python tools/bn_faces.py ../shared/data/fer2013/fer2013.npz.xz NETWORK.keras 1024 4096 16384
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fer.data import load_dataset  # noqa: E402
from fer.preprocess import preprocess  # noqa: E402
from fer.train import mirrored_accuracy, recalibrate_batchnorm  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path)
    parser.add_argument("network", type=Path, help="a .keras network (e.g. a campaign's best.keras)")
    parser.add_argument("faces", type=int, nargs="+", help="numbers of Training faces to recompute the statistics over")
    args = parser.parse_args()
    import keras

    data = load_dataset(args.data)
    train, test = data.split("Training"), data.split("PublicTest")
    x_train, x_test = preprocess(train.images), preprocess(test.images)
    order = np.random.default_rng(0).permutation(len(x_train))
    plain, mirrored = mirrored_accuracy(keras.models.load_model(args.network), x_test, test.labels)
    print(f"| faces | seconds | PublicTest, as is | mirrored |\n|---|---|---|---|\n| as saved | | {plain:.2%} | {mirrored:.2%} |")
    for n in args.faces:
        network = keras.models.load_model(args.network)
        started = time.time()
        recalibrate_batchnorm(network, x_train[order[:n]])
        seconds = time.time() - started
        plain, mirrored = mirrored_accuracy(network, x_test, test.labels)
        print(f"| {min(n, len(x_train))} | {seconds:.0f} | {plain:.2%} | {mirrored:.2%} |", flush=True)


if __name__ == "__main__":
    main()
