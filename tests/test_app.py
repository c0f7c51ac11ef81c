"""The Streamlit pages, run headless through streamlit.testing.v1.AppTest."""

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from .conftest import ROOT, png_bytes

UPLOAD_PAGE = str(ROOT / "app_pages" / "upload.py")
TIMEOUT = 60


def _upload(name: str, data: bytes, mime: str = "image/jpeg") -> AppTest:
    at = AppTest.from_file(UPLOAD_PAGE, default_timeout=TIMEOUT).run()
    at.file_uploader[0].set_value((name, data, mime))
    return at.run()


def test_app_opens_on_the_photo_page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value == "Emotions in a photo"
    assert "Upload a photo" in at.info[0].value


def test_about_page_states_the_limits():
    at = AppTest.from_file(str(ROOT / "app_pages" / "about.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "not feelings" in text and "AI Act" in text


def test_photo_with_a_smile(samples):
    at = _upload("happy.jpg", (samples / "faceapi_happy.jpg").read_bytes())
    assert not at.exception and not at.error
    assert at.metric[0].value == "1"
    table = at.dataframe[0].value
    assert table["label"].tolist() == ["happy"]
    assert 0.5 < table["confidence"].iloc[0] <= 1.0
    assert len(at.get("download_button")) == 2


def test_group_photo_lists_every_face(samples):
    at = _upload("two.jpg", (samples / "facerec_two_people.jpg").read_bytes())
    assert not at.exception and at.metric[0].value == "2"
    assert at.dataframe[0].value["face"].tolist() == [1, 2]


def test_photo_without_a_face_says_so():
    noise = np.random.default_rng(0).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    at = _upload("noise.png", png_bytes(noise), "image/png")
    assert not at.exception and not at.error
    assert "No face found" in at.warning[0].value


@pytest.mark.parametrize("data", [b"this is text renamed to .jpg", b"", b"\xff\xd8\xff\xe0 truncated"])
def test_unreadable_upload_is_a_clear_error(data):
    at = _upload("broken.jpg", data)
    assert not at.exception
    assert "Cannot use broken.jpg" in at.error[0].value


def test_oversized_upload_is_refused():
    at = _upload("huge.png", b"\x89PNG" + bytes(21 * 1024 * 1024), "image/png")
    assert not at.exception
    assert "the limit is 20 MB" in at.error[0].value


def test_live_page_renders(monkeypatch):
    # webrtc_streamer asks the running server for session info, which AppTest has none of.
    import streamlit_webrtc.component

    monkeypatch.setattr(streamlit_webrtc.component, "get_this_session_info", lambda: None)
    at = AppTest.from_file(str(ROOT / "app_pages" / "live.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value == "Live camera"
    assert "Press START" in at.info[0].value
    assert [m.label for m in at.metric] == ["Faces", "Frames/s", "ms/frame"]
    # The settings reach the session shared with the video thread.
    at.sidebar.select_slider[0].set_value("high")
    at.sidebar.toggle[1].set_value(False)
    at.run()
    assert not at.exception
    live = at.session_state["live_session"]
    assert live.settings.sensitivity == "high" and live.settings.mirror is False


def test_ice_servers_come_from_the_environment(monkeypatch):
    from app_pages.resources import ice_servers

    monkeypatch.delenv("FER_ICE_SERVERS", raising=False)
    assert ice_servers() == []
    turn = [{"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "p"}]
    monkeypatch.setenv("FER_ICE_SERVERS", json.dumps(turn))
    assert ice_servers() == turn
