"""A hosted deployment: the first-visit notice before anything starts, the server refusing streams beyond
FER_MAX_STREAMS with a clear message, and the camera and TURN help beside START (AppTest, no browser)."""

import weakref

import pytest
from streamlit.testing.v1 import AppTest

from .conftest import ROOT, new_room

APP, LIVE_PAGE, JOIN_PAGE = str(ROOT / "app.py"), str(ROOT / "app_pages" / "live.py"), str(ROOT / "app_pages" / "join.py")
TIMEOUT = 60
FULL = "This server is full right now"
ONE = (1, 1)  # FER_MAX_STREAMS=1 in class students: (memory, CPU)


@pytest.fixture
def no_session_info(monkeypatch):
    # webrtc_streamer asks the running server for session info, which AppTest has none of (as in test_app).
    import streamlit_webrtc.component

    monkeypatch.setattr(streamlit_webrtc.component, "get_this_session_info", lambda: None)


@pytest.fixture
def max_streams(monkeypatch, no_session_info):
    """FER_MAX_STREAMS=1, read afresh, and an empty count of streams; both reset afterwards."""
    from app_pages import resources

    monkeypatch.setenv("FER_MAX_STREAMS", "1")
    resources.settings.clear()
    resources.stream_slots.clear()
    yield resources.stream_slots()
    resources.settings.clear()
    resources.stream_slots.clear()


def _components(at: AppTest) -> int:
    """Custom components on the page: streamlit-webrtc's streamer (START, the camera) is the only one."""
    return sum(getattr(e, "type", None) == "component_instance" for e in at.main)


def _press(at: AppTest, key: str, playing: bool = False, signalling: bool = True) -> AppTest:
    """What the streamer's browser side reports after START (signalling, then playing) or STOP (neither),
    set as streamlit-webrtc's own callback sets it before the script runs."""
    from streamlit_webrtc.component import WebRtcStreamerContext, WebRtcStreamerState

    at.session_state[key] = WebRtcStreamerContext(worker=None, state=WebRtcStreamerState(playing=playing, signalling=signalling))
    return at.run()


# The first visit


def test_a_first_visit_shows_the_notice_and_nothing_else_until_continued(no_session_info):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Before you start"]
    assert [b.label for b in at.button] == ["I understand, continue"]
    assert not at.get("file_uploader") and not at.sidebar.children and _components(at) == 0
    text = " ".join(m.value for m in at.markdown)
    assert "AI Act, Art. 5(1)(f)" in text and "2 February 2025" in text and "education" in text
    assert "memory" in text and "no image" in text and "k-anonymity" in text and "fewer than 3" in text

    at.button[0].click().run()
    assert not at.exception and at.title[0].value == "Emotions in a photo" and at.get("file_uploader")
    at.run()  # remembered for the session
    assert at.title[0].value == "Emotions in a photo" and not any(b.label == "I understand, continue" for b in at.button)


def test_a_join_link_skips_the_notice_and_a_teacher_link_does_not(no_session_info):
    code, key = new_room("Art")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["room"] = code
    at.run()
    assert not at.exception and at.title[0].value != "Before you start"
    assert not any(b.label == "I understand, continue" for b in at.button)
    at.switch_page("app_pages/join.py").run()  # a join link's page (AppTest opens the default page)
    assert not at.exception and at.title[0].value == "Join a class" and at.checkbox
    assert "AI Act" in " ".join(m.value for m in at.markdown)  # the join page's own consent notice

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"room": code, "key": key})
    at.run()
    assert not at.exception and at.title[0].value == "Before you start"


# Admission: at most FER_MAX_STREAMS streams per server process


def test_max_streams_is_a_positive_setting_or_zero_for_the_hosts():
    from app_pages import resources
    from fer.settings import Settings, SettingsError

    assert Settings.from_env({"FER_MAX_STREAMS": "40"}).max_streams == 40
    assert Settings().max_streams == 0  # from the host
    assert min(resources.stream_limit()) >= 1
    for bad in ("-1", "many", "2.5"):
        with pytest.raises(SettingsError, match="FER_MAX_STREAMS"):
            Settings.from_env({"FER_MAX_STREAMS": bad})


