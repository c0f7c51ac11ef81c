import json

import numpy as np
import pytest

from fer.emotions import EMOTIONS

from .conftest import SAMPLE_FACES, png_bytes, run_cli


def test_image_json_on_a_group_photo(samples):
    result = run_cli("image", str(samples / "facerec_two_people.jpg"), "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["width"], out["height"]) == (1126, 661)
    assert len(out["faces"]) == SAMPLE_FACES["facerec_two_people.jpg"]
    for face in out["faces"]:
        assert len(face["box"]) == 4 and face["label"] in EMOTIONS
        assert list(face["probabilities"]) == list(EMOTIONS)
        assert sum(face["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)


def test_image_table_reads_a_smile_as_happy(samples):
    result = run_cli("image", str(samples / "faceapi_happy.jpg"))
    assert result.returncode == 0, result.stderr
    assert "1 face(s)" in result.stdout
    header, row = (line.split() for line in result.stdout.splitlines()[-2:])
    assert row[header.index("label")] == "happy"


def test_image_without_faces(tmp_path):
    path = tmp_path / "noise.png"
    path.write_bytes(png_bytes(np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)))
    result = run_cli("image", str(path), "--json")
    assert result.returncode == 0
    out = json.loads(result.stdout)
    assert (out["file"], out["width"], out["height"], out["faces"], out["mode"]) == (str(path), 160, 120, [], "fast")
    assert out["model"].startswith("fer_cnn-")
    assert "No face found" in run_cli("image", str(path)).stdout


@pytest.mark.parametrize("content", [b"", b"hello, I am text", b"\x89PNG\r\n\x1a\n\x00\x00broken"])
def test_unreadable_image_is_one_line_without_traceback(tmp_path, content):
    path = tmp_path / "photo.jpg"
    path.write_bytes(content)
    result = run_cli("image", str(path), "--json")
    assert result.returncode == 2 and result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "photo.jpg" in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_file_and_bad_dataset(tmp_path):
    result = run_cli("image", str(tmp_path / "nope.png"))
    assert result.returncode == 2 and "cannot read" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("evaluate", str(tmp_path / "nope.csv"))
    assert result.returncode == 2 and "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_batch_of_files_folders_and_globs_with_a_csv_row_per_face(samples, tmp_path):
    import csv

    folder = tmp_path / "session"
    folder.mkdir()
    for name in ("faceapi_happy.jpg", "facerec_two_people.jpg"):
        (folder / name).write_bytes((samples / name).read_bytes())
    (folder / "notes.txt").write_text("not an image")  # a folder's other files are not images: skipped
    out_csv = tmp_path / "faces.csv"
    result = run_cli("image", str(folder), str(samples / "faceapi_sur*.jpg"), "--csv", str(out_csv), "--json")
    assert result.returncode == 0, result.stderr
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["file"].rsplit("/", 1)[-1] for d in docs] == ["faceapi_happy.jpg", "facerec_two_people.jpg", "faceapi_surprised.jpg"]
    rows = list(csv.DictReader(out_csv.read_text().splitlines()))
    assert len(rows) == 4 and [r["face"] for r in rows] == ["1", "1", "2", "1"]
    assert set(rows[0]) == {"file", "face", "x", "y", "w", "h", "score", "label", *EMOTIONS, "mode", "model"}
    assert rows[0]["label"] == "happy" and rows[0]["mode"] == "fast" and float(rows[0]["score"]) > 0


def test_a_bad_file_in_a_batch_is_reported_and_the_rest_analysed(samples, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    result = run_cli("image", str(samples / "faceapi_happy.jpg"), str(bad), "--json")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        line for line in result.stderr.splitlines() if "bad.jpg" in line
    ]
    assert len(result.stdout.splitlines()) == 1 and json.loads(result.stdout)["faces"][0]["label"] == "happy"


def test_the_image_table_marks_unsure_labels_and_the_csv_keeps_the_label(samples, tmp_path):
    import csv

    from fer.render import UNSURE_BELOW

    photos = [str(samples / name) for name in ("facerec_two_people.jpg", "faceapi_happy.jpg", "wujie_crying_woman.jpg")]
    docs = [json.loads(line) for line in run_cli("image", *photos, "--json").stdout.splitlines()]
    faces = [face for doc in docs for face in doc["faces"]]
    expected = [f["label"] + ("?" if max(f["probabilities"].values()) < UNSURE_BELOW else "") for f in faces]
    result = run_cli("image", *photos, "--csv", str(tmp_path / "faces.csv"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = lines.index(next(line for line in lines if line.split()[:2] == ["file", "face"]))
    column = lines[header].split().index("label")
    assert [line.split()[column] for line in lines[header + 1 :]] == expected
    assert ("? = unsure" in result.stdout) == any(label.endswith("?") for label in expected)
    assert [r["label"] for r in csv.DictReader((tmp_path / "faces.csv").read_text().splitlines())] == [f["label"] for f in faces]


@pytest.mark.parametrize(
    "target, message",
    [("out.avi", "expected a .mp4, .mov or .mkv file name"), ("missing/out.mp4", "does not exist"), (".", "is a folder")],
)
def test_the_annotated_video_path_is_checked_before_any_work(tmp_path, target, message):
    result = run_cli("video", str(tmp_path / "no-such-video.mp4"), "--annotate", str(tmp_path / target))
    assert result.returncode == 2 and message in result.stderr and "--annotate" in result.stderr
    assert "no-such-video" not in result.stderr  # refused before the video was opened
