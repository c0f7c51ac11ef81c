"""End to end in a real browser: headless Chromium, driven by Playwright, with a fake webcam that plays
a y4m file made here from real faces, streams to the live page over real WebRTC.

Skips outside CI when Chromium is missing; in CI (``CI`` set) a missing browser is a failure.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from .conftest import FPS, H, ROOT, W, face_clip, faceless_clip

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = ROOT / "build" / "screenshots"

if not CHROMIUM and not os.environ.get("CI"):
    pytest.skip("no Chromium installed (CI installs Debian's chromium)", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api")


def write_y4m(path: Path, frames: list[np.ndarray]) -> Path:
    """RGB frames to a YUV4MPEG2 file, the format Chromium's fake camera reads (and loops)."""
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{W} H{H} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server(str):
    """The app's URL, with the server's process id."""

    pid: int


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def start_server(env: dict) -> tuple[Server, subprocess.Popen]:
    """``streamlit run serve.py`` (the deployed server: app.py behind the upload budget) on a free port with
    ``env``; returns its URL once it answers."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "serve.py", f"--server.port={port}", "--server.headless=true",
         "--server.fileWatcherType=none", "--browser.gatherUsageStats=false"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    url = Server(f"http://localhost:{port}")
    url.pid = proc.pid
    for _ in range(120):
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            return url, proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    pytest.fail("streamlit did not start: " + proc.stdout.read())


def stop_server(proc: subprocess.Popen) -> str:
    """Stop a server from :func:`start_server`; its log, which must hold no traceback."""
    proc.terminate()
    log = proc.communicate(timeout=20)[0]
    assert "Traceback" not in log, log
    return log


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data, scratch = tmp_path_factory.mktemp("server_data"), tmp_path_factory.mktemp("server_tmp")
    env = dict(os.environ, FER_DATABASE_URL=f"sqlite:///{data / 'classes.db'}", TMPDIR=str(scratch))
    # Three live viewers at once here: room for them (the default, 8 with a viewer counting 5, fits a
    # 512 MB host); a module can set its own FER_MAX_STREAMS (tests/test_admission_browser.py).
    env.setdefault("FER_MAX_STREAMS", "100")
    url, proc = start_server(env)
    yield url
    stop_server(proc)
    # Privacy: after live sessions and a class, the server wrote nothing but the class database.
    assert {p.name for p in data.iterdir()} <= {"classes.db", "classes.db-shm", "classes.db-wal"}
    assert list(scratch.rglob("*")) == [], list(scratch.rglob("*"))


def _browser(p, camera: Path | None = None):
    """Headless Chromium; with ``camera``, a fake webcam that plays that y4m file (and loops it)."""
    fake_camera = [
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={camera}"
    ] if camera else []
    return p.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", *fake_camera],
    )


def _metric(page, label: str) -> float:
    value = page.locator(f'[data-testid="stMetric"]:has-text("{label}") [data-testid="stMetricValue"]')
    return float(value.inner_text())


def _webrtc_button(page, name: str):
    return page.frame_locator('iframe[title*="streamlit_webrtc"]').get_by_role("button", name=name)


def _wait(predicate, timeout: float = 30.0, every: float = 0.25):
    """Poll ``predicate`` until it holds. An element it reads that is not on the page yet (mid-rerun on a busy
    machine: CI once waited 30 s in one read of the live panel, and the failure skipped the second START
    click) counts as "not yet", not as a failure."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if predicate():
                return True
        except playwright.TimeoutError:
            pass
        time.sleep(every)
    return False


def _labels(page) -> list[str]:
    text = page.locator('[data-testid="stMarkdownContainer"]:has-text("Face ")').all_inner_texts()
    return re.findall(r"Face \d+: (\w+)", " ".join(text))


def _goto(page, url: str) -> None:
    """Open a page of the app as a first visit does: past the first-run notice (app_pages/welcome.py),
    which every address but a student's join link shows first."""
    page.goto(url)
    page.get_by_role("button", name="I understand, continue").click(timeout=60_000)


def _open_live(p, url: str, camera: Path, started):
    """The live page in a new browser whose camera plays ``camera``, started: START is clicked (again if the
    click was lost, ``_start``) until ``started(page)`` holds."""
    browser = _browser(p, camera)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    _goto(page, url + "/live")
    assert _start(page, lambda: started(page)), "the live stream did not start"
    return browser, page


