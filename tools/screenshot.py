"""Take the README's screenshot: start the app, upload a photo in headless Chromium, save a PNG.

Usage: python tools/screenshot.py PHOTO OUT.png   (needs `pip install playwright` and Debian's chromium)
"""

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
PORT = 8599


def main(photo: str, out: str) -> None:
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
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"http://localhost:{PORT}/")
            page.get_by_role("button", name="I understand, continue").click(timeout=60_000)  # the first-visit notice
            page.locator("input[type=file]").set_input_files(photo)
            page.get_by_text("Download CSV").wait_for(timeout=60_000)
            time.sleep(2)  # let the chart finish drawing
            page.screenshot(path=out, full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main(*sys.argv[1:3])
