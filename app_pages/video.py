"""Video page, for research and UX sessions: a recorded video in, every face followed and labelled over
time, the numbers (one row per face per analysed frame) and a labelled copy of the video out. Analysing,
annotating and keeping the results in the session is ``app_pages.recorded``'s; the numbers are ``fer``'s."""

import pandas as pd
import streamlit as st

from app_pages.charts import emotion_legend, label_colors, probability_columns, tracks_chart
from app_pages.recorded import VIDEO_TYPES, analysed_video, annotated_key, annotated_video, timeline_section, video_limits
from app_pages.resources import analyzer, mode_toggle
from app_pages.uploads import show_refusal, too_large
from fer.mood import rows_to_csv

# The labelled copy is kept in the session's memory until the visitor leaves (about 3.4 MB a minute for
# the 640x360 sample clip): longer videos are labelled on the command line, `fer video --annotate`.
ANNOTATE_MINUTES = 10

st.title("Emotions in a recorded video")
st.caption(
    "For research and UX sessions: every face is followed through the video and labelled at each analysed "
    "frame (5 a second). The video is decoded in memory and never stored; the results stay in this browser "
    "session until you leave."
)
MAX_VIDEO_MB, MAX_VIDEO_MINUTES = video_limits()
with st.sidebar:
    mode = mode_toggle("video_mode")
video = st.file_uploader(
    "Video", type=VIDEO_TYPES, key="video", max_upload_size=MAX_VIDEO_MB,
    help=f"MP4, MOV, WebM, MKV, AVI or MPEG, up to {MAX_VIDEO_MINUTES:g} minutes and {MAX_VIDEO_MB} MB",
)
show_refusal()
if video is None:
    st.info("Upload a recorded session (a usability test, an interview, a video call): each face gets its "
            "own row of labels over time, a table and a CSV, and a labelled copy of the video to download.")
    st.stop()
if refusal := too_large(video, MAX_VIDEO_MB, "video"):
    st.error(refusal)
    st.stop()
if (analysed := analysed_video(video, mode, faces=True)) is None:
    st.stop()

rows, tracks = analysed.faces.rows, analysed.faces.tracks()
seconds = analysed.faces.seconds
c1, c2, c3 = st.columns(3)
c1.metric("Length analysed", f"{seconds:.1f} s", help=f"{analysed.fps:.1f} frames a second in the file")
c2.metric("Faces followed", len(tracks), help="A face that leaves the picture and comes back may count twice.")
c3.metric("Face observations", len(rows), help="One per face per analysed frame")
st.markdown(emotion_legend(), unsafe_allow_html=True)
stem = video.name.rsplit(".", 1)[0]
trace = {"mode": mode, "model": analyzer(mode).classifier.version}
if not rows:
    st.warning("No face found. Faces should be frontal, at least about 40 pixels wide, and not hidden by hands, masks or strong shadows.")
else:
    st.subheader("Each face over time")
    st.vega_lite_chart(*tracks_chart(rows), width="stretch")
    table = pd.DataFrame(tracks).rename(columns={"track": "face", "first": "first seen (s)", "last": "last seen (s)", "share": "of its frames"})
    st.dataframe(
        label_colors(table), hide_index=True,
        column_config=probability_columns() | {
            "of its frames": st.column_config.ProgressColumn("of its frames", format="percent", min_value=0.0, max_value=1.0, color="gray"),
            "first seen (s)": st.column_config.NumberColumn(format="%.1f"),
            "last seen (s)": st.column_config.NumberColumn(format="%.1f"),
        },
    )
    st.caption("label: the face's most frequent label; the bars: its mean probability of each emotion over the video.")
st.subheader("All faces together")
timeline = timeline_section(video, analysed.timeline)

d1, d2 = st.columns(2)
if rows:
    d1.download_button("Download faces CSV", rows_to_csv([r | trace for r in rows]), f"{stem}_faces.csv", "text/csv", on_click="ignore",
                       help="One row per face per analysed frame: file, t, track, face, box, detector score, label, seven probabilities, mode, model")
d2.download_button("Download timeline CSV", timeline.to_csv(), f"{stem}_timeline.csv", "text/csv", on_click="ignore")

st.subheader("Labelled video")
if seconds > ANNOTATE_MINUTES * 60:
    st.info(f"A labelled copy is made here for videos up to {ANNOTATE_MINUTES} minutes; for this one, run "
            f"`python -m fer video {video.name} --annotate labelled.mp4` on your computer.")
elif annotated_key(video, mode) not in st.session_state:
    if st.button("Make the labelled video", help="Each analysed face boxed and labelled, with a strip of the mood below (MP4, H.264)"):
        if annotated_video(video, mode) is not None:
            st.rerun()  # shows the copy in place of the button
else:
    left, right = st.columns([3, 2])
    left.video(st.session_state[annotated_key(video, mode)], format="video/mp4")
    right.write("Each analysed face boxed in its label's colour (dashed when unsure), with the share of each "
                "emotion in the current second on the strip below. Encoded in memory; nothing is kept on the server.")
    right.download_button("Download labelled video", st.session_state[annotated_key(video, mode)], f"{stem}_labelled.mp4", "video/mp4", on_click="ignore")
