"""The peer we compare against: the `fer` package from PyPI (Haar cascade + its own TFLite model).

    python tools/peer_fer.py install               # into build/peer-fer, without its dependencies
    python tools/peer_fer.py time FRAMES.npz REPEAT # median ms per frame and faces found, as JSON

It shares our import name, so it lives apart in ``build/peer-fer`` and runs in its own process with that
folder first on its path; its own imports (TensorFlow, OpenCV, pandas, requests, Pillow) are in the test
environment. Developer tooling: ``python -m fer bench`` and ``tools/baselines.py`` call it; the app never does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

VERSION = "25.10.3"
ROOT = Path(__file__).resolve().parent.parent
PEER_DIR = ROOT / "build" / "peer-fer"


def install(peer_dir: Path = PEER_DIR) -> str | None:
    """Install the package into ``peer_dir`` unless it is there; returns None, or why it could not be."""
    if (peer_dir / "fer" / "fer.py").is_file():
        return None
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(peer_dir), f"fer=={VERSION}"],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        return f"pip could not install fer=={VERSION}: {(done.stderr.strip().splitlines() or ['no message'])[-1]}"
    return None


def time_frames(frames_path: str, repeat: int) -> dict:
    """Median milliseconds per frame and faces found, per frame of an .npz of RGB frames. Runs in this
    process with the peer package first on the path."""
    sys.path.insert(0, str(PEER_DIR))
    import numpy as np

    import fer
    from fer.fer import FER

    assert fer.__version__ == VERSION, fer.__file__
    detector = FER()  # its defaults: Haar cascade + its quantized TFLite model
    frames = np.load(frames_path)
    out = {}
    for key in frames.files:
        bgr = np.ascontiguousarray(frames[key][:, :, ::-1])
        found = len(detector.detect_emotions(bgr))
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            detector.detect_emotions(bgr)
            times.append(time.perf_counter() - start)
        out[key] = {"ms": float(np.median(times) * 1000), "faces": found}
    return out


if __name__ == "__main__":
    if sys.argv[1:2] == ["install"]:
        problem = install()
        print(problem or f"fer=={VERSION} in {PEER_DIR}", file=sys.stderr if problem else sys.stdout)
        sys.exit(1 if problem else 0)
    print(json.dumps(time_frames(sys.argv[2], int(sys.argv[3]))))
