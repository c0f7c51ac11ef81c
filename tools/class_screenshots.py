"""Screenshots of a live class at 1280x720, the teacher's screen and a student's, for docs/:

    .venv/bin/python tools/class_screenshots.py ../shared/samples

Starts the deployed server (serve.py), opens a class, lets three students (headless Chromium, each a
fake camera playing a sample face) join, and saves docs/class_dashboard.png (the dashboard as the
teacher sees it, no scrolling), docs/class_presenter.png (the presenter view for a projector) and
docs/class_student.png (a student's page)."""

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.conftest import face_clip, faceless_clip  # noqa: E402
from tests.test_browser import _browser, _goto, _metric, _student_streams, _wait, start_server, stop_server, write_y4m  # noqa: E402

SIZE = {"width": 1280, "height": 720}
FACES = ["faceapi_happy.jpg", "faceapi_surprised.jpg", "faceapi_neutral.jpg"]


def main(samples: Path) -> int:
    docs = ROOT / "docs"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        url, proc = start_server(dict(os.environ, FER_DATABASE_URL=f"sqlite:///{tmp / 'classes.db'}", FER_MAX_STREAMS="20"))
        try:
            with sync_playwright() as p:
                teacher = _browser(p, write_y4m(tmp / "none.y4m", faceless_clip(0.5)))
                dashboard = teacher.new_page(viewport=SIZE)
                _goto(dashboard, url + "/class")
                dashboard.get_by_label("Title (optional)").fill("Physics 101, Tuesday")
                dashboard.get_by_role("button", name="Start a class").click()
                link = dashboard.locator('code:has-text("/join?room=")')
                link.wait_for(timeout=30_000)
                join = link.inner_text().strip()
                students = []
                for i, photo in enumerate(FACES):
                    browser = _browser(p, write_y4m(tmp / f"{i}.y4m", face_clip(samples / photo, seconds=2.0)))
                    page = browser.new_page(viewport=SIZE)
                    page.goto(join)
                    page.get_by_text("I agree").click()
                    if not _student_streams(page):
                        raise SystemExit(f"no frame of student {i} reached the app")
                    students.append((browser, page))
                if not _wait(lambda: dashboard.get_by_text("Mood:").count() > 0, timeout=90):
                    raise SystemExit(f"no mood shown ({_metric(dashboard, 'Students streaming now'):g} students)")
                time.sleep(12)  # a few buckets on the timeline
                dashboard.screenshot(path=str(docs / "class_dashboard.png"))
                students[0][1].screenshot(path=str(docs / "class_student.png"))
                dashboard.get_by_text("Presenter view").click()
                time.sleep(3)
                dashboard.screenshot(path=str(docs / "class_presenter.png"))
                for browser, _ in students:
                    browser.close()
                teacher.close()
        finally:
            stop_server(proc)
    print("wrote docs/class_dashboard.png, docs/class_presenter.png, docs/class_student.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "samples"))
