"""The recorded-video page in a real browser: a session video uploaded through the file input, each
face's rows and a labelled copy downloaded, and the copy playing in the page."""

import csv
import io

import av
import pytest

from .conftest import face_clip
from .test_browser import _browser, _goto, _metric, _wait, download, download_text, server  # noqa: F401 (fixture)
from .test_video import write_mp4

sync_api = pytest.importorskip("playwright.sync_api")


def test_a_recorded_session_gives_each_face_its_rows_and_a_labelled_copy(server, tmp_path, samples):
    clip = face_clip(samples / "faceapi_happy.jpg", 2.0) + face_clip(samples / "faceapi_surprised.jpg", 2.0)
    video = write_mp4(tmp_path / "session.mp4", clip)
    with sync_api.sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        _goto(page, server + "/video")
        page.locator("input[type=file]").set_input_files(str(video))
        page.get_by_role("button", name="Download faces CSV").wait_for(timeout=120_000)
        assert _metric(page, "Faces followed") == 1

        rows = list(csv.DictReader(io.StringIO(download_text(page, "Download faces CSV"))))
        assert len(rows) == 20 and {r["track"] for r in rows} == {"1"}  # 4 s at 5 analysed frames a second
        assert {r["file"] for r in rows} == {"session.mp4"} and {r["mode"] for r in rows} == {"fast"}
        labels = [r["label"] for r in rows]
        assert labels[:10].count("happy") >= 8 and labels[10:].count("surprise") >= 8

        page.get_by_role("button", name="Make the labelled video").click()
        page.get_by_role("button", name="Download labelled video").wait_for(timeout=120_000)
        assert page.get_by_role("button", name="Make the labelled video").count() == 0
        # The copy plays in the page: the browser reads its length from the MP4 the server encoded
        player = page.locator("video")
        assert _wait(lambda: player.evaluate("v => v.readyState") >= 1, timeout=30), player.evaluate("v => v.error && v.error.code")
        assert abs(player.evaluate("v => v.duration") - 4.0) < 0.2

        with av.open(str(download(page, "Download labelled video"))) as copy:
            frames = [f.to_ndarray(format="rgb24") for f in copy.decode(video=0)]
        assert len(frames) == len(clip) and frames[0].shape[1] == clip[0].shape[1] and frames[0].shape[0] > clip[0].shape[0]
        browser.close()
