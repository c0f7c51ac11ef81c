"""Take the README's screenshots: start the app, upload a file in headless Chromium, save a PNG.

Usage: python tools/screenshot.py PHOTO OUT.png             the photo page (docs/screenshot.png)
       python tools/screenshot.py VIDEO OUT.png video       the recorded-video page, with its labelled copy made
(needs `pip install playwright` and Debian's chromium)
"""

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
PORT = 8599


# page address -> (the text that shows the results are in, a button to press then, the text it brings)
PAGES = {"": ("Download CSV", None, None), "video": ("Download faces CSV", "Make the labelled video", "Download labelled video")}


def main(upload: str, out: str, address: str = "") -> None:
    ready, button, made = PAGES[address]
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/streamlit"), "run", "serve.py", f"--server.port={PORT}", "--server.fileWatcherType=none"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(60):
            try:
                urllib.request.urlopen(f"http://localhost:{PORT}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(1)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
            )
            # Streamlit scrolls inside the page, so a full-page shot is one viewport: the video page needs a tall one
            page = browser.new_page(viewport={"width": 1400, "height": 1900 if address else 900})
            page.goto(f"http://localhost:{PORT}/{address}")
            page.get_by_role("button", name="I understand, continue").click(timeout=60_000)  # the first-visit notice
            page.locator("input[type=file]").set_input_files(upload)
            page.get_by_text(ready).first.wait_for(timeout=120_000)
            if button:
                page.get_by_role("button", name=button).click()
                page.get_by_text(made).first.wait_for(timeout=120_000)
            time.sleep(2)  # let the chart finish drawing
            page.screenshot(path=out, full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main(*sys.argv[1:4])
