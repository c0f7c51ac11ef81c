"""Live camera page: the browser's webcam through WebRTC, each face tracked, labelled and charted."""

import av
import pandas as pd
import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from app_pages.charts import emotion_legend, probability_bars, timeline_chart
from app_pages.resources import (
    analyzer, connection_help, live_viewer_weight, no_video_notice, rtc_configuration, settings, stream_admission,
)
from fer.pipeline import SENSITIVITY
from fer.stream import LiveSession, LiveSettings

PANEL_REFRESH_S = 0.5

st.title("Live camera")
st.caption("Frames are analysed in memory on the server and never stored; the timeline keeps only per-second shares.")

with st.sidebar:
    st.header("Live settings")
    live_settings = LiveSettings(
        sensitivity=st.select_slider(
            "Face detector sensitivity",
            options=list(SENSITIVITY),
            value="normal",
            help="Higher finds smaller and harder faces, and more false ones.",
        ),
        smoothing_s=st.slider(
            "Smoothing window (seconds)",
            0.0, 3.0, 0.5, 0.1,
            help="Each face's probabilities are averaged over this window: longer is steadier, shorter reacts faster.",
        ),
        show_probabilities=st.toggle("Probability bars on the video", value=True),
        mirror=st.toggle("Mirror view", value=True, help="Show the video as a mirror, like a selfie camera."),
    )

# One LiveSession per browser session; the video thread and this script share it through its lock.
if "live_session" not in st.session_state:
    st.session_state.live_session = LiveSession(analyzer(), live_settings, max_fps=settings().max_live_fps)
live: LiveSession = st.session_state.live_session
live.configure(live_settings)

@st.fragment
def resting_face() -> None:
    # A fragment: its buttons rerun only this, never the page with the running stream in it (a whole-page
    # rerun on a machine short of CPU now and then stopped the stream at the click).
    st.subheader("Your resting face")
    st.caption(
        "Many faces at rest read as sad or angry. Hold a neutral face and press the button: three seconds "
        "of it correct your labels from then on. Kept in this browser session's memory only."
    )
    rest, forget = st.columns(2)
    if rest.button("Calibrate", help="Records 3 seconds of the largest face in view while the camera runs"):
        live.calibrate_resting(seconds=3.0)
    if forget.button("Forget"):
        live.forget_resting()


with st.sidebar:
    resting_face()


def on_frame(frame: av.VideoFrame) -> av.VideoFrame:
    # Runs in streamlit-webrtc's worker thread: no st.* calls here. A frame that arrives while this
    # one is being processed is dropped by streamlit-webrtc, never queued.
    return av.VideoFrame.from_ndarray(live.process(frame.to_ndarray(format="rgb24")), format="rgb24")


video, panel_column = st.columns([3, 2])
with video:
    admission = stream_admission("live", live_viewer_weight())  # when the server is full: says so, and stops here
    ctx = webrtc_streamer(
        key="live",
        mode=WebRtcMode.SENDRECV,
        video_frame_callback=on_frame,
        on_video_ended=admission.on_ended(),
        media_stream_constraints={"video": {"width": 640, "height": 480, "frameRate": {"ideal": 30}}, "audio": False},
        rtc_configuration=rtc_configuration(),
        async_processing=True,
    )
    admission.started(ctx)
    if not ctx.state.playing:
        connection_help()
    st.markdown(emotion_legend(), unsafe_allow_html=True)

playing = ctx.state.playing
if playing and not st.session_state.get("live_was_playing"):
    live.start()  # a new timeline and fresh figures for each START
st.session_state.live_was_playing = playing


@st.fragment(run_every=PANEL_REFRESH_S if playing else None)
def panel() -> None:
    snap = live.snapshot()
    faces = snap.result.faces if snap.result and playing else ()
    c1, c2, c3 = st.columns(3)
    c1.metric("Faces", len(faces))
    # Stopped, the rate is 0: the last stream's figure would read as frames still arriving.
    c2.metric("Frames/s", f"{snap.fps if playing else 0:.0f}", help=f"Frames analysed per second (at most {live.max_fps:g} per session)")
    c3.metric("ms/frame", f"{snap.ms_per_frame:.1f}")
    if snap.capped:
        st.caption(f"The camera sends more than {live.max_fps:g} frames/s; extra frames are shown, not analysed.")
    no_video_notice("live_no_video", playing, snap.frames)
    if not playing:
        st.info("Press START and allow the camera. Each face gets a box, a label and its seven probabilities.")
    elif not faces:
        st.write("No face in view. Face the camera in good light.")
    else:
        st.markdown("  \n".join(f"**Face {f.track_id}**: {f.label} {f.confidence:.0%}" for f in faces))
        table = pd.DataFrame([{"face": f.track_id} | f.to_dict()["probabilities"] for f in faces])
        st.vega_lite_chart(*probability_bars(table, height=110))


@st.fragment(run_every=1.0 if playing else None)
def timeline() -> None:
    snap = live.snapshot()
    st.subheader("Session timeline")
    if not snap.timeline:
        st.caption("The share of each emotion among the faces seen, per second since START, appears here.")
        return
    # Seconds without a face have no shares to stack: leaving them out keeps the chart to the data.
    seen = [row for row in snap.timeline if row["faces"]]
    if seen:
        st.vega_lite_chart(*timeline_chart(seen), width="stretch")
    if snap.resting != "off":
        st.caption("Your resting face is recording…" if snap.resting == "recording" else "Labels corrected to your resting face.")
    if not playing:
        st.download_button("Download timeline CSV", snap.timeline_csv, "live_timeline.csv", "text/csv")


with panel_column:
    panel()
timeline()
