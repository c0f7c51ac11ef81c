"""How much server CPU one student of a live class costs: start the app, join N students (one headless
Chromium each, a fake camera playing a real face), and read the server's CPU time while they stream.

Usage: .venv/bin/python tools/class_load.py SAMPLES_DIR [N ...]    (needs Debian's chromium + playwright)
Prints, per N: server CPU in cores, per student, and what the dashboard showed.
"""

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
from tests.test_browser import _browser, _free_port, _goto, _metric, _wait, _webrtc_button, write_y4m  # noqa: E402

PHOTOS = ["faceapi_happy.jpg", "faceapi_surprised.jpg", "faceapi_angry.jpg", "faceapi_neutral.jpg",
          "faceapi_sad.jpg", "faceapi_fearful.jpg", "faceapi_disgusted.jpg", "wujie_angry_man.jpg"]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(samples: Path, n: int, work: Path, seconds: float = 20.0) -> dict:
    port = _free_port()
    env = dict(os.environ, FER_DATABASE_URL=f"sqlite:///{work / f'load{n}.db'}", FER_MAX_STREAMS="1000")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "serve.py", f"--server.port={port}", "--server.headless=true",
         "--server.fileWatcherType=none"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://localhost:{port}"
    try:
        time.sleep(6)
        with sync_playwright() as p:
            teacher = _browser(p, write_y4m(work / "t.y4m", face_clip(samples / PHOTOS[0], 0.2)))
            dash = teacher.new_page()
            _goto(dash, url + "/class")
            dash.get_by_role("button", name="Start a class").click()
            link = dash.locator('code:has-text("/join?room=")')
            link.wait_for(timeout=30_000)
            students = []
            for i in range(n):
                photo = PHOTOS[i % len(PHOTOS)]
                b = _browser(p, write_y4m(work / f"{i}.y4m", face_clip(samples / photo, 2.0)))
                page = b.new_page()
                page.goto(link.inner_text().strip())
                page.get_by_text("I agree").click()
                _webrtc_button(page, "START").click(timeout=60_000)
                students.append(b)
            seen = _wait(lambda: _metric(dash, "Students streaming now") == n, timeout=60)
            start_cpu, start = cpu_seconds(server.pid), time.monotonic()
            time.sleep(seconds)
            cores = (cpu_seconds(server.pid) - start_cpu) / (time.monotonic() - start)
            shown = _metric(dash, "Students streaming now")
            for b in students:
                b.close()
            teacher.close()
        return {"students": n, "dashboard_saw_all": seen, "dashboard_now": shown,
                "server_cores": round(cores, 3), "server_cores_per_student": round(cores / n, 3)}
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    samples = Path(sys.argv[1])
    with tempfile.TemporaryDirectory() as work:
        for n in map(int, sys.argv[2:] or ["1", "4"]):
            print(measure(samples, n, Path(work)), flush=True)
