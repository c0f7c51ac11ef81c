"""Class mood, the teacher's page: start a class and watch its mood live, or read the mood of
a video-call screenshot or a recorded lecture. Only aggregates are shown and stored."""

import json
import time

import pandas as pd
import streamlit as st

from app_pages.charts import probability_bars, timeline_chart
from app_pages.recorded import VIDEO_TYPES, analysed_video, timeline_section, video_limits
from app_pages.resources import analyzer, join_link, mode_toggle, qr_png, set_cookie, settings, store
from app_pages.uploads import show_refusal, too_large
from fer.emotions import EMOTIONS
from fer.imageio import ImageError, load_image
from fer.mood import alert_periods, negative_streak, rows_to_csv, session_report, shown, valence
from fer.render import draw
from fer.store import RoomNotFound, StoreError, markdown_escaped

SETTINGS = settings()
MAX_PHOTO_MB = SETTINGS.max_photo_mb
MIN_FACES, RETENTION_DAYS = SETTINGS.min_faces, SETTINGS.retention_days
ALERT_S = 30  # the negative share must stay above the threshold this long

st.title("Class mood")
st.caption(
    "Aggregates only: how many faces, and the share of each expression among them. No image, no face "
    f"and no per-student number is stored or shown; a distribution needs at least {MIN_FACES} faces."
)


def mood_summary(distribution: dict, faces: int, container=st, students: int | None = None, bars_height: int = 120) -> None:
    """Valence metrics and the seven shares, for one moment or a whole session."""
    v = valence(distribution)
    c = container.columns(4 if students is None else 5)
    if students is not None:
        c[-1].metric("Students streaming now", students)
    c[0].metric("Faces", faces)
    c[1].metric("Positive", f"{v['positive']:.0%}")
    c[2].metric("Neutral", f"{v['neutral']:.0%}")
    c[3].metric("Negative", f"{v['negative']:.0%}")
    top = sorted(distribution.items(), key=lambda kv: -kv[1])
    container.markdown("**Mood:** " + ", ".join(f"{e} {s:.0%}" for e, s in top if s > 0))
    if bars_height:
        table = pd.DataFrame([{"face": "class"} | distribution])
        container.vega_lite_chart(*probability_bars(table, height=bars_height, row="share"))


def teacher_cookie(code: str) -> str:
    return f"fer_teacher_{code}"


def remember_teacher(code: str, key: str, max_age_s: float) -> None:
    """Keep the teacher key in a cookie of the teacher's own browser (never in the address, so never in
    the history or a proxy's log), so that a reload or a closed tab gets back to the class: the page's
    address carries only ``?class=<code>``, and the cookie is sent to this server alone."""
    set_cookie(teacher_cookie(code), key, max_age_s)


def signed_in(code: str, key: str) -> None:
    st.session_state.class_room, st.session_state.class_key = code, key
    remember_teacher(code, key, store().room(code).expires - time.time())  # set as the page reruns
    st.query_params.clear()
    st.query_params["class"] = code


def teacher_sign_in() -> bool:
    """Whether this browser session holds an open class's teacher key; if not, the forms to start a
    class or to reopen one. A reload finds the key in the teacher's cookie for the class in the address."""
    params = st.query_params
    if "key" in params:  # an old-style link: a key in an address stays in histories and logs
        del st.query_params["key"]
        st.warning("For safety, a teacher key in the address is not used. Type it in **Open a dashboard** below.")
    if "class_key" not in st.session_state and "class" in params:
        key = st.context.cookies.get(teacher_cookie(params["class"]))
        if key and store().check_key(params["class"], key):
            st.session_state.class_room, st.session_state.class_key = params["class"], key
    if "class_key" not in st.session_state:
        start, reopen = st.columns(2)
        with start.form("start"):
            st.subheader("Start a class")
            title = st.text_input("Title (optional)", max_chars=200, placeholder="Physics 101, Tuesday")
            if st.form_submit_button("Start a class", type="primary"):
                code, key = store().create_room(
                    title, retention_s=SETTINGS.retention_s, bucket_s=SETTINGS.bucket_s, min_faces=SETTINGS.min_faces
                )
                signed_in(code, key)
                st.rerun()
        with reopen.form("reopen"):
            st.subheader("Open a dashboard")
            code = st.text_input("Class code")
            key = st.text_input("Teacher key", type="password")
            if st.form_submit_button("Open"):
                if store().check_key(code.strip(), key.strip()):
                    signed_in(code.strip(), key.strip())
                    st.rerun()
                st.error("That class code and teacher key do not match an open class.")
        return False
    return True


