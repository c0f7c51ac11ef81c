"""fer.batch: reading photos and .zip files of photos with limits, and writing the results."""

import csv
import io
import zipfile

import numpy as np
import pytest

from fer import batch
from fer.batch import face_rows, labelled_name, read_uploads, safe_name, zip_files
from fer.emotions import EMOTIONS
from fer.results import FaceResult, FrameResult

from .conftest import png_bytes

MB = 2**20
PNG = png_bytes(np.zeros((8, 8, 3), np.uint8))


def _zip(entries: dict[str, bytes], **kwargs) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data, **kwargs)
    return out.getvalue()


def test_names_are_sanitised():
    assert safe_name("../../etc/passwd.jpg") == "passwd.jpg"
    assert safe_name("C:\\Users\\me\\face.png") == "face.png"
    assert safe_name("<img src=x>[a](b) *x*.jpg") == "_img src_x__a_(b) _x_.jpg"
    assert safe_name(".hidden.png") == "hidden.png" and safe_name("...") == "photo" and safe_name("") == "photo"
    assert safe_name("a\x00b\nc.jpg") == "a_b_c.jpg"
    long = safe_name("x" * 300 + ".jpeg")
    assert len(long) == batch.MAX_NAME and long.endswith(".jpeg")


def test_photos_and_a_zip_of_photos_in_order_with_one_line_per_bad_entry():
    archive = _zip({
        "trip/a.png": PNG,
        "trip/sub/../../../evil.png": PNG,
        "notes.txt": b"hello",
        "inner.zip": _zip({"b.png": PNG}),
        "__MACOSX/trip/._a.png": b"junk",
        "trip/": b"",
        "a.png": PNG,  # the same name as trip/a.png
    })
    photos, problems = read_uploads([("first.png", PNG), ("holiday.zip", archive), ("readme.md", b"# hi")], 20 * MB)
    assert [p.name for p in photos] == ["first.png", "a.png", "evil.png", "a-2.png"]
    assert all(p.data == PNG for p in photos)
    assert problems == [
        "Skipped holiday.zip: notes.txt: not a photo (JPEG, PNG, WebP, BMP, GIF or TIFF).",
        "Skipped holiday.zip: inner.zip: not a photo (JPEG, PNG, WebP, BMP, GIF or TIFF).",
        "Skipped readme.md: not a photo or a .zip of photos.",
    ]
    assert all("\n" not in p for p in problems)


def test_limits_on_count_sizes_and_entries(monkeypatch):
    many = _zip({f"{i}.png": PNG for i in range(5)})
    photos, problems = read_uploads([("one.png", PNG), ("many.zip", many)], 20 * MB, max_photos=3)
    assert len(photos) == 3 and problems == ["Skipped 3 more photo(s) in many.zip: at most 3 photos are analysed at once."]

    big = bytes(2 * MB)  # compresses to almost nothing: the size limit is on what it unpacks to
    photos, problems = read_uploads([("bomb.zip", _zip({"huge.png": big, "ok.png": PNG}))], 1 * MB)
    assert [p.name for p in photos] == ["ok.png"]
    assert problems == ["Skipped bomb.zip: huge.png: it is 2.0 MB; the limit is 1.0 MB a photo."]

    photos, problems = read_uploads([("all.zip", _zip({f"{i}.png": bytes(600_000) for i in range(3)}))], 1 * MB, max_total_bytes=1 * MB)
    assert len(photos) == 1 and len(problems) == 2 and all("would pass 1.0 MB in all" in p for p in problems)

    photos, problems = read_uploads([("huge.png", bytes(2 * MB))], 1 * MB)
    assert photos == [] and problems == ["Cannot use huge.png: it is 2.0 MB; the limit is 1 MB."]

    monkeypatch.setattr(batch, "MAX_ZIP_ENTRIES", 4)
    photos, problems = read_uploads([("crowd.zip", many)], 20 * MB)
    assert photos == [] and problems == ["Cannot use crowd.zip: it lists more than 4 files."]


def test_damaged_and_encrypted_zips_are_one_line_each():
    archive = _zip({"a.png": PNG, "b.png": PNG})
    crc_broken = bytearray(archive)
    crc_broken[archive.index(b"a.png") + 5 + 10] ^= 0xFF  # a byte of a.png's compressed data
    locked = bytearray(_zip({"secret.png": PNG, "open.png": PNG}))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # the "encrypted" flag, local and central
        locked[locked.index(signature) + offset] |= 0x1
    uploads = [("cut.zip", archive[: len(archive) // 2]), ("text.zip", b"not a zip"), ("crc.zip", bytes(crc_broken)), ("locked.zip", bytes(locked))]
    photos, problems = read_uploads(uploads, 20 * MB)
    assert [p.name for p in photos] == ["b.png", "open.png"]
    assert problems[:2] == ["Cannot use cut.zip: not a readable zip file.", "Cannot use text.zip: not a readable zip file."]
    assert problems[2].startswith("Skipped crc.zip: a.png: it cannot be unpacked")
    assert problems[3] == "Skipped locked.zip: secret.png: it is encrypted."


def test_face_rows_have_the_cli_csv_columns_and_the_zip_round_trips():
    probs = np.array([0.05, 0.05, 0.05, 0.6, 0.1, 0.05, 0.1])
    result = FrameResult(100, 80, (FaceResult((1, 2, 30, 40), 0.87, probabilities=probs), FaceResult((50, 5, 20, 20), 0.5, probabilities=probs)))
    rows = face_rows("group.jpg", result)
    assert [r["face"] for r in rows] == [1, 2]
    assert list(rows[0]) == ["file", "face", "x", "y", "w", "h", "score", "label", *EMOTIONS]
    assert rows[0] | {} == {"file": "group.jpg", "face": 1, "x": 1, "y": 2, "w": 30, "h": 40, "score": 0.87, "label": "happy"} | {
        e: pytest.approx(p) for e, p in zip(EMOTIONS, probs)
    }
    assert labelled_name("group.png") == "group_labelled.jpg" and labelled_name("x", "png") == "x_labelled.png"
    data = zip_files([("a_labelled.jpg", b"1"), ("a_labelled.jpg", b"2"), ("../b.jpg", b"3")])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["a_labelled.jpg", "a_labelled-2.jpg", "b.jpg"]
        assert [archive.read(n) for n in archive.namelist()] == [b"1", b"2", b"3"]


def test_the_cli_csv_and_face_rows_agree(samples, tmp_path):
    """`fer image --csv` writes face_rows plus mode and model: the page's CSV has the same columns."""
    from .conftest import run_cli

    out = tmp_path / "faces.csv"
    assert run_cli("image", str(samples / "facerec_two_people.jpg"), "--csv", str(out)).returncode == 0
    header = next(csv.reader(out.read_text().splitlines()))
    assert header == ["file", "face", "x", "y", "w", "h", "score", "label", *EMOTIONS, "mode", "model"]
