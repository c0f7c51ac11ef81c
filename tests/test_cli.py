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
    assert result.stdout.splitlines()[-1].split()[5] == "happy"


def test_image_without_faces(tmp_path):
    path = tmp_path / "noise.png"
    path.write_bytes(png_bytes(np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)))
    result = run_cli("image", str(path), "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"width": 160, "height": 120, "faces": []}
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