@pytest.mark.parametrize(
    "memory_mb, cores, flags, limit, viewers, students, one_viewer_and",
    [
        # the smallest host, bound by memory: 8 students, or a live viewer (5) and 3
        (512, 1, "AVX2 AVX-512", (8, 25), 1, 8, 3),
        (512, 1, "AVX2", (8, 20), 1, 8, 2),  # its one AVX2-only core: a viewer's 18 students of CPU and 2
        (1024, 1, "AVX2", (29, 20), 1, 20, 2),  # room for 29 in memory, one AVX2-only core for 20
        (4096, 2, "AVX2 AVX-512 AVX512-VNNI", (154, 50), 3, 50, 37),  # bound by CPU: 25 a core with AVX-512
        (4096, 2, "AVX2", (154, 40), 2, 40, 22),  # 20 a core without it (the networks 4-5 times slower)
        (200, 2, "AVX2", (1, 40), 1, 1, 0),  # less than the server at rest: still the first stream
    ],
)
def test_the_hosts_stream_limit_follows_its_memory_cores_and_vector_instructions(
    monkeypatch, memory_mb, cores, flags, limit, viewers, students, one_viewer_and
):
    """The host's two budgets, and what they let in: live viewers alone, students alone, and students beside
    one live viewer (its memory is 5 students', its CPU 13 students' with AVX-512 and 18 without)."""
    from app_pages import resources

    monkeypatch.setattr(resources, "host_memory_mb", lambda: memory_mb)
    monkeypatch.setattr(resources, "cpu_flags", lambda: flags)
    monkeypatch.setattr(resources.os, "cpu_count", lambda: cores)
    assert resources.stream_limit() == limit

    def admitted(*weights) -> int:
        slots = resources.StreamSlots()
        for i, weight in enumerate(weights):
            if not slots.take(str(i), limit, weight):
                return i
        return len(weights)

    viewer = resources.live_viewer_weight()
    assert admitted(*[viewer] * 10) == viewers
    assert admitted(*[resources.STUDENT] * 200) == students
    assert admitted(viewer, *[resources.STUDENT] * 200) == 1 + one_viewer_and


def test_an_operators_max_streams_counts_memory_alone(monkeypatch):
    """FER_MAX_STREAMS=40 on a 2-core AVX2-only host: 8 live viewers (5 each), as the setting says, where the
    host's own limit would take 2."""
    from app_pages import resources

    monkeypatch.setattr(resources, "cpu_flags", lambda: "AVX2")
    monkeypatch.setattr(resources.os, "cpu_count", lambda: 2)
    monkeypatch.setenv("FER_MAX_STREAMS", "40")
    resources.settings.clear()
    try:
        slots, limit = resources.StreamSlots(), resources.stream_limit()
        assert [slots.take(str(i), limit, resources.live_viewer_weight()) for i in range(9)] == [True] * 8 + [False]
    finally:
        resources.settings.clear()


def test_a_full_server_refuses_a_new_live_viewer_and_takes_them_when_a_stream_stops(max_streams):
    first = AppTest.from_file(LIVE_PAGE, default_timeout=TIMEOUT).run()
    assert not first.exception and _components(first) == 1 and max_streams.active() == 0  # a page view holds no slot
    _press(first, "live")  # START: the one slot
    assert not first.exception and max_streams.active() == 1 and _components(first) == 1

    second = AppTest.from_file(LIVE_PAGE, default_timeout=TIMEOUT).run()
    assert not second.exception
    assert second.error[0].value == "This server is full right now (1 stream); try again in a few minutes."
    assert _components(second) == 0 and not second.metric  # no START, no camera, nothing below

    _press(first, "live", signalling=False)  # STOP
    assert max_streams.active() == 0
    second.button[0].click().run()  # "Try again"
    assert not second.exception and not second.error and _components(second) == 1
    _press(second, "live", playing=True)
    assert max_streams.active() == 1 and _components(second) == 1


def test_start_pressed_while_the_server_filled_up_is_refused(max_streams):
    at = AppTest.from_file(LIVE_PAGE, default_timeout=TIMEOUT).run()
    assert _components(at) == 1
    assert max_streams.take("someone else", ONE)  # another browser pressed START meanwhile
    _press(at, "live")
    assert FULL in at.error[0].value and _components(at) == 0 and max_streams.active() == 1
    assert "live" not in at.session_state  # the refused START is forgotten: no peer is made for it


