"""How big a host the app needs: the server's memory at rest, per live viewer and per class student, and
its CPU per student, measured on a real server with real browsers (docs/sizing.md).

Starts ``streamlit run serve.py`` with MALLOC_ARENA_MAX=2 (as the Procfile sets it) and room for every stream
(FER_MAX_STREAMS high), and reads the server's resident memory (VmRSS) and CPU time from /proc:

1. at rest: after the start and one page view (the photo page, past the first-visit notice);
2. live viewers, 1 then 2 then 4 at once: each a headless Chromium whose fake camera plays a real face
   at 640x480 and 30 fps to the live page;
3. on a fresh server, a teacher's dashboard, then 1, then 4, then 8 students at once: each a headless
   Chromium on the join link, a face at 320x240 and ~5 fps, one analysis a second.

At each step it waits ``--settle`` seconds, then samples every second for ``--seconds`` seconds: RSS
(median and highest) and the server's CPU in cores. The browsers run on the same machine as the server.

Usage: .venv/bin/python tools/sizing.py SAMPLES_DIR [--viewers 1 2 4] [--students 1 4 8] [--json OUT]
[--server-nice -10]   (needs Debian's chromium + playwright). Prints the machine, one line per step, then a
Markdown table.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.conftest import face_clip, faceless_clip  # noqa: E402
from tests.test_browser import _browser, _free_port, _goto, _metric, _start, _student_streams, _wait, write_y4m  # noqa: E402
from tools.class_load import PHOTOS, cpu_seconds  # noqa: E402
from tools.live_soak import rss_mb  # noqa: E402


def machine() -> dict:
    info = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), []))
    wanted = ["avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16"]
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return {"date": date.today().isoformat(), "cpu": model, "cores": os.cpu_count(),
            "flags": [f for f in wanted if f in flags], "memory_gb": round(mem_kb / 1024**2, 1),
            "python": platform.python_version(), "load_average_at_start": os.getloadavg()}


class App:
    """The app server in a subprocess, with the Procfile's malloc setting."""

    def __init__(self, work: Path, name: str, nice: int = 0):
        self.port = _free_port()
        env = dict(os.environ, MALLOC_ARENA_MAX="2", FER_MAX_STREAMS="1000",
                   FER_DATABASE_URL=f"sqlite:///{work / f'{name}.db'}")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "serve.py", f"--server.port={self.port}", "--server.headless=true",
             "--server.fileWatcherType=none", "--browser.gatherUsageStats=false"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=(lambda: os.nice(nice)) if nice else None)
        self.url = f"http://localhost:{self.port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(self.url + "/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            self.stop()
            raise RuntimeError("the app did not start")

    def sample(self, seconds: float) -> dict:
        """RSS every second for ``seconds``, and the CPU the server used meanwhile (in cores)."""
        cpu0, t0, rss = cpu_seconds(self.proc.pid), time.monotonic(), []
        while time.monotonic() - t0 < seconds:
            rss.append(rss_mb(self.proc.pid))
            time.sleep(1.0)
        cores = (cpu_seconds(self.proc.pid) - cpu0) / (time.monotonic() - t0)
        return {"rss_mb": round(statistics.median(rss), 1), "rss_max_mb": round(max(rss), 1), "cores": round(cores, 3)}

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def step(app: App, what: str, streams: int, settle: float, seconds: float, rows: list, **extra) -> dict:
    time.sleep(settle)
    row = {"step": what, "streams": streams} | app.sample(seconds) | extra | {"load_average": os.getloadavg()[0]}
    rows.append(row)
    print(json.dumps(row), flush=True)
    return row


