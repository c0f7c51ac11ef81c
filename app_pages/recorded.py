"""What the two views of a recorded video share: the class page's lecture tab (aggregates only) and the
video page (each face). The video is analysed once per file and mode, in memory, and only numbers are
kept in the browser session; display settings such as the timeline step only regroup them."""

from __future__ import annotations

import io
from dataclasses import dataclass

import streamlit as st

from app_pages.charts import timeline_chart
from app_pages.resources import analyzer, settings
from fer.annotate import VideoAnnotator
from fer.mood import Timeline
from fer.video import FaceLog, VideoError, analyze_video

VIDEO_TYPES = ["mp4", "m4v", "mov", "webm", "mkv", "avi", "mpeg", "mpg", "ogv"]
STEPS = [1, 2, 5, 10, 30, 60]  # timeline steps offered, in seconds


def video_limits() -> tuple[int, float]:
    """(MB, minutes) an uploaded video may have, from the settings read now (serve.py refuses to start
    when the MB are over Streamlit's own upload limit)."""
    return min(settings().max_video_mb, st.get_option("server.maxUploadSize")), settings().max_video_minutes


@dataclass(frozen=True)
class Analysed:
    fps: float
    timeline: Timeline  # one-second buckets
    faces: FaceLog | None  # each face per analysed frame, on the video page only


def analysed_video(video, mode: str, faces: bool = False) -> Analysed | None:
    """An uploaded video analysed once per file, mode and view; None after showing why it cannot be used.
    ``faces`` keeps each face's rows (the video page); the class page keeps aggregates only."""
    key = f"recorded:{video.file_id}:{mode}:{faces}"
    if key not in st.session_state:
        log = FaceLog(video.name) if faces else None
        if (done := _analyse(video, mode, "Analysing", on_result=log)) is None:
            return None
        st.session_state[key] = Analysed(*done, log)
    return st.session_state[key]


def annotated_video(video, mode: str) -> bytes | None:
    """An MP4 of the video with each analysed face boxed and labelled, encoded in memory (never on disk) and
    kept in this browser session until it ends; None after showing why it cannot be made."""
    key = annotated_key(video, mode)
    if key not in st.session_state:
        out = io.BytesIO()
        with VideoAnnotator(out) as on_frame:
            if _analyse(video, mode, "Labelling", on_frame=on_frame, every_frame=True) is None:
                return None
        st.session_state[key] = out.getvalue()
    return st.session_state[key]


def annotated_key(video, mode: str) -> str:
    """Where the session keeps the labelled copy of ``video`` in ``mode``."""
    return f"annotated:{video.file_id}:{mode}"


def _analyse(video, mode: str, doing: str, **options) -> tuple[float, Timeline] | None:
    """``fer.video.analyze_video`` over an upload, with a progress bar and a clear error."""
    bar = st.progress(0.0, text=f"{doing} {video.name}…")
    try:
        video.seek(0)  # an in-memory file: decoded without a copy, never written to disk
        return analyze_video(
            video, analyzer(mode), bucket_s=1.0, max_seconds=video_limits()[1] * 60,
            progress=lambda done: bar.progress(done, text=f"{doing} {video.name}… {done:.0%}"), **options,
        )
    except VideoError as err:
        st.error(f"Cannot use {video.name}: {err}.")
        return None
    finally:
        bar.empty()


def timeline_section(video, fine: Timeline) -> Timeline:
    """The step slider and the stacked chart of a video's mood; returns the timeline at the chosen step."""
    duration = max(len(fine), 1)  # one-second buckets
    # The finest step that keeps the chart readable (at most 150 points): 1 s for a short clip.
    default = next((s for s in STEPS if duration / s <= 150), STEPS[-1])
    step = st.select_slider("Timeline step (seconds)", STEPS, value=default, key=f"step_{video.file_id}")
    timeline = fine.regroup(step)  # a display setting: no second analysis
    kept = [r for r in timeline.rows() if r["faces"]]
    if kept:
        st.vega_lite_chart(*timeline_chart(kept), width="stretch")
    return timeline
