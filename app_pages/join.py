"""Join a class, the student's page: a plain consent notice, then the webcam at low cost. About one
frame per second is analysed in memory; only per-bucket numbers for the whole class are stored."""

import av
import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from app_pages.resources import (
    analyzer, connection_help, no_video_notice, room_code, rtc_configuration, store, stream_admission,
)
from fer.reporter import ClassReporter
from fer.store import RoomNotFound, StoreError, markdown_escaped

st.title("Join a class")

code = st.query_params.get("room") or room_code(st.text_input("Join code or link (from your teacher)", placeholder="ABC-DEF"))
if not code:
    st.stop()
try:
    room = store().room(code)
except RoomNotFound:
    st.error("No open class has this code. Check the link or the join code with your teacher.")
    st.stop()
except StoreError:
    st.warning("The class store is unreachable right now. Please try again in a minute.")
    st.stop()
if room.ended:
    st.info("This class has ended. Thank you for taking part.")
    st.stop()

st.subheader(markdown_escaped(room.title) or "Class mood", anchor=False)  # the teacher's text, shown as typed
st.markdown(
    f"""
**Before you join, please read this.**

- Your teacher sees only the **class as a whole**: how many faces are in view and the share of each
  facial expression among them, once at least {room.min_faces} faces are counted. Nobody sees your video,
  your face, or any number about you alone.
- About one frame per second of your webcam is analysed in the server's memory and discarded at once.
  **No image is recorded or stored**; only the class's numbers are, for a limited time.
- The computer reads **facial expressions, not feelings**. It is often wrong, and a neutral or focused
  face can look "sad" or "angry" to it. It must never be used to grade or judge anyone.
- In the EU, inferring emotions of students in education institutions is prohibited since 2 February
  2025 (AI Act, Art. 5(1)(f)), except for medical or safety reasons. Your school is responsible for
  checking that this use is lawful where you are.
- Taking part is your choice. You can press **STOP** or close this page at any time.
"""
)
if not st.checkbox("I agree to share my facial expressions, anonymously and as part of the class, for this session"):
    st.stop()

key = f"reporter_{code}"
if key not in st.session_state:
    st.session_state[key] = ClassReporter(store(), code, analyzer(), room.bucket_s)
reporter: ClassReporter = st.session_state[key]


def on_frame(frame: av.VideoFrame) -> av.VideoFrame:
    # Video thread: analyse ~1 frame/s; show the student their own boxes so they know it works.
    image = frame.to_ndarray(format="rgb24")
    boxed = reporter.on_frame(image)
    return frame if boxed is image else av.VideoFrame.from_ndarray(boxed, format="rgb24")


admission = stream_admission(f"join_{code}")  # when the server is full: says so, and the page stops here
ctx = webrtc_streamer(
    key=f"join_{code}",
    mode=WebRtcMode.SENDRECV,
    video_frame_callback=on_frame,
    on_video_ended=admission.on_ended(then=reporter.flush),
    # Small frames at a low rate: the class needs about one analysis per second per student.
    media_stream_constraints={"video": {"width": 320, "height": 240, "frameRate": {"ideal": 5, "max": 10}}, "audio": False},
    rtc_configuration=rtc_configuration(),
    async_processing=True,
)
admission.started(ctx)
if not ctx.state.playing:
    connection_help()


@st.fragment(run_every=2.0 if ctx.state.playing else None)
def status() -> None:
    if reporter.ended:
        st.info("The class has ended. Thank you for taking part; you can close this page.")
    elif ctx.state.playing:
        seen = reporter.result.faces if reporter.result else ()
        st.caption(
            f"Connected. {'Your face is in view' if seen else 'No face in view'}; "
            f"{reporter.sent} update(s) sent to the class mood."
        )
    else:
        st.caption("Press START to join the class mood, and allow the camera.")
    no_video_notice(f"no_video_{code}", ctx.state.playing and not reporter.ended, reporter.analysed)
    if reporter.pending and not reporter.ended:
        st.warning(
            f"The class store is unreachable; {reporter.pending} update(s) waiting. They are sent when it is "
            f"back (at most {reporter.max_pending} are kept)."
        )
    if reporter.lost:
        st.caption(f"{reporter.lost} update(s) could not be kept while the class store was unreachable.")


status()
