"""Recorded video: `python -m fer video` and the library under it, on videos made from real faces."""

import io
import json

import av
import numpy as np
import pytest

from fer.emotions import EMOTIONS
from fer.pipeline import Analyzer
from fer.video import VideoError, analyze_video

from .conftest import FPS, face_clip, run_cli


def write_mp4(path, frames, fps=FPS):
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for frame in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def angry_then_happy(samples, tmp_path_factory):
    """3 s of an angry face, then 3 s of a smiling one. (Until the wider fast network, the first face was
    the neutral sample photo, which that network calls happy 37% and neutral 10%: see test_pipeline.)"""
    frames = face_clip(samples / "faceapi_angry.jpg", 3.0) + face_clip(samples / "faceapi_happy.jpg", 3.0)
    return write_mp4(tmp_path_factory.mktemp("video") / "lecture.mp4", frames)


def test_video_json_shows_the_expression_rising(angry_then_happy, tmp_path):
    out = run_cli("video", str(angry_then_happy), "--json", "--csv", str(tmp_path / "t.csv"))
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert set(report) == {"fps", "timeline"} and abs(report["fps"] - FPS) < 0.01
    timeline = report["timeline"]
    assert [e["t"] for e in timeline] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]  # one entry per 1-s bucket
    for entry in timeline:
        assert set(entry) == {"t", "faces", "distribution"} and list(entry["distribution"]) == list(EMOTIONS)
        assert entry["faces"] == 1 and abs(sum(entry["distribution"].values()) - 1) < 1e-3
    happy_before = np.mean([e["distribution"]["happy"] for e in timeline[:3]])
    happy_after = np.mean([e["distribution"]["happy"] for e in timeline[3:]])
    assert happy_before < 0.2 and happy_after > 0.8, (happy_before, happy_after)
    assert (tmp_path / "t.csv").read_text().startswith("t,frames,faces,angry")


def test_video_table_and_buckets(angry_then_happy):
    out = run_cli("video", str(angry_then_happy), "--bucket", "2")
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert "3 bucket(s) of 2 s" in lines[0] and lines[1].split()[:3] == ["t", "faces", "angry"]
    assert len(lines) == 2 + 3


def test_video_from_memory_with_progress(angry_then_happy):
    seen = []
    fps, timeline = analyze_video(
        io.BytesIO(angry_then_happy.read_bytes()), Analyzer.default(), bucket_s=3, progress=seen.append
    )
    assert len(timeline) == 2 and seen[-1] == 1.0 and seen == sorted(seen)


def test_video_limits_and_bad_files(angry_then_happy, tmp_path):
    with pytest.raises(VideoError, match="limit is"):
        analyze_video(angry_then_happy, Analyzer.default(), max_seconds=2)
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(angry_then_happy.read_bytes()[:2000])
    for path in (text, cut, tmp_path / "missing.mp4"):
        out = run_cli("video", str(path))
        assert out.returncode == 2 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr


def test_a_photo_given_as_a_video_and_a_video_as_a_photo_are_one_line_errors(samples, angry_then_happy):
    photo = run_cli("video", str(samples / "faceapi_happy.jpg"))
    assert photo.returncode == 2 and "still image" in photo.stderr and "Traceback" not in photo.stderr
    video = run_cli("image", str(angry_then_happy))
    assert video.returncode == 2 and "not an image" in video.stderr and "Traceback" not in video.stderr
    assert "INFO" not in photo.stderr + video.stderr  # no runtime chatter on stderr


def test_a_one_frame_video_counts_its_face(samples, tmp_path):
    one = write_mp4(tmp_path / "one.mp4", face_clip(samples / "faceapi_happy.jpg", 1 / FPS))
    fps, timeline = analyze_video(one, Analyzer.default())
    assert [(r["faces"], r["distribution"]["happy"]) for r in timeline.rows()] == [(1, 1.0)]


def test_frames_over_the_pixel_limit_are_refused_before_decoding(angry_then_happy):
    with pytest.raises(VideoError, match="megapixels"):
        analyze_video(angry_then_happy, Analyzer.default(), max_pixels=320 * 200)
