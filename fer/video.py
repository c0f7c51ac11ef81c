"""Emotions over a recorded video (a lecture, a video call): a mood timeline, one row per time bucket.

Frames are decoded in memory with PyAV (FFmpeg) from a path or a file-like object; nothing is written
to disk. Frames are sampled at ``sample_fps`` (a face's expression changes over several frames), and
only the sampled ones are converted, straight to grey (the Y plane). A decoding thread runs ahead of the
analysis (FFmpeg and LiteRT both release the interpreter lock, so the two overlap on two cores). Each
sampled frame goes through the one analyzer with BlazeFace (``fer.pipeline.stream_detector``): ~2 ms a
frame against ~400 ms for the Haar cascade at the thorough settings the video path used before, and it
finds the turned faces of an audience that the frontal cascade misses.

An ``on_frame(t, rgb, result)`` callback sees the frames themselves (``fer.annotate`` writes a labelled
copy of the video with it): only then are frames converted to RGB instead of grey, and with
``every_frame`` the frames between samples are converted and passed too, with ``result`` None.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import BinaryIO, Callable

import av
import numpy as np

from .batch import face_rows
from .emotions import EMOTIONS
from .mood import Timeline
from .pipeline import Analyzer, stream_detector
from .results import FrameResult

# on_frame(t, rgb image, the frame's result, or None for a frame between samples)
FrameCallback = Callable[[float, np.ndarray, "FrameResult | None"], None]
# on_result(t, the analysed frame's result): its faces with their track ids, numbers only
ResultCallback = Callable[[float, FrameResult], None]

DEFAULT_SAMPLE_FPS = 5.0
# The largest frame decoded: 4K UHD (3840x2160), 8.3 megapixels. Checked from the stream's header before
# any frame is decoded, and again per frame (a stream may change size): a 1.4 MB file of 16000x16000
# frames would otherwise make FFmpeg allocate gigabytes.
MAX_FRAME_PIXELS = 3840 * 2160
_END = object()


class VideoError(ValueError):
    """A video that cannot be used, with a message for people."""


def analyze_video(
    source: str | Path | BinaryIO,
    analyzer: Analyzer,
    bucket_s: float = 1.0,
    sample_fps: float = DEFAULT_SAMPLE_FPS,
    max_seconds: float | None = None,
    progress: Callable[[float], None] | None = None,
    max_pixels: int = MAX_FRAME_PIXELS,
    on_frame: FrameCallback | None = None,
    every_frame: bool = False,
    on_result: ResultCallback | None = None,
) -> tuple[float, Timeline]:
    """Returns (the video's frame rate, its Timeline). ``progress`` gets the share done, 0 to 1.
    ``on_frame(t, rgb, result)`` is called with each analysed frame in RGB and its FrameResult, in order;
    with ``every_frame``, also with each frame between them (``result`` None). ``on_result(t, result)``
    gets each analysed frame's result alone (each face with its track id), without converting frames to RGB."""
    try:
        container = av.open(str(source) if isinstance(source, (str, Path)) else source, mode="r")
    except (av.error.FFmpegError, OSError) as err:
        raise VideoError(f"not a readable video ({_reason(err)})") from None
    with container:
        if not container.streams.video:
            raise VideoError("the file has no video track")
        if container.format.name in ("image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "gif", "tiff_pipe"):
            raise VideoError(f"this is a still image ({container.format.name}), not a video; analyse it as a photo")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if width * height > max_pixels:
            raise VideoError(f"its frames are {width}x{height}; the limit is {max_pixels / 1e6:.1f} megapixels")
        stream.thread_type = "AUTO"
        fps = float(stream.average_rate or stream.guessed_rate or 0)
        duration = _duration(container, stream)
        if max_seconds is not None and duration and duration > max_seconds:
            raise VideoError(f"the video lasts {duration / 60:.1f} min; the limit is {max_seconds / 60:.0f} min")
        # Faces counted while the detector finds them (no ghosts); smoothing off: buckets average already.
        analyze = analyzer.for_stream(stream_detector(), detect_every=1, smoothing_s=0.0, max_missed=0)
        timeline = Timeline(bucket_s)
        frames: queue.Queue = queue.Queue(maxsize=8)
        stop = threading.Event()
        decoder = threading.Thread(
            target=_decode,
            args=(container, stream, sample_fps, max_seconds, max_pixels, frames, stop, on_frame is not None, every_frame and on_frame is not None),
            name="video-decode",
            daemon=True,
        )
        decoder.start()
        try:
            while (item := frames.get()) is not _END:
                if isinstance(item, Exception):
                    if isinstance(item, VideoError) or not len(timeline):
                        raise item if isinstance(item, VideoError) else VideoError(f"the video cannot be decoded ({_reason(item)})")
                    break  # a file cut short keeps what was decoded before the damage
                t, image, sampled = item
                result = analyze(image, t) if sampled else None
                if result is not None:
                    timeline.add(t, result.probabilities)
                    if on_result is not None:
                        on_result(t, result)
                if on_frame is not None:
                    on_frame(t, image, result)
                if progress and duration:
                    progress(min(t / duration, 1.0))
        finally:
            stop.set()
            while decoder.is_alive():  # unblock a decoder waiting on a full queue, then let it finish
                try:
                    frames.get_nowait()
                except queue.Empty:
                    decoder.join(0.05)
    if not len(timeline):
        raise VideoError("the video has no frames")
    if progress:
        progress(1.0)
    return fps, timeline


class FaceLog:
    """An ``on_result`` callback that keeps one row per face per analysed frame (``fer.batch.face_rows``
    with t and track): numbers only, never a picture."""

    def __init__(self, file: str):
        self.file, self.rows = file, []
        self.seconds = 0.0  # the time of the last analysed frame, with or without a face

    def __call__(self, t: float, result: FrameResult) -> None:
        self.rows += face_rows(self.file, result, t)
        self.seconds = t

    def tracks(self) -> list[dict]:
        """One row per followed face, in order of appearance: first and last seen (s), analysed frames, its
        most frequent label and that label's share of its frames, and its mean probability of each emotion."""
        by_track: dict[int, list[dict]] = {}
        for row in self.rows:
            by_track.setdefault(row["track"], []).append(row)
        summary = []
        for track, rows in by_track.items():
            labels = [r["label"] for r in rows]
            label = max(EMOTIONS, key=labels.count)
            summary.append(
                {"track": track, "first": rows[0]["t"], "last": rows[-1]["t"], "frames": len(rows), "label": label,
                 "share": round(labels.count(label) / len(rows), 4)}
                | {e: round(float(np.mean([r[e] for r in rows])), 6) for e in EMOTIONS}
            )
        return summary


def _decode(
    container, stream, sample_fps: float, max_seconds: float | None, max_pixels: int, out: queue.Queue, stop: threading.Event,
    rgb: bool = False, every_frame: bool = False,
) -> None:
    """The decoding thread: (t, frame, sampled) for each sampled frame (grey, or RGB with ``rgb``) and, with
    ``every_frame``, for the frames between (RGB, sampled False); then _END (or the error that stopped it)."""
    next_t = 0.0
    try:
        for frame in container.decode(stream):
            if stop.is_set():
                return
            t = float(frame.time) if frame.time is not None else next_t
            sampled = t + 1e-6 >= next_t
            if not (sampled or every_frame):
                continue
            if max_seconds is not None and t > max_seconds:
                raise VideoError(f"the video runs past the {max_seconds / 60:.0f} min limit")
            if frame.width * frame.height > max_pixels:
                raise VideoError(f"a frame at {t:.1f} s is {frame.width}x{frame.height}; the limit is {max_pixels / 1e6:.1f} megapixels")
            if sampled:
                next_t = t + 1.0 / sample_fps
            out.put((t, frame.to_ndarray(format="rgb24" if rgb else "gray"), sampled))
    except (av.error.FFmpegError, VideoError) as err:
        out.put(err)
    out.put(_END)


def _duration(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return container.duration / 1_000_000 if container.duration else None


def _reason(err: Exception) -> str:
    return getattr(err, "strerror", None) or str(err).split(":")[0] or type(err).__name__
