"""Emotions over a recorded video (a lecture, a video call): a mood timeline, one row per time bucket.

Frames are decoded in memory with PyAV (FFmpeg) from a path or a file-like object; nothing is written
to disk. Frames are sampled at ``sample_fps`` (a face's expression changes over several frames), each
sampled frame is analysed, and faces are tracked so that a one-off false detection never counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Callable

import av

from .faces import HaarDetector
from .mood import Timeline
from .pipeline import Analyzer

DEFAULT_SAMPLE_FPS = 5.0


class VideoError(ValueError):
    """A video that cannot be used, with a message for people."""


def video_detector() -> HaarDetector:
    """Thorough enough for the small faces of a video-call gallery, at ~30-60 ms per 720p frame."""
    return HaarDetector(scale_factor=1.1, min_neighbors=4, min_face=0.03, work_width=960)


def analyze_video(
    source: str | Path | BinaryIO,
    analyzer: Analyzer,
    bucket_s: float = 1.0,
    sample_fps: float = DEFAULT_SAMPLE_FPS,
    max_seconds: float | None = None,
    progress: Callable[[float], None] | None = None,
) -> tuple[float, Timeline]:
    """Returns (the video's frame rate, its Timeline). ``progress`` gets the share done, 0 to 1."""
    try:
        container = av.open(str(source) if isinstance(source, (str, Path)) else source, mode="r")
    except (av.error.FFmpegError, OSError) as err:
        raise VideoError(f"not a readable video ({_reason(err)})") from None
    with container:
        if not container.streams.video:
            raise VideoError("the file has no video track")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = float(stream.average_rate or stream.guessed_rate or 0)
        duration = _duration(container, stream)
        if max_seconds is not None and duration and duration > max_seconds:
            raise VideoError(f"the video lasts {duration / 60:.1f} min; the limit is {max_seconds / 60:.0f} min")
        analyze = analyzer.for_stream(video_detector(), detect_every=1, smoothing_s=0.0, max_missed=0)
        timeline, next_t = Timeline(bucket_s), 0.0
        try:
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else next_t
                if t + 1e-6 < next_t:
                    continue
                if max_seconds is not None and t > max_seconds:
                    raise VideoError(f"the video runs past the {max_seconds / 60:.0f} min limit")
                next_t = t + 1.0 / sample_fps
                timeline.add(t, analyze(frame.to_ndarray(format="rgb24"), t).probabilities)
                if progress and duration:
                    progress(min(t / duration, 1.0))
        except av.error.FFmpegError as err:
            if not len(timeline):
                raise VideoError(f"the video cannot be decoded ({_reason(err)})") from None
            # A file cut short keeps what was decoded before the damage.
    if not len(timeline):
        raise VideoError("the video has no frames")
    if progress:
        progress(1.0)
    return fps, timeline


def _duration(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return container.duration / 1_000_000 if container.duration else None


def _reason(err: Exception) -> str:
    return getattr(err, "strerror", None) or str(err).split(":")[0] or type(err).__name__