def test_a_start_whose_run_was_cut_short_after_taking_the_slot_is_not_refused_by_it(max_streams):
    """START's reruns overlap on a busy server: one run takes the slot and the next stops it before it ends.
    The next run must find that slot its own (the browser suite once read "full (1 stream)" after START)."""
    at = AppTest.from_file(LIVE_PAGE, default_timeout=TIMEOUT).run()
    assert max_streams.take(at.session_state["stream_slot_live"], ONE, (5, 18))  # the run cut short
    _press(at, "live")
    assert not at.exception and not at.error and _components(at) == 1 and max_streams.active() == 1
    _press(at, "live", signalling=False)  # STOP gives it back
    assert max_streams.active() == 0


def test_a_full_server_refuses_a_student_after_the_consent(max_streams):
    code, _ = new_room("Music")
    assert max_streams.take("a live viewer", ONE)
    at = AppTest.from_file(JOIN_PAGE, default_timeout=TIMEOUT)
    at.query_params["room"] = code
    at.run()
    at.checkbox[0].check().run()
    assert not at.exception and FULL in at.error[0].value and _components(at) == 0
    max_streams.release("a live viewer")
    at.button[0].click().run()
    assert not at.exception and not at.error and _components(at) == 1
    _press(at, f"join_{code}", playing=True)
    assert max_streams.active() == 1


def test_a_slot_comes_back_when_the_video_ends_or_the_connection_closes(max_streams, monkeypatch):
    from app_pages.resources import Admission, StreamSlots

    flushed = []
    assert max_streams.take("a", ONE)
    Admission(max_streams, "a").on_ended(then=lambda: flushed.append(1))()  # the video thread, at the end
    assert max_streams.active() == 0 and flushed == [1]

    class Peer:
        connectionState = "connected"

    class Worker:
        pc = Peer()

    worker = Worker()
    assert max_streams.take("b", ONE)
    max_streams.attach("b", worker)
    assert max_streams.active() == 1 and not max_streams.take("c", ONE)
    worker.pc.connectionState = "failed"  # e.g. ICE failed: streamlit-webrtc stops the worker
    assert max_streams.active() == 0
    assert max_streams.take("d", ONE)
    max_streams.attach("d", other := Worker())
    ref = weakref.ref(other)
    del other
    assert ref() is None and max_streams.active() == 0  # the worker is gone
    monkeypatch.setattr(StreamSlots, "UNCONNECTED_S", 0.0)
    assert max_streams.take("e", ONE) and max_streams.active() == 0  # START pressed but no peer ever made


# Help beside START


def test_camera_help_beside_start_and_the_turn_warning_on_a_hosted_address(no_session_info, monkeypatch):
    from app_pages import resources

    at = AppTest.from_file(LIVE_PAGE, default_timeout=TIMEOUT).run()
    captions = " ".join(c.value for c in at.caption)
    assert "Allow the camera for this site" in captions and "close other apps" in captions
    assert "FER_ICE_SERVERS" not in captions  # AppTest's address is localhost: direct connections work

    monkeypatch.setattr(resources, "_local_host", lambda host: False)  # as on https://fer.example.org
    at = AppTest.from_file(LIVE_PAGE, default_timeout=TIMEOUT).run()
    assert any("No relay (TURN) server" in c.value and "FER_ICE_SERVERS" in c.value for c in at.caption)
    monkeypatch.setenv("FER_ICE_SERVERS", '[{"urls": "turn:turn.example.org:3478", "username": "u", "credential": "c"}]')
    resources.settings.clear()
    try:
        at = AppTest.from_file(LIVE_PAGE, default_timeout=TIMEOUT).run()
        assert not any("FER_ICE_SERVERS" in c.value for c in at.caption)
    finally:
        resources.settings.clear()


@pytest.mark.parametrize("host, local", [
    ("localhost", True), ("127.0.0.1", True), ("::1", True), ("192.168.1.20", True), ("10.0.0.5", True),
    ("fe80::1", True), ("laptop.local", True), (None, True),
    ("fer.example.org", False), ("93.184.216.34", False), ("2606:4700::1111", False),
])
def test_which_addresses_need_no_relay(host, local):
    from app_pages.resources import _local_host

    assert _local_host(host) is local
