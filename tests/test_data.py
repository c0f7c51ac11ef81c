import gzip

import numpy as np
import pytest
from PIL import Image

from fer.data import DatasetWarning, load_dataset, read_fer2013_csv, read_ferplus_votes


def write_fer_csv(path, rows):
    """rows: (emotion, 48x48 uint8 array, usage)."""
    lines = ["emotion,pixels,Usage"] + [f"{e},{' '.join(map(str, a.ravel()))},{u}" for e, a, u in rows]
    text = "\n".join(lines) + "\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_fer2013_csv_plain_and_gzipped(tmp_path, suffix):
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (3, 48, 48), dtype=np.uint8)
    path = write_fer_csv(tmp_path / f"f{suffix}", [(3, faces[0], "Training"), (0, faces[1], "PublicTest"), (6, faces[2], "Training")])
    data = load_dataset(path)
    assert len(data) == 3 and np.array_equal(data.images, faces)
    assert data.labels.tolist() == [3, 0, 6]
    test = data.split("PublicTest")
    assert len(test) == 1 and test.labels.tolist() == [0]
    with pytest.raises(ValueError, match="PrivateTest"):
        data.split("PrivateTest")


def test_not_a_fer_csv(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a FER2013 CSV"):
        read_fer2013_csv(path)


def test_image_folder_with_name_variants(tmp_path):
    for folder, value in [("happiness", 200), ("Sadness", 50), ("fearful", 90), ("not_an_emotion", 0)]:
        (tmp_path / folder).mkdir()
        Image.fromarray(np.full((48, 48), value, np.uint8)).save(tmp_path / folder / "a.png")
    (tmp_path / "happiness" / "notes.txt").write_text("ignored")
    with pytest.warns(DatasetWarning, match="unrecognised folders: not_an_emotion"):  # said, not silently dropped
        data = load_dataset(tmp_path)
    assert sorted(data.labels.tolist()) == [2, 3, 4]  # fear, happy, sad
    assert all(img.shape == (48, 48) for img in data.images)


def test_folder_without_emotions_is_an_error(tmp_path):
    (tmp_path / "cats").mkdir()
    with pytest.raises(ValueError, match="unrecognised folders: cats"):
        load_dataset(tmp_path)


def test_unknown_path_and_type(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_dataset(tmp_path / "missing.csv")
    other = tmp_path / "x.json"
    other.write_text("{}")
    with pytest.raises(ValueError, match="expected"):
        load_dataset(other)


def test_ferplus_votes_map_to_our_order(tmp_path):
    path = tmp_path / "new.csv"
    path.write_text(
        "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
        "Training,a.png,0,8,0,0,2,0,0,0,0,0\n"
        "Training,b.png,0,0,0,0,0,0,0,0,0,10\n"
    )
    votes = read_ferplus_votes(path)
    assert votes.shape == (2, 7)
    assert votes[0].tolist() == pytest.approx([0.2, 0, 0, 0.8, 0, 0, 0])  # angry 2, happy 8
    assert votes[1].sum() == 0  # only "not a face" votes


def test_real_fer2013_file(fer2013_csv):
    data = load_dataset(fer2013_csv)
    assert len(data.split("Training")) == 28709 and len(data.split("PublicTest")) == 3589
    assert np.bincount(data.split("PublicTest").labels).tolist() == [467, 56, 496, 895, 653, 415, 607]