def test_live_page_labels_a_real_face_steadily(server, tmp_path, samples):
    camera = write_y4m(tmp_path / "happy.y4m", face_clip(samples / "faceapi_happy.jpg"))
    with playwright.sync_playwright() as p:
        browser, page = _open_live(p, server, camera, lambda page: _metric(page, "Faces") >= 1)
        # The panel refreshes twice a second: read it for 5 s; the label must stay the same.
        seen, fps = [], []
        for _ in range(10):
            time.sleep(0.5)
            seen += _labels(page)
            fps.append(_metric(page, "Frames/s"))
        assert seen and set(seen) == {"happy"}, seen
        # Frames keep being analysed all along (the panel reads 0 a second after frames stop); the rate itself
        # is a figure, not an assertion: it falls when other work shares the two cores (28-30 when quiet).
        assert min(fps) > 0, fps
        print(f"live panel: median {np.median(fps):g} frames/s")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "live.png"), full_page=True)

        # STOP, then START again: the stream comes back and the timeline can be downloaded in between.
        assert _stop(page)
        page.get_by_text("Download timeline CSV").wait_for(timeout=30_000)
        assert _metric(page, "Frames/s") == 0  # not the last stream's rate, which would read as frames arriving
        with page.expect_download() as download:
            page.get_by_text("Download timeline CSV").click()
        rows = Path(download.value.path()).read_text().splitlines()
        assert rows[0].startswith("t,frames,faces,angry") and len(rows) >= 4
        assert _start(page, lambda: _metric(page, "Faces") >= 1 and _metric(page, "Frames/s") > 0)
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()


def test_live_page_without_a_face(server, tmp_path):
    camera = write_y4m(tmp_path / "empty.y4m", faceless_clip())
    with playwright.sync_playwright() as p:
        browser, page = _open_live(p, server, camera, lambda page: _metric(page, "Frames/s") > 0)
        page.get_by_text("No face in view").wait_for(timeout=10_000)
        assert _metric(page, "Faces") == 0
        browser.close()


def _click_until(page, name: str, done, timeout: float) -> bool:
    """Click the streamer's ``name`` button until ``done()`` holds. On two cores shared with several browsers a
    click can land while the component is still re-rendering (after STOP, or after the consent rerun on the
    join page) and be lost; then the button is still there and is clicked once more."""
    button = _webrtc_button(page, name)
    button.click(timeout=60_000)
    if _wait(done, timeout=timeout):
        return True
    if button.is_visible():  # else the click did land and the connection is slow: only wait longer
        print(f"{name} clicked again: the first click was lost")
        button.click(timeout=60_000)
    if _wait(done, timeout=timeout):
        return True
    print(f"after {name}, the page read:\n" + page.locator("body").inner_text(timeout=10_000)[:3000])
    return False


def _start(page, started) -> bool:
    """START until ``started()`` holds. Without the second click, the parallel-sessions test failed in 2 of 6
    runs here; the class test failed once in CI with fewer than three students shown."""
    return _click_until(page, "START", started, timeout=45)


def _stop(page) -> bool:
    """STOP until START is back (the stream has ended). A lost STOP left a stream running, which the
    parallel-sessions test counted as leaked threads (here and in CI)."""
    return _click_until(page, "STOP", _webrtc_button(page, "START").is_visible, timeout=30)


def _start_flowing(page, flowing) -> bool:
    """START until ``flowing()`` holds, which needs frames analysed on the server, not only a connection. In CI
    once (stop 36) a student's relayed pair read connected with 760 bytes sent, and no frame reached the app in
    the next 60 s; a viewer would press STOP and START again, and so does this, once, saying so. A connection
    that never carries video still fails."""
    if _start(page, flowing):
        return True
    print("no frame analysed after START; STOP and START again")
    return _stop(page) and _start(page, flowing)


def _student_streams(page) -> bool:
    """A student's join page: START until its own face is seen on the server ("Connected." alone shows before
    any video has flowed)."""
    seen = page.get_by_text("Connected. Your face is in view")
    return _start_flowing(page, lambda: seen.count() > 0)


def _restart(page) -> bool:
    """START after a STOP, until frames flow (the panel reads 0 frames/s while stopped)."""
    return _start(page, lambda: _metric(page, "Frames/s") > 0)