def live_viewers(p, app: App, levels: list[int], camera: Path, settle: float, seconds: float, rows: list) -> None:
    page_view = _browser(p, camera)
    page = page_view.new_page()
    _goto(page, app.url)
    page.get_by_text("Emotions in a photo").wait_for(timeout=60_000)
    step(app, "at rest, after one page view", 0, settle, seconds, rows)
    page_view.close()
    viewers = []
    for level in levels:
        while len(viewers) < level:
            browser = _browser(p, camera)
            page = browser.new_page()
            _goto(page, app.url + "/live")
            if not _start(page, lambda: _metric(page, "Faces") >= 1):  # noqa: B023
                raise RuntimeError("a live viewer got no face through")
            viewers.append((browser, page))
        fps = [_metric(page, "Frames/s") for _, page in viewers]
        step(app, f"{level} live viewer(s)", level, settle, seconds, rows, fps_per_viewer=fps)
    for browser, _ in viewers:
        browser.close()
    step(app, "live viewers gone", 0, settle, seconds, rows)


def students(p, app: App, levels: list[int], samples: Path, work: Path, settle: float, seconds: float, rows: list) -> None:
    teacher = _browser(p, write_y4m(work / "teacher.y4m", faceless_clip(0.5)))
    dashboard = teacher.new_page(viewport={"width": 1400, "height": 1000})
    _goto(dashboard, app.url + "/class")
    step(app, "at rest, after one page view", 0, settle, seconds, rows)
    dashboard.get_by_role("button", name="Start a class").click()
    link = dashboard.locator('code:has-text("/join?room=")')
    link.wait_for(timeout=30_000)
    join = link.inner_text().strip()
    step(app, "teacher's dashboard, no student", 0, settle, seconds, rows)
    joined = []
    for level in levels:
        while len(joined) < level:
            photo = PHOTOS[len(joined) % len(PHOTOS)]
            browser = _browser(p, write_y4m(work / f"s{len(joined)}.y4m", face_clip(samples / photo, 2.0)))
            page = browser.new_page()
            not_found = page.get_by_role("dialog").filter(has_text="Page not found")
            page.add_locator_handler(not_found, lambda dialog: dialog.get_by_role("button").first.click())
            page.goto(join)
            page.get_by_text("I agree").click()
            if not _student_streams(page):
                raise RuntimeError(f"no frame of student {len(joined) + 1} reached the app")
            joined.append(browser)
        _wait(lambda: _metric(dashboard, "Students streaming now") == level, timeout=60)  # noqa: B023
        row = step(app, f"{level} student(s)", level, settle, seconds, rows,
                   dashboard_shows=_metric(dashboard, "Students streaming now"))
        row["cores_per_student"] = round(row["cores"] / level, 3)
    for browser in joined:
        browser.close()
    step(app, "students gone", 0, settle, seconds, rows)
    teacher.close()


def table(rows: list[dict]) -> str:
    lines = ["| server | streams | RSS, median (MB) | RSS, highest (MB) | server CPU (cores) | per stream |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        per = ""
        if "cores_per_student" in r:
            per = f"{r['cores_per_student']:.3f} cores/student"
        elif r.get("fps_per_viewer"):
            per = "frames/s seen: " + ", ".join(f"{f:g}" for f in r["fps_per_viewer"])
        lines.append(f"| {r['server']} | {r['step']} | {r['rss_mb']:.0f} | {r['rss_max_mb']:.0f} | {r['cores']:.3f} | {per} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("samples", type=Path)
    parser.add_argument("--viewers", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--students", type=int, nargs="*", default=[1, 4, 8])
    parser.add_argument("--settle", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--server-nice", type=int, default=0,
                        help="the server's niceness: below 0 (as root) keeps the browsers and other jobs on this "
                        "machine from starving it, as on a host of its own")
    args = parser.parse_args()
    print(json.dumps(machine() | {"server_nice": args.server_nice}), flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        work = Path(tmp)
        camera = write_y4m(work / "face.y4m", face_clip(args.samples / "faceapi_happy.jpg"))
        for name, run in (("live", lambda app, out: live_viewers(p, app, args.viewers, camera, args.settle, args.seconds, out)),
                          ("class", lambda app, out: students(p, app, args.students, args.samples, work, args.settle, args.seconds, out))):
            if not (args.viewers if name == "live" else args.students):
                continue
            app = App(work, name, args.server_nice)
            try:
                out = []
                run(app, out)
                rows += [r | {"server": name} for r in out]
            finally:
                app.stop()
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine() | {"server_nice": args.server_nice}, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
