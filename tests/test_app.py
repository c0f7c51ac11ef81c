"""The Streamlit pages, run headless through streamlit.testing.v1.AppTest."""

import io
import json
import os

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from .conftest import ROOT, new_room, png_bytes

UPLOAD_PAGE = str(ROOT / "app_pages" / "upload.py")
TIMEOUT = 60


def _upload(name: str, data: bytes, mime: str = "image/jpeg") -> AppTest:
    at = AppTest.from_file(UPLOAD_PAGE, default_timeout=TIMEOUT).run()
    at.file_uploader[0].set_value((name, data, mime))
    return at.run()


def test_app_opens_on_the_photo_page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception and at.title[0].value == "Before you start"  # the first-visit notice (test_hosting.py)
    at.button[0].click().run()  # "I understand, continue"
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


def test_settings_are_read_once_from_the_environment_and_reach_the_pages(monkeypatch):
    """FER_ICE_SERVERS reaches WebRTC, and FER_MIN_FACES reaches the rooms a teacher creates (it used to be
    shown to the teacher while every room enforced the store's default of 3)."""
    from app_pages import resources

    turn = [{"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "p"}]
    monkeypatch.setenv("FER_ICE_SERVERS", json.dumps(turn))
    monkeypatch.setenv("FER_MIN_FACES", "5")
    resources.settings.clear()
    try:
        assert resources.rtc_configuration() == {"iceServers": turn}
        at = AppTest.from_file(CLASS_PAGE, default_timeout=TIMEOUT).run()
        at.button[0].click().run()  # "Start a class"
        assert not at.exception
        assert resources.store().room(at.session_state["class_room"]).min_faces == 5
    finally:
        resources.settings.clear()


CLASS_PAGE = str(ROOT / "app_pages" / "class_mood.py")
JOIN_PAGE = str(ROOT / "app_pages" / "join.py")


def test_teacher_starts_a_class_and_gets_a_join_link_and_key():
    at = AppTest.from_file(CLASS_PAGE, default_timeout=TIMEOUT).run()
    at.text_input[0].set_value("Physics")
    at.button[0].click().run()  # "Start a class"
    assert not at.exception
    join, key = at.code[0].value, at.code[1].value
    assert "/join?room=" in join and len(key) >= 32
    assert any("Waiting for students" in i.value for i in at.info)
    assert at.session_state["class_key"] == key


def test_dashboard_needs_the_right_teacher_key_and_never_takes_it_from_the_address():
    code, key = new_room("History")
    at = AppTest.from_file(CLASS_PAGE, default_timeout=TIMEOUT)
    at.query_params.update({"room": code, "key": key})  # an old-style link: the key would stay in histories and logs
    at.run()
    assert "not used" in at.warning[0].value and "key" not in at.query_params and "class_key" not in at.session_state
    reopen = [t for t in at.text_input if t.label in ("Class code", "Teacher key")]
    reopen[0].set_value(code)
    reopen[1].set_value(key[:-2] + "xx")
    at.button[1].click().run()  # "Open"
    assert "do not match" in at.error[0].value and "class_key" not in at.session_state
    reopen = [t for t in at.text_input if t.label in ("Class code", "Teacher key")]
    reopen[1].set_value(key)
    at.button[1].click().run()
    assert not at.exception and at.subheader[0].value == "History"
    assert at.query_params["class"] == [code] or at.query_params["class"] == code  # the address names the class only
    assert key not in str(dict(at.query_params))


def test_join_page_asks_consent_before_the_camera(monkeypatch):
    import streamlit_webrtc.component

    monkeypatch.setattr(streamlit_webrtc.component, "get_this_session_info", lambda: None)
    at = AppTest.from_file(JOIN_PAGE, default_timeout=TIMEOUT)
    at.query_params["room"] = "no-such-room"
    assert "No open class" in at.run().error[0].value

    code, _ = new_room("Maths")
    at = AppTest.from_file(JOIN_PAGE, default_timeout=TIMEOUT)
    at.query_params["room"] = code
    at.run()
    text = " ".join(m.value for m in at.markdown)
    assert "class as a whole" in text and "No image is recorded" in text and "AI Act" in text
    assert "reporter_" + code not in at.session_state  # no camera, no analysis before consent
    at.checkbox[0].check().run()
    assert not at.exception and "reporter_" + code in at.session_state


def test_gallery_screenshot_gives_the_class_mood(samples):
    at = AppTest.from_file(CLASS_PAGE, default_timeout=TIMEOUT).run()
    at.file_uploader[0].set_value(("call.jpg", (samples / "facerec_two_people.jpg").read_bytes(), "image/jpeg"))
    at.run()
    assert not at.exception and not at.error
    assert next(m for m in at.metric if m.label == "Faces").value == "2"
    assert any(m.value.startswith("**Mood:**") for m in at.markdown)


def test_recorded_lecture_gives_a_timeline(samples, tmp_path, monkeypatch):
    from app_pages import recorded

    from .conftest import face_clip
    from .test_video import write_mp4

    calls, real = [], recorded.analyze_video
    monkeypatch.setattr(recorded, "analyze_video", lambda *a, **k: calls.append(k) or real(*a, **k))

    video = write_mp4(tmp_path / "lecture.mp4", face_clip(samples / "faceapi_happy.jpg", 2.0))
    at = AppTest.from_file(CLASS_PAGE, default_timeout=TIMEOUT).run()
    at.file_uploader[1].set_value(("lecture.mp4", video.read_bytes(), "video/mp4"))
    at.run()
    assert not at.exception and not at.error
    assert "lecture.mp4: 2 step(s) of 1 s" in at.success[0].value  # a 2-second clip: one-second steps
    assert len(at.get("download_button")) == 2
    step = next(s for s in at.select_slider if s.label == "Timeline step (seconds)")
    step.set_value(2).run()  # a display setting: the same analysis, regrouped, not analysed again
    assert not at.exception and "lecture.mp4: 1 step(s) of 2 s" in at.success[0].value and len(calls) == 1
    assert calls[0]["on_result"] is None  # the class page keeps aggregates only, never a face's rows

    at.file_uploader[1].set_value(("broken.mp4", b"\x00\x00\x00\x18ftypmp42 truncated", "video/mp4"))
    at.run()
    assert not at.exception and "Cannot use broken.mp4" in at.error[0].value


def test_recorded_video_follows_each_face_and_makes_a_labelled_copy(samples, tmp_path, monkeypatch):
    import av

    from app_pages import recorded

    from .conftest import face_clip
    from .test_video import write_mp4

    calls, real = [], recorded.analyze_video
    monkeypatch.setattr(recorded, "analyze_video", lambda *a, **k: calls.append(k) or real(*a, **k))
    clip = face_clip(samples / "faceapi_happy.jpg", 2.0) + face_clip(samples / "faceapi_surprised.jpg", 2.0)
    video = write_mp4(tmp_path / "session.mp4", clip)
    at = AppTest.from_file(str(ROOT / "app_pages" / "video.py"), default_timeout=TIMEOUT).run()
    assert not at.exception and "Upload a recorded session" in at.info[0].value
    at.file_uploader[0].set_value(("session.mp4", video.read_bytes(), "video/mp4")).run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Faces followed"] == "1" and metrics["Length analysed"] == "3.8 s"
    faces = at.dataframe[0].value
    assert list(faces["face"]) == [1] and faces["label"][0] in ("happy", "surprise")
    assert [b.label for b in at.get("download_button")] == ["Download faces CSV", "Download timeline CSV"]
    assert len(calls) == 1 and calls[0]["on_result"] is not None

    at.button[0].click().run()  # "Make the labelled video"
    assert not at.exception and not at.error and len(calls) == 2
    labelled = at.get("download_button")[-1]
    assert labelled.label == "Download labelled video"
    step = next(s for s in at.select_slider if s.label == "Timeline step (seconds)")
    step.set_value(2).run()  # display settings analyse nothing again, and the labelled copy stays
    assert not at.exception and len(calls) == 2 and at.get("download_button")[-1].label == "Download labelled video"
    copy = at.session_state[recorded.annotated_key(at.file_uploader[0].value, "fast")]
    with av.open(io.BytesIO(copy)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == len(clip) and frames[0].shape[0] > clip[0].shape[0]  # every frame, plus the mood strip


def test_join_link_uses_the_public_url_and_warns_about_localhost(monkeypatch):
    from app_pages import resources

    at = AppTest.from_file(CLASS_PAGE, default_timeout=TIMEOUT).run()
    at.button[0].click().run()  # "Start a class" on AppTest's own address, localhost
    assert not at.exception and at.code[0].value.startswith("http://localhost")
    assert any("this computer only" in w.value for w in at.warning)
    assert len(at.get("image")) == 1  # the QR code

    monkeypatch.setenv("FER_PUBLIC_URL", "https://class.example.org/")
    resources.settings.clear()
    try:
        at = AppTest.from_file(CLASS_PAGE, default_timeout=TIMEOUT).run()
        at.button[0].click().run()
        code = at.session_state["class_room"]
        assert at.code[0].value == f"https://class.example.org/join?room={code}" and not at.warning
    finally:
        resources.settings.clear()


def test_a_pasted_join_link_opens_the_class_and_students_see_only_student_pages(monkeypatch):
    import streamlit_webrtc.component

    monkeypatch.setattr(streamlit_webrtc.component, "get_this_session_info", lambda: None)
    code, _ = new_room("Biology")
    at = AppTest.from_file(JOIN_PAGE, default_timeout=TIMEOUT).run()
    at.text_input[0].set_value(f"  https://class.example.org/join?room={code}  ").run()
    assert not at.exception and not at.error and at.subheader[0].value == "Biology"

    from app_pages.resources import room_code

    assert room_code(code) == code and room_code(f"http://x/join?room={code}&utm=1") == code
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    app.query_params["room"] = code
    app.switch_page("app_pages/join.py").run()  # /join?room=...: the join page, and no notice before it
    assert not app.exception and app.title[0].value == "Join a class"
    with pytest.raises(ValueError, match="Known pages"):  # a student's navigation has the join and About pages only
        app.switch_page("app_pages/class_mood.py")


HOSTILE_TITLE = "![x](http://evil.example/x.png) <img src=http://evil.example/y.png> **bold** [link](javascript:alert(1))"


def test_room_titles_are_shown_as_typed_to_students_and_teacher(monkeypatch):
    """A title is the teacher's text, shown to every student: it goes to st.subheader escaped, so an image
    in it is never fetched by their browsers and a link never made (tests/test_store.py renders it)."""
    import streamlit_webrtc.component

    from fer.store import markdown_escaped

    monkeypatch.setattr(streamlit_webrtc.component, "get_this_session_info", lambda: None)
    code, key = new_room(HOSTILE_TITLE + "\x00")
    at = AppTest.from_file(JOIN_PAGE, default_timeout=TIMEOUT)
    at.query_params["room"] = code
    at.run()
    assert not at.exception and at.subheader[0].value == markdown_escaped(HOSTILE_TITLE)
    assert "![x](" not in at.subheader[0].value and at.subheader[0].value.startswith("\\!\\[x\\]\\(http")
    at = AppTest.from_file(CLASS_PAGE, default_timeout=TIMEOUT)
    at.session_state["class_room"], at.session_state["class_key"] = code, key  # the teacher, signed in
    at.run()
    assert not at.exception and at.subheader[0].value == markdown_escaped(HOSTILE_TITLE)


def _store_down(*args, **kwargs):
    import sqlalchemy as sa

    raise sa.exc.OperationalError("SELECT", {}, ConnectionRefusedError("connection refused"))


def test_the_dashboard_says_when_the_class_store_is_unreachable(monkeypatch):
    from fer.store import Store

    at = AppTest.from_file(CLASS_PAGE, default_timeout=TIMEOUT).run()
    at.button[0].click().run()  # "Start a class"
    assert any("Waiting for students" in i.value for i in at.info)
    with monkeypatch.context() as patch:
        patch.setattr(Store, "timeline", _store_down)
        at.run()
        assert not at.exception
        assert any("class store is unreachable right now; numbers will resume" in w.value for w in at.warning)
        assert at.code[0].value  # the join link and key stay on screen
        patch.setattr(Store, "room", _store_down)  # a full rerun (the slider, a reload) while it is down
        at.run()
        assert not at.exception and any("unreachable right now" in w.value for w in at.warning)
    at.run()  # back: the numbers resume
    assert not at.exception and not any("unreachable" in w.value for w in at.warning)
    assert any("Waiting for students" in i.value for i in at.info)


def test_the_join_page_says_when_the_class_store_is_unreachable(monkeypatch):
    import streamlit_webrtc.component

    from fer.store import Store

    monkeypatch.setattr(streamlit_webrtc.component, "get_this_session_info", lambda: None)
    code, _ = new_room("Geography")
    with monkeypatch.context() as patch:
        patch.setattr(Store, "room", _store_down)
        at = AppTest.from_file(JOIN_PAGE, default_timeout=TIMEOUT)
        at.query_params["room"] = code
        at.run()
        assert not at.exception and "unreachable" in at.warning[0].value
    at.run()
    at.checkbox[0].check().run()
    reporter = at.session_state["reporter_" + code]
    with monkeypatch.context() as patch:
        patch.setattr(Store, "add", _store_down)
        reporter.process(np.zeros((240, 320, 3), np.uint8))
        reporter.flush()  # the stream stopped while the store was down
    at.run()
    assert not at.exception and reporter.pending == 1
    assert any("The class store is unreachable; 1 update(s) waiting" in w.value for w in at.warning)


def _downloads(monkeypatch) -> dict:
    """The files the pages' download buttons offer, by file name, captured as Streamlit stores them."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    files, add = {}, MediaFileManager.add

    def record(self, data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        if is_for_static_download:
            files[file_name] = data.encode() if isinstance(data, str) else data
        return add(self, data, mimetype, coordinates, file_name, is_for_static_download)

    monkeypatch.setattr(MediaFileManager, "add", record)
    return files


def _zip_of(entries: dict) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_several_photos_and_a_zip_give_one_table_a_csv_and_the_labelled_photos(samples, monkeypatch):
    import csv
    import io
    import zipfile

    from fer.emotions import COLORS, EMOTIONS
    from fer.imageio import load_image
    from fer.pipeline import Analyzer
    from fer.render import UNSURE_BELOW

    downloads = _downloads(monkeypatch)
    archive = _zip_of({
        "class/sad.jpg": (samples / "faceapi_sad.jpg").read_bytes(),
        "class/notes.txt": b"not a photo",
        "class/broken.jpg": b"not a jpeg",
        "../../../happy.jpg": (samples / "faceapi_happy.jpg").read_bytes(),  # a path out of the zip, a taken name
    })
    at = AppTest.from_file(UPLOAD_PAGE, default_timeout=TIMEOUT).run()
    assert at.file_uploader[0].accept_multiple_files
    at.file_uploader[0].set_value([
        ("happy.jpg", (samples / "faceapi_happy.jpg").read_bytes(), "image/jpeg"),
        ("two.jpg", (samples / "facerec_two_people.jpg").read_bytes(), "image/jpeg"),
        ("lesson.zip", archive, "application/zip"),
    ])
    at.run()
    assert not at.exception and not at.error
    assert [w.value.split(":")[:2] for w in at.warning] == [["Skipped lesson.zip", " notes.txt"], ["Cannot use broken.jpg", " the file is not an image we can read (PNG, JPEG, WebP, BMP, GIF, TIFF)."]]
    assert {m.label: m.value for m in at.metric} == {"Photos": "4", "Faces found": "5", "Photos without a face": "0"}

    table = at.dataframe[0].value
    assert list(table.columns) == ["file", "face", "x", "y", "w", "h", "score", "label", "confidence", *EMOTIONS]
    assert table["file"].tolist() == ["happy.jpg", "two.jpg", "two.jpg", "sad.jpg", "happy-2.jpg"]
    for _, row in table.iterrows():
        best = max(EMOTIONS, key=lambda e: row[e])
        assert row["confidence"] == pytest.approx(row[best], abs=1e-6)  # the probabilities are rounded to 6 places
        assert row["label"] == best + ("?" if row["confidence"] < UNSURE_BELOW else "")
    assert len(at.get("image")) == 4  # the labelled thumbnails

    rows = list(csv.DictReader(io.StringIO(downloads["faces_emotions.csv"].decode())))
    assert list(rows[0]) == ["file", "face", "x", "y", "w", "h", "score", "label", *EMOTIONS, "mode", "model"]  # `fer image --csv`'s
    assert [r["label"] for r in rows] == [label.rstrip("?") for label in table["label"]]
    assert {(r["mode"], r["model"]) for r in rows} == {("fast", Analyzer.default().classifier.version)}

    with zipfile.ZipFile(io.BytesIO(downloads["labelled_photos.zip"])) as labelled:
        assert labelled.namelist() == ["happy_labelled.jpg", "two_labelled.jpg", "sad_labelled.jpg", "happy-2_labelled.jpg"]
        smile = load_image(labelled.read("happy_labelled.jpg"))
    original = load_image((samples / "faceapi_happy.jpg").read_bytes())
    assert smile.shape == original.shape
    x, y, w, h = (int(table.iloc[0][k]) for k in "xywh")
    edge = lambda image: (np.abs(image[y + 2 : y + h - 2, x - 2 : x + 3].astype(int) - COLORS["happy"]).max(-1) < 40).any(1).mean()  # noqa: E731
    assert table["label"].iloc[0] == "happy" and edge(smile) > 0.9 and edge(original) < 0.05  # the box's left edge


def test_a_zip_without_usable_photos_is_one_error_line_each():
    at = AppTest.from_file(UPLOAD_PAGE, default_timeout=TIMEOUT).run()
    at.file_uploader[0].set_value([
        ("empty.zip", _zip_of({"readme.txt": b"hello", "a.jpg": b"broken"}), "application/zip"),
        ("cut.zip", b"PK\x03\x04 cut short", "application/zip"),
    ])
    at.run()
    assert not at.exception and not at.dataframe
    assert [e.value for e in at.error] == [
        "Skipped empty.zip: readme.txt: not a photo (JPEG, PNG, WebP, BMP, GIF or TIFF).",
        "Cannot use cut.zip: not a readable zip file.",
        "Cannot use a.jpg: the file is not an image we can read (PNG, JPEG, WebP, BMP, GIF, TIFF).",
    ]


def test_the_photo_page_colours_bars_and_labels_by_emotion_with_the_shared_legend(samples):
    """Every bar used to be the theme's red: a ProgressColumn without a colour takes the primary colour."""
    from app_pages.charts import HEX, emotion_legend, probability_columns
    from fer.emotions import COLORS, EMOTIONS

    at = _upload("two.jpg", (samples / "facerec_two_people.jpg").read_bytes())
    assert not at.exception
    columns = json.loads(at.dataframe[0].proto.columns)
    assert columns["confidence"]["type_config"]["color"] == "gray"
    styles = at.dataframe[0].proto.arrow_data.styler.styles
    labels = at.dataframe[0].value["label"].str.rstrip("?")
    assert all("background-color: rgba(%d, %d, %d, " % COLORS[label] in styles for label in labels)  # each label cell
    assert any(m.value == emotion_legend() for m in at.markdown)
    assert all(HEX[e] in emotion_legend() for e in EMOTIONS)
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert spec["encoding"]["color"]["scale"]["range"] == [HEX[e] for e in EMOTIONS]
    for emotion in EMOTIONS:  # the batch table's seven bars, each in its emotion's colour
        assert probability_columns()[emotion]["type_config"]["color"] == HEX[emotion]


def test_a_short_join_code_typed_by_a_student_opens_the_class(monkeypatch):
    import streamlit_webrtc.component

    from fer.store import Store

    monkeypatch.setattr(streamlit_webrtc.component, "get_this_session_info", lambda: None)
    with Store(os.environ["FER_DATABASE_URL"]) as store:
        code, key = store.create_room("Music")
        short = store.room(code).short_code
    teacher = AppTest.from_file(CLASS_PAGE, default_timeout=TIMEOUT)
    teacher.session_state["class_room"], teacher.session_state["class_key"] = code, key
    teacher.run()
    assert any(f"{short[:3]}-{short[3:]}" in m.value for m in teacher.markdown)  # shown to read off a projector
    student = AppTest.from_file(JOIN_PAGE, default_timeout=TIMEOUT).run()
    student.text_input[0].set_value(f"{short[:3].lower()} {short[3:]}").run()
    assert not student.exception and not student.error and student.subheader[0].value == "Music"


def test_the_live_page_calibrates_and_forgets_the_resting_face(monkeypatch):
    import streamlit_webrtc.component

    monkeypatch.setattr(streamlit_webrtc.component, "get_this_session_info", lambda: None)
    at = AppTest.from_file(str(ROOT / "app_pages" / "live.py"), default_timeout=TIMEOUT).run()
    live = at.session_state["live_session"]
    next(b for b in at.sidebar.button if b.label == "Calibrate").click().run()
    assert not at.exception and live.snapshot().resting == "recording"
    next(b for b in at.sidebar.button if b.label == "Forget").click().run()
    assert live.snapshot().resting == "off"


def test_the_about_page_shows_the_model_cards_figures():
    at = AppTest.from_file(str(ROOT / "app_pages" / "about.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert len(at.get("image")) == 4  # each mode's confusion matrix and reliability diagram, not broken links
    assert not any("](confusion_matrix.png)" in m.value for m in at.markdown)
    text = "".join(m.value for m in at.markdown)
    assert "`models/CAMPAIGN.md` in the repository" in text and "](CAMPAIGN.md)" not in text  # the log: named, no dead link


def test_a_stream_that_plays_without_frames_says_so(monkeypatch):
    """Connected, but no frame reached the server since START (a network that blocks the video): after
    NO_VIDEO_S the page says so and what to do; frames that arrive clear it, and a new START waits again."""
    import time

    from app_pages import resources

    monkeypatch.setattr(resources, "NO_VIDEO_S", 0.2)

    def page():
        import streamlit as st

        from app_pages.resources import no_video_notice

        no_video_notice("stream", st.session_state.get("playing", False), st.session_state.get("frames", 0))

    at = AppTest.from_function(page, default_timeout=TIMEOUT).run()
    assert not at.warning  # stopped
    at.session_state["playing"] = True
    at.run()
    assert not at.warning  # START, just now
    time.sleep(0.3)
    at.run()
    assert len(at.warning) == 1 and "No video has reached the server" in at.warning[0].value
    at.session_state["frames"] = 1
    at.run()
    assert not at.warning  # a frame arrived
    at.session_state["playing"] = False
    at.run()
    at.session_state["playing"] = True
    at.run()
    time.sleep(0.3)
    at.run()
    assert len(at.warning) == 1  # a new START, and no frame since it (the old stream's frame does not count)