def test_parallel_sessions_stop_start_and_dropped_connections(server, tmp_path, samples):
    """Three viewers stream at once for a minute; then STOP/START cycles and a page closed mid-stream
    leave no threads behind (the server's thread count goes back to where it was)."""
    camera = write_y4m(tmp_path / "happy.y4m", face_clip(samples / "faceapi_happy.jpg"))
    with playwright.sync_playwright() as p:
        browser = _browser(p, camera)
        pages = []
        for _ in range(3):
            # Each stream is started (START clicked again if the click was lost) and delivers a face before the
            # next starts: one fixed wait for all three ran out once here, on a machine saturated by training.
            page = browser.new_page()
            _goto(page, server + "/live")
            assert _start(page, lambda: _metric(page, "Faces") >= 1), "no face reached a live panel"
            pages.append(page)

        def flowing(page) -> bool:
            return _metric(page, "Frames/s") > 0 and _metric(page, "Faces") >= 1

        for _ in range(4):  # a minute of three sessions sharing two cores
            time.sleep(15)
            for page in pages:  # frames still flow: a moment's stall on a busy machine is not a stopped stream
                assert _wait(lambda: flowing(page), timeout=15)
        for page in pages:
            assert _stop(page)
        time.sleep(5)
        baseline = _threads(server.pid)
        for _ in range(3):
            assert _restart(pages[0]), "no frames after START"
            assert _stop(pages[0])
            time.sleep(2)
        assert _restart(pages[1]), "no frames after START"
        pages[1].close()  # the connection drops without STOP
        # The server notices a dropped peer only when WebRTC's connection checks fail, which takes a
        # while (5 s was not always enough here); then its threads must be gone.
        assert _wait(lambda: _threads(server.pid) <= baseline + 2, timeout=90), (baseline, _threads(server.pid))
        assert all(page.locator('[data-testid="stException"]').count() == 0 for page in (pages[0], pages[2]))
        browser.close()


def start_class(p, url: str, tmp_path: Path, viewport: dict | None = None):
    """A teacher (a browser whose camera sees no one) starts a class on the server at ``url``: (the
    teacher's browser, the dashboard page, the join link)."""
    teacher = _browser(p, write_y4m(tmp_path / "teacher.y4m", faceless_clip(0.5)))
    dashboard = teacher.new_page(viewport=viewport or {"width": 1280, "height": 720})
    _goto(dashboard, url + "/class")
    dashboard.get_by_role("button", name="Start a class").click()
    link = dashboard.locator('code:has-text("/join?room=")')
    link.wait_for(timeout=30_000)
    return teacher, dashboard, link.inner_text().strip()


def download(page, button: str) -> Path:
    """Click a download button; the downloaded file."""
    with page.expect_download() as download:
        page.get_by_role("button", name=button).click()
    return Path(download.value.path())


def download_text(page, button: str) -> str:
    return download(page, button).read_text()


def end_class_and_download(dashboard, button: str) -> str:
    """End the class from its dashboard, wait for the report, and return one of its downloads."""
    dashboard.get_by_role("button", name="End the class").click()
    dashboard.get_by_text("Class report").wait_for(timeout=30_000)
    return download_text(dashboard, button)


def test_class_mood_with_several_students(server, tmp_path, samples):
    """A teacher starts a class; three students, each a browser with its own camera and face, join it;
    the dashboard shows all three and their expressions within seconds; the report downloads."""
    faces = {"faceapi_happy.jpg": "happy", "faceapi_surprised.jpg": "surprise", "faceapi_angry.jpg": "angry"}
    with playwright.sync_playwright() as p:
        teacher, dashboard, join = start_class(p, server, tmp_path, {"width": 1400, "height": 1000})

        students = []
        for photo in faces:
            browser = _browser(p, write_y4m(tmp_path / f"{photo}.y4m", face_clip(samples / photo, seconds=2.0)))
            page = browser.new_page()
            page.goto(join)
            page.get_by_text("I agree").click()
            assert _student_streams(page), f"{photo}: no frame of the student reached the app"
            students.append(browser)

        started = time.monotonic()
        streaming = lambda: _metric(dashboard, "Students streaming now")  # noqa: E731
        assert _wait(lambda: streaming() == 3, timeout=60), f"{streaming():g} students shown, 3 streaming"
        assert _wait(lambda: _metric(dashboard, "Faces") >= 3, timeout=30)
        mood = dashboard.locator('[data-testid="stMarkdownContainer"]:has-text("Mood:")').first.inner_text()
        assert {"happy", "surprise"} <= set(re.findall(r"([a-z]+) \d+%", mood)), mood
        print(f"dashboard showed 3 students {time.monotonic() - started:.1f} s after the last one connected")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        dashboard.screenshot(path=str(SCREENSHOTS / "class.png"), full_page=True)

        for browser in students:
            browser.close()
        rows = end_class_and_download(dashboard, "Download CSV").splitlines()
        assert rows[0].startswith("t,streams,faces,observations") and len(rows) >= 2
        teacher.close()