def live_class() -> None:
    if not teacher_sign_in():
        return
    code = st.session_state.class_room
    try:
        room = store().room(code)
    except RoomNotFound:
        st.warning("This class has expired and its numbers were deleted.")
        del st.session_state.class_key
        return

    link, warning = join_link(code)
    st.subheader(markdown_escaped(room.title) or "Your class", anchor=False)  # the teacher's text, shown as typed
    # Laid out for a 1280x720 screen: the mood and its trend on the left, joining on the right, no scrolling.
    main, side = st.columns([5, 2])
    with side:
        presenter = st.toggle("Presenter view", key="presenter", help="For a projector: the QR code, the join link "
                              "and the mood only; no teacher key, no controls.")
        st.image(qr_png(link), width=220 if presenter else 140, caption="Scan to join")
        if room.short_code:  # to type on the join page, read off a projector
            short = f"{room.short_code[:3]}-{room.short_code[3:]}"
            st.markdown(f"Join code: <span style='font-size:2rem;font-weight:700;letter-spacing:.1em'>{short}</span>",
                        unsafe_allow_html=True)
        st.code(link, language=None, wrap_lines=True)
        if warning:
            st.warning(warning)
        if not presenter:
            with st.expander("Teacher key, to open this dashboard on another device"):
                st.caption("Keep it private, and closed while your screen is shared: with the class code it opens "
                           "this dashboard. This browser remembers it for this class.")
                st.code(st.session_state.class_key, language=None)
            threshold = st.slider("Alert when the negative share stays above", 0.1, 0.9, 0.5, 0.05, format="%.2f",
                                  key="alert_threshold")
            st.caption(
                f"Students analyse about one frame per second; numbers arrive in {room.bucket_s}-second buckets. "
                f"The class and its numbers are deleted {RETENTION_DAYS:g} days after it started."
            )
            if not room.ended and st.button("End the class", type="primary"):
                store().end_room(code)
                st.rerun()
    threshold = st.session_state.get("alert_threshold", 0.5)

    @st.fragment(run_every=None if room.ended else 2.0)
    def dashboard() -> None:
        try:
            rows = store().timeline(code)
        except StoreError:  # keeps refreshing: the numbers come back with the database
            st.warning("The class store is unreachable right now; numbers will resume when it is back.")
            return
        now = time.time()
        # Students connected now: the streams of the last two buckets (a student's bucket arrives when it is
        # complete, so a student who left stops counting within two bucket lengths).
        recent = [r for r in rows if r["t"] >= now - 2 * room.bucket_s]
        streaming = max((r["streams"] for r in recent), default=0)
        latest = recent[-1] if recent else None
        if room.ended:
            st.metric("Students streaming now", streaming)
            st.info("This class has ended.")
        elif latest is None:
            st.metric("Students streaming now", streaming)
            st.info("Waiting for students. Share the join link; the mood appears a few seconds after they start.")
        elif latest["faces"] < room.min_faces:
            st.metric("Students streaming now", streaming)
            st.info(f"{latest['faces']} face(s) in view: the mood appears from {room.min_faces} faces on.")
        else:
            # Up only while the streak reaches the latest bucket: it clears when the mood recovers.
            if negative_streak(rows, threshold, ALERT_S, room.bucket_s, room.min_faces) and rows[-1] is latest:
                st.error(f"Alert: the negative share has stayed above {threshold:.0%} for {ALERT_S} s.")
            # The shares in words and the trend below them, no bar chart: all of it fits a 1280x720 screen.
            mood_summary(latest["distribution"], latest["faces"], students=streaming, bars_height=0)
        kept = shown(rows, room.min_faces)
        if kept:
            st.vega_lite_chart(*timeline_chart(kept, clock=True, height=190), width="stretch")

    with main:
        dashboard()
    if room.ended:
        class_report(room)


