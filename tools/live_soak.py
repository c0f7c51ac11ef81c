"""The app server's memory over a long live session: start the app, open the live page in headless
Chromium with a fake camera playing a real face, and read the server's resident memory, threads and
the page's frames per second every ``--every`` seconds for ``--minutes`` minutes.

Usage: .venv/bin/python tools/live_soak.py SAMPLES_DIR [--minutes 10] [--every 30]
(needs Debian's chromium + playwright). Prints one line per reading, then the spread of the readings
after the first minute.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.conftest import face_clip  # noqa: E402
from tests.test_browser import _free_port, _metric, _open_live, _threads, _wait, write_y4m  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def soak(samples: Path, minutes: float, every: float, work: Path) -> list[dict]:
    port = _free_port()
    env = dict(os.environ, FER_DATABASE_URL=f"sqlite:///{work / 'soak.db'}", FER_MAX_STREAMS="1000")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "serve.py", f"--server.port={port}", "--server.headless=true",
         "--server.fileWatcherType=none"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    readings = []
    try:
        time.sleep(6)
        with sync_playwright() as p:
            browser, page = _open_live(p, f"http://localhost:{port}", write_y4m(work / "face.y4m", face_clip(samples / "faceapi_happy.jpg")))
            if not _wait(lambda: _metric(page, "Faces") >= 1, timeout=60):
                raise RuntimeError("no face reached the live panel")
            start = time.monotonic()
            while (elapsed := time.monotonic() - start) <= minutes * 60:
                reading = {"minute": round(elapsed / 60, 2), "rss_mb": round(rss_mb(server.pid), 1),
                           "threads": _threads(server.pid), "fps": _metric(page, "Frames/s"),
                           "ms_per_frame": _metric(page, "ms/frame")}
                readings.append(reading)
                print(reading, flush=True)
                time.sleep(every)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    return readings


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("samples", type=Path)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        readings = soak(args.samples, args.minutes, args.every, Path(work))
    settled = [r["rss_mb"] for r in readings if r["minute"] >= 1] or [r["rss_mb"] for r in readings]
    print(f"RSS after the first minute: min {min(settled):.1f} MB, max {max(settled):.1f} MB, "
          f"last {settled[-1]:.1f} MB over {readings[-1]['minute']:.1f} min")
