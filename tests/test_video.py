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


@pytest.mark.parametrize("codec", ["libx264", "mpeg4"])
def test_the_annotated_copy_boxes_the_face_in_its_label_colour(samples, tmp_path, codec):
    """Every source frame is written, at its own time, with the face drawn as fer.render.draw draws it
    (the last analysed result held between samples) and the mood strip below in the label's colour."""
    from fer.annotate import VideoAnnotator
    from fer.emotions import COLORS

    if codec not in av.codecs_available:
        pytest.skip(f"this PyAV build has no {codec}")
    clip = write_mp4(tmp_path / "smile.mp4", face_clip(samples / "faceapi_happy.jpg", 1.0))  # 30 frames, 640x480
    out = tmp_path / "smile_annotated.mp4"
    seen = []
    with VideoAnnotator(out, codec=codec) as annotator:
        def record(t, image, result):
            seen.append((t, image.shape, result))
            annotator(t, image, result)

        analyze_video(clip, Analyzer.default(), on_frame=record, every_frame=True)
    analysed = [(t, r) for t, _, r in seen if r is not None]
    assert len(seen) == 30 and [round(t, 3) for t, _ in analysed] == [0.0, 0.2, 0.4, 0.6, 0.8]
    assert {shape for _, shape, _ in seen} == {(480, 640, 3)}
    face = analysed[0][1].faces[0]
    assert face.label == "happy"

    with av.open(str(out)) as video:
        stream = video.streams.video[0]
        assert stream.codec_context.name == ("h264" if codec == "libx264" else "mpeg4")
        frames = [(float(f.time), f.to_ndarray(format="rgb24")) for f in video.decode(stream)]
    assert len(frames) == 30 and abs(frames[-1][0] - seen[-1][0]) < 0.002  # same frames, same times
    image = frames[0][1]
    assert image.shape[1] == 640 and 480 < image.shape[0] <= 480 + 480 // 20 and image.shape[0] % 2 == 0

    def share_near(region, color) -> float:
        return float((np.abs(region.astype(int) - np.array(color)).max(-1) < 40).mean())

    x, y, w, h = face.box
    for _, frame in frames[:6]:  # the analysed frame and the five that hold its result
        assert share_near(frame[y - 16 : y - 4, x + 2 : x + 60], COLORS["happy"]) > 0.3  # the label tag above the box
        assert share_near(frame[484:-2], COLORS["happy"]) > 0.9  # the strip: all of the bucket's faces are happy
        assert share_near(frame[:480], COLORS["happy"]) < 0.05  # the colour is the annotation's, not the photo's
        assert share_near(frame[:480], COLORS["sad"]) < 0.01


def test_annotate_from_the_command_line_and_no_half_written_copy(samples, tmp_path):
    from fer.annotate import VideoAnnotator

    clip = write_mp4(tmp_path / "smile.mp4", face_clip(samples / "faceapi_happy.jpg", 0.5))
    out = run_cli("video", str(clip), "--annotate", str(tmp_path / "labelled.mp4"), "--json")
    assert out.returncode == 0, out.stderr
    assert set(json.loads(out.stdout)) == {"fps", "timeline"}  # the JSON is unchanged
    with av.open(str(tmp_path / "labelled.mp4")) as video:
        assert sum(1 for _ in video.decode(video=0)) == 15
    assert "wrote " in run_cli("video", str(clip), "--annotate", str(tmp_path / "labelled.mkv")).stdout

    same = run_cli("video", str(clip), "--annotate", str(clip))
    assert same.returncode == 2 and "would overwrite the video being read" in same.stderr and clip.stat().st_size > 0

    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    existing = tmp_path / "existing.mp4"
    existing.write_bytes(b"keep me")
    out = run_cli("video", str(broken), "--annotate", str(existing))
    assert out.returncode == 2 and existing.read_bytes() == b"keep me"  # failed before writing: left alone

    def fail_midway(t, image, result):
        annotator(t, image, result)
        if annotator._started:  # once the file is begun
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError), VideoAnnotator(tmp_path / "half.mp4") as annotator:
        analyze_video(write_mp4(tmp_path / "long.mp4", face_clip(samples / "faceapi_happy.jpg", 3.0)), Analyzer.default(), on_frame=fail_midway, every_frame=True)
    assert 0 < annotator.frames < 90 and not (tmp_path / "half.mp4").exists()


def test_each_face_per_frame_with_its_track_and_a_labelled_copy_in_memory(angry_then_happy, tmp_path):
    import csv

    from fer.annotate import VideoAnnotator

    faces = tmp_path / "faces.csv"
    out = run_cli("video", str(angry_then_happy), "--faces", str(faces))
    assert out.returncode == 0, out.stderr
    assert f"wrote {faces} (30 face rows, 1 followed face(s))" in out.stdout  # 6 s at 5 analysed frames a second
    rows = list(csv.DictReader(faces.read_text().splitlines()))
    assert list(rows[0])[:4] == ["file", "t", "track", "face"] and list(rows[0])[-2:] == ["mode", "model"]
    assert {r["track"] for r in rows} == {"1"} and {r["mode"] for r in rows} == {"fast"}
    labels = [r["label"] for r in rows]
    assert labels[:15].count("angry") > 10 and labels[15:].count("happy") > 10  # the face's own labels over time
    assert abs(sum(float(rows[0][e]) for e in EMOTIONS) - 1) < 1e-3

    # The page's copy: the same annotation into memory, never a file
    buffer = io.BytesIO()
    with VideoAnnotator(buffer) as annotator:
        analyze_video(angry_then_happy, Analyzer.default(), on_frame=annotator, every_frame=True)
    assert list(tmp_path.iterdir()) == [faces]
    with av.open(io.BytesIO(buffer.getvalue())) as video:
        assert sum(1 for _ in video.decode(video=0)) == 180