def class_report(room) -> None:
    """The ended class: its report and the CSV and JSON downloads (k-anonymous: from the store)."""
    code = room.code
    rows = store().timeline(code)
    threshold = st.session_state.get("alert_threshold", 0.5)
    report = session_report(rows, room.min_faces, alert_periods(rows, threshold, ALERT_S, room.bucket_s, room.min_faces))
    st.markdown("#### Class report")
    if report["buckets_shown"]:
        mood_summary(report["distribution"], report["peak_faces"])
    st.write(
        f"{report['buckets']} buckets of {room.bucket_s} s, {report['buckets_shown']} with at least "
        f"{room.min_faces} faces; at most {report['peak_participants']} students at once."
    )
    clock = lambda t: time.strftime("%H:%M:%S", time.localtime(t))  # noqa: E731
    alerts = "; ".join(f"{clock(a['start'])}-{clock(a['end'] + room.bucket_s)}" for a in report["alerts"])
    st.write(f"Negative-mood alerts (above {threshold:.0%} for {ALERT_S} s): {alerts or 'none'}.")
    c1, c2, c3 = st.columns(3)
    c1.download_button("Download CSV", rows_to_csv(rows), f"class_{code[:6]}.csv", "text/csv")
    c2.download_button(
        "Download JSON",
        json.dumps({"title": room.title, "bucket_s": room.bucket_s, "report": report, "timeline": rows}, indent=2),
        f"class_{code[:6]}.json",
        "application/json",
    )
    if c3.button("Start another class"):
        del st.session_state.class_key
        st.query_params.clear()
        st.rerun()


def gallery_screenshot() -> None:
    st.write("Upload a screenshot of a video-call gallery: the mood of the class at that moment.")
    upload = st.file_uploader(
        "Screenshot", type=["png", "jpg", "jpeg", "webp", "bmp"], key="gallery", max_upload_size=MAX_PHOTO_MB
    )
    show_refusal()
    if upload is not None and (refusal := too_large(upload, MAX_PHOTO_MB, "screenshot")):  # the browser's check is not enough
        st.error(refusal)
    elif upload is not None:
        try:
            image = load_image(upload.getvalue())
        except ImageError as err:
            st.error(f"Cannot use {upload.name}: {str(err).replace('the upload', 'the file')}.")
        else:
            result = analyzer()(image)
            faces = len(result.faces)
            # Boxes only, no labels: this page shows the class, never one person's expression.
            st.image(draw(image, result, labels=False), caption=f"{faces} face(s) found", width="stretch")
            if not faces:
                st.warning("No face found. Faces should be frontal and at least about 40 pixels wide.")
            else:
                counts = pd.Series([f.label for f in result.faces]).value_counts()
                mood_summary({e: round(counts.get(e, 0) / faces, 4) for e in EMOTIONS}, faces)


def recorded_lecture() -> None:
    max_mb, max_minutes = video_limits()
    st.write(
        f"Upload a recorded lecture or call (up to {max_minutes:g} minutes and {max_mb} MB): a timeline of the "
        "class's mood. The video is decoded in memory and never stored."
    )
    video = st.file_uploader("Video", type=VIDEO_TYPES, key="lecture", max_upload_size=max_mb)
    show_refusal()
    mode = mode_toggle("lecture_mode")
    if video is not None and (refusal := too_large(video, max_mb, "video")):
        st.error(refusal)
    elif video is not None and (analysed := analysed_video(video, mode)) is not None:
        timeline = timeline_section(video, analysed.timeline)
        rows = timeline.rows()
        st.success(
            f"{video.name}: {len(rows)} step(s) of {timeline.bucket_s:g} s at {analysed.fps:.1f} fps; "
            f"faces seen in {sum(bool(r['faces']) for r in rows)}."
        )
        stem = video.name.rsplit(".", 1)[0]
        c1, c2 = st.columns(2)
        c1.download_button("Download CSV", timeline.to_csv(), f"{stem}_mood.csv", "text/csv")
        c2.download_button(
            "Download JSON", json.dumps({"fps": analysed.fps, "timeline": rows}, indent=2), f"{stem}_mood.json", "application/json"
        )


live_tab, gallery_tab, lecture_tab = st.tabs(["Live class", "Video-call screenshot", "Recorded lecture"])
with live_tab:
    try:
        live_class()
    except StoreError:  # signing in, starting or ending a class, or its report while the database is down
        st.warning("The class store is unreachable right now; please try again in a minute.")
with gallery_tab:
    gallery_screenshot()
with lecture_tab:
    recorded_lecture()