def test_a_teacher_gets_back_to_the_class_after_a_reload_without_the_key_in_the_address(server, tmp_path):
    """The teacher key lives in a cookie of the teacher's browser, never in the address: a reload and a
    second tab open the live class again; another browser (a student, a guesser) with the same address
    gets the sign-in forms."""
    with playwright.sync_playwright() as p:
        teacher = _browser(p, write_y4m(tmp_path / "none.y4m", faceless_clip(0.5)))
        context = teacher.new_context(viewport={"width": 1280, "height": 720})  # one browser profile: its tabs share cookies
        page = context.new_page()
        _goto(page, server + "/class")
        page.get_by_label("Title (optional)").fill("Chemistry")
        page.get_by_role("button", name="Start a class").click()
        page.locator('code:has-text("/join?room=")').wait_for(timeout=30_000)
        assert _wait(lambda: "class=" in page.url, timeout=15), page.url
        address = page.url
        code = re.search(r"class=([\w-]+)", address).group(1)
        key = page.locator("code").nth(1).evaluate("e => e.textContent").strip()  # inside the closed expander
        assert len(key) >= 32 and key not in address

        page.reload()  # a new browser session; the notice was read in this browser (tests/test_browser_pages.py)
        page.locator('code:has-text("/join?room=")').wait_for(timeout=30_000)  # back in the class, nothing typed
        assert page.get_by_text("Chemistry").count() >= 1 and key not in page.url
        second = context.new_page()
        second.goto(address)
        second.locator('code:has-text("/join?room=")').wait_for(timeout=30_000)

        other = _browser(p, write_y4m(tmp_path / "none2.y4m", faceless_clip(0.5)))
        stranger = other.new_page()
        _goto(stranger, address)
        stranger.get_by_role("button", name="Open").wait_for(timeout=30_000)  # the sign-in forms
        assert stranger.locator(f'code:has-text("{code}")').count() == 0
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies[f"fer_teacher_{code}"]["sameSite"] == "Strict" and cookies[f"fer_teacher_{code}"]["value"] == key
        other.close()
        teacher.close()


def test_one_student_by_a_pasted_link_and_an_export_that_carries_no_mood(server, tmp_path, samples):
    """A student who pastes the whole join link into the join page's box gets in; with one student in a
    class of k = 3, the dashboard shows one student streaming and no mood, and the class's CSV and JSON
    exports carry the bucket's counts of streams and faces but no distribution at all."""
    import json

    with playwright.sync_playwright() as p:
        teacher, dashboard, join = start_class(p, server, tmp_path)

        student = _browser(p, write_y4m(tmp_path / "happy.y4m", face_clip(samples / "faceapi_happy.jpg", seconds=2.0)))
        page = student.new_page()
        _goto(page, server + "/join")  # no code in the address: the box asks for one
        page.get_by_label("Join code or link (from your teacher)").fill(join)
        page.keyboard.press("Enter")
        page.get_by_text("I agree").click(timeout=30_000)
        assert _student_streams(page), "no frame of the student reached the app"
        assert _wait(lambda: _metric(dashboard, "Students streaming now") == 1, timeout=60)
        assert dashboard.get_by_text("the mood appears from 3 faces on").count() == 1
        time.sleep(6)  # at least one whole bucket
        student.close()

        rows = end_class_and_download(dashboard, "Download CSV").splitlines()
        header, data = rows[0].split(","), [r.split(",") for r in rows[1:]]
        assert data and all(r[header.index("streams")] == "1" and r[header.index("happy")] == "" for r in data), rows
        report = json.loads(download_text(dashboard, "Download JSON"))
        assert report["report"]["buckets_shown"] == 0
        assert all(set(b["distribution"].values()) == {None} for b in report["timeline"])
        teacher.close()
