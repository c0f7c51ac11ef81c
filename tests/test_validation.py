"""Strict validation (issue 18): a wrong label, pixel, count or number in a dataset or an option is one line
on stderr naming the line or the option, exit status 2, no traceback, bounded memory; output paths are
checked before any work starts."""

import gzip
import io
import lzma
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from PIL import Image

from fer.data import DatasetWarning, load_dataset, read_ferplus_votes

from .conftest import ROOT, run_cli

HEADER = "emotion,pixels,Usage"
FACE = " ".join(str(v) for v in np.random.default_rng(0).integers(0, 256, 48 * 48))
FERPLUS_HEADER = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"


def write_lines(path, lines):
    text = "\n".join(lines) + "\n"
    path.write_bytes(gzip.compress(text.encode()) if path.suffix == ".gz" else text.encode())
    return path


def one_error_line(result, *words, alone=True):
    """Exit status 2, no traceback, one "error:" line naming ``words`` (and nothing else on stderr if ``alone``)."""
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr[-2000:]
    if alone:
        assert result.stderr.strip() == errors[0]
    for word in words:
        assert word in errors[0]
    return errors[0]


# FER2013 CSV: line 1 header, line 2 a good row, line 3 blank (still counted), line 4 the bad one.


@pytest.mark.parametrize("label", ["-1", "9", "7", "3.0", "happy", ""])
def test_a_wrong_label_names_its_line(tmp_path, label):
    path = write_lines(tmp_path / "f.csv", [HEADER, f"3,{FACE},PublicTest", "", f"{label},{FACE},PublicTest"])
    line = one_error_line(run_cli("evaluate", str(path)), "f.csv", "line 4", "emotion")
    assert "0..6" in line


@pytest.mark.parametrize(
    "bad, words",
    [("300", ["pixel 17", "300", "0..255"]), ("-1", ["pixel 17", "0..255"]), ("abc", ["pixel 17", "abc"]),
     ("1.5", ["pixel 17", "1.5"]), ("99999999999999999999999", ["pixel 17"])],
)
def test_a_wrong_pixel_names_its_line_and_position(tmp_path, bad, words):
    values = FACE.split()
    values[16] = bad
    path = write_lines(tmp_path / "f.csv.gz", [HEADER, f"3,{FACE},PublicTest", "", f"0,{' '.join(values)},PublicTest"])
    one_error_line(run_cli("evaluate", str(path)), "line 4", *words)


@pytest.mark.parametrize("count", [2303, 2305, 0])
def test_a_wrong_pixel_count_names_its_line(tmp_path, count):
    pixels = " ".join(["7"] * count)
    path = write_lines(tmp_path / "f.csv", [HEADER, f"3,{FACE},PublicTest", "", f"0,{pixels},PublicTest"])
    one_error_line(run_cli("evaluate", str(path)), "line 4", f"{count} pixel values", "2304")


@pytest.mark.parametrize("row", [f"0,{FACE},PublicTest,extra", f"0,{FACE}"])
def test_a_wrong_number_of_fields_names_its_line(tmp_path, row):
    path = write_lines(tmp_path / "f.csv", [HEADER, f"3,{FACE},PublicTest", "", row])
    one_error_line(run_cli("evaluate", str(path)), "line 4", "fields", "expected 3")


def test_a_file_without_rows_is_an_error(tmp_path):
    path = write_lines(tmp_path / "f.csv", [HEADER, ""])
    one_error_line(run_cli("evaluate", str(path)), "f.csv", "no rows")


@pytest.mark.parametrize("content", [b"not gzip at all", gzip.compress(f"{HEADER}\n0,{FACE},Training\n".encode())[:200]])
def test_a_damaged_gzip_is_one_line(tmp_path, content):
    path = tmp_path / "f.csv.gz"
    path.write_bytes(content)
    one_error_line(run_cli("evaluate", str(path)), "f.csv.gz", "cannot read")


def test_text_that_is_not_utf8_names_its_line(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(f"{HEADER}\n3,{FACE},PublicTest\n".encode() + b"0,\xff\xfe,PublicTest\n")
    one_error_line(run_cli("evaluate", str(path)), "line 3", "UTF-8")


def test_one_huge_line_is_refused_with_bounded_memory(tmp_path):
    """A 128 MiB line (no newline) inside a 132 KiB .csv.gz: the reader stops after 16 KiB of it. The old
    reader held the whole line and its 67 million pixel strings: a 967 MiB peak RSS on this line."""
    path = tmp_path / "long.csv.gz"
    chunk = gzip.compress(b"1 " * (1 << 19))  # 1 MiB of pixels without a newline; gzip members concatenate
    with path.open("wb") as out:
        out.write(gzip.compress(f"{HEADER}\n3,{FACE},PublicTest\n0,".encode()))
        for _ in range(128):
            out.write(chunk)
    assert path.stat().st_size < 200_000

    def peak_rss_mib(data):
        """Run ``python -m fer evaluate DATA``; its stderr, exit status and own peak RSS (os.wait4)."""
        with (tmp_path / "err.txt").open("w+") as err:
            proc = subprocess.Popen([sys.executable, "-m", "fer", "evaluate", str(data)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            return subprocess.CompletedProcess(proc.args, proc.returncode, "", err.read()), usage.ru_maxrss / 1024

    # the same command refusing a small file: all it costs but the long line
    baseline, baseline_mib = peak_rss_mib(write_lines(tmp_path / "other.csv", ["a,b", "1,2"]))
    one_error_line(baseline, "not a FER2013 CSV")
    result, peak_mib = peak_rss_mib(path)
    assert peak_mib < baseline_mib + 32, (peak_mib, baseline_mib)
    one_error_line(result, "long.csv.gz", "line 3", "longer than")


def test_valid_csv_variants_still_load(tmp_path):
    """The strict reader still takes a UTF-8 BOM, Windows line endings, blank lines and a file without Usage."""
    path = tmp_path / "f.csv"
    path.write_bytes(f"\ufeff{HEADER}\r\n3,{FACE},PublicTest\r\n\r\n6,{FACE},Training\r\n".encode())
    data = load_dataset(path)
    assert data.labels.tolist() == [3, 6] and data.usage.tolist() == ["PublicTest", "Training"]
    assert data.images.shape == (2, 48, 48) and data.images.dtype == np.uint8
    data = load_dataset(write_lines(tmp_path / "two.csv", ["emotion,pixels", f"5,{FACE}"]))
    assert data.labels.tolist() == [5]


# FER+ votes


def write_votes(path, rows):
    return write_lines(path, [FERPLUS_HEADER, *rows])


@pytest.mark.parametrize(
    "row, words",
    [("Training,b.png,0,nan,0,0,0,0,0,0,0,0", ["happiness", "nan"]), ("Training,b.png,0,0,-2,0,0,0,0,0,0,0", ["surprise", "-2"]),
     ("Training,b.png,0,0,0,0,0,0,0,0,0,inf", ["NF", "inf"]), ("Training,b.png,0,0,0,x,0,0,0,0,0,0", ["sadness"]),
     ("Training,b.png,0,0,0,0,0,0,0", ["fields", "expected 12"])],
)
def test_ferplus_votes_name_the_bad_line(tmp_path, row, words):
    path = write_votes(tmp_path / "new.csv", ["Training,a.png,0,8,0,0,2,0,0,0,0,0", row])
    with pytest.raises(ValueError, match="line 3") as err:
        read_ferplus_votes(path)
    assert all(word in str(err.value) for word in words) and "\n" not in str(err.value)


def test_ferplus_votes_header_and_empty_file(tmp_path):
    with pytest.raises(ValueError, match="not a FER\\+ votes file"):
        read_ferplus_votes(write_lines(tmp_path / "fer.csv", [HEADER, f"0,{FACE},Training"]))
    with pytest.raises(ValueError, match="no rows"):
        read_ferplus_votes(write_votes(tmp_path / "empty.csv", []))


def test_train_with_bad_ferplus_votes_is_one_line(tmp_path):
    data = write_lines(tmp_path / "tiny.csv", [HEADER, f"0,{FACE},Training", f"3,{FACE},PublicTest"])
    votes = write_votes(tmp_path / "new.csv", ["Training,a.png,0,8,0,0,2,0,0,0,0,0", "PublicTest,b.png,0,-1,0,0,0,0,0,0,0,0"])
    result = run_cli("train", "--data", str(data), "--ferplus", str(votes), "--epochs", "1", "--widths", "4", "--convs", "1",
                     "--out", str(tmp_path / "out"), "--checkpoints", str(tmp_path / "ck"))
    one_error_line(result, "new.csv", "line 3", "happiness", alone=False)
    assert not (tmp_path / "out").exists()


# .npz arrays

N = 3


def good_arrays():
    rng = np.random.default_rng(1)
    return {"pixels": rng.integers(0, 256, (N, 48, 48), dtype=np.uint8), "emotion": np.array([0, 3, 6], np.uint8),
            "usage": np.array(["Training", "PublicTest", "Training"])}


def test_valid_npz_plain_and_xz_load(tmp_path):
    arrays = good_arrays()
    np.savez(tmp_path / "d.npz", **arrays, row=np.arange(N))
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    (tmp_path / "d.npz.xz").write_bytes(lzma.compress(buf.getvalue()))
    for name in ("d.npz", "d.npz.xz"):
        data = load_dataset(tmp_path / name)
        assert np.array_equal(data.images, arrays["pixels"]) and data.labels.tolist() == [0, 3, 6]
        assert data.usage.tolist() == ["Training", "PublicTest", "Training"]


def _bad(**changes):
    arrays = good_arrays() | changes
    return {k: v for k, v in arrays.items() if v is not None}


@pytest.mark.parametrize(
    "arrays, words",
    [(_bad(usage=None), ["no array usage"]),
     (_bad(pixels=np.zeros((N, 48, 47), np.uint8)), ["pixels", "(3, 48, 47)", "(N, 48, 48)"]),
     (_bad(pixels=np.zeros((N, 48, 48), np.float32)), ["pixels", "float32"]),
     (_bad(emotion=np.array([0, 3])), ["emotion", "(2,)", "same N"]),
     (_bad(emotion=np.array([0, 9, 6])), ["emotion[1] is 9", "0..6"]),
     (_bad(emotion=np.array([0, -1, 6])), ["emotion[1] is -1"]),
     (_bad(pixels=np.full((N, 48, 48), 300, np.int16)), ["pixels[0, 0, 0] is 300", "0..255"]),
     (_bad(usage=np.array([1, 2, 3])), ["usage", "strings"])],
)
def test_a_wrong_npz_is_one_line(tmp_path, arrays, words):
    np.savez(tmp_path / "d.npz", **arrays)
    one_error_line(run_cli("evaluate", str(tmp_path / "d.npz")), "d.npz", *words)


def test_an_npz_that_is_not_one_or_declares_too_much(tmp_path):
    np.save(tmp_path / "lone.npy", np.zeros((N, 48, 48), np.uint8))
    (tmp_path / "lone.npy").rename(tmp_path / "lone.npz")
    one_error_line(run_cli("evaluate", str(tmp_path / "lone.npz")), "lone.npz", "not an .npz archive")
    (tmp_path / "junk.npz.xz").write_bytes(b"not xz")
    one_error_line(run_cli("evaluate", str(tmp_path / "junk.npz.xz")), "junk.npz.xz", "cannot read")
    # array headers that claim 1.1 GB of faces, with no data behind them: refused before any allocation
    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as archive:
        for key, descr, shape in (("pixels", "|u1", (500_000, 48, 48)), ("emotion", "|u1", (500_000,)), ("usage", "<U10", (500_000,))):
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False, "shape": shape})
            archive.writestr(f"{key}.npy", header.getvalue())
    one_error_line(run_cli("evaluate", str(tmp_path / "huge.npz")), "huge.npz", "limit")


# image folders


def test_unknown_emotion_folders_are_named(tmp_path):
    for folder in ("happy", "contempt", "7"):
        (tmp_path / folder).mkdir()
        Image.fromarray(np.full((48, 48), 90, np.uint8)).save(tmp_path / folder / "a.png")
    with pytest.warns(DatasetWarning, match="unrecognised folders: 7, contempt"):
        data = load_dataset(tmp_path)
    assert data.labels.tolist() == [3]
    only_unknown = tmp_path / "only"
    (only_unknown / "contempt").mkdir(parents=True)
    one_error_line(run_cli("evaluate", str(only_unknown)), "unrecognised folders: contempt")


def test_a_damaged_image_names_its_folder(tmp_path):
    (tmp_path / "sad").mkdir()
    (tmp_path / "sad" / "wall.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00broken")
    one_error_line(run_cli("evaluate", str(tmp_path)), "sad/wall.png")


# options


@pytest.mark.parametrize(
    "args, option",
    [(["video", "missing.mp4", "--bucket", value], "--bucket") for value in ("nan", "inf", "0", "-1", "-inf", "soon")]
    + [(["video", "missing.mp4", "--sample-fps", value], "--sample-fps") for value in ("nan", "1e400", "0", "-2")]
    + [(["bench", "--repeat", "0"], "--repeat"), (["bench", "--repeat", "2.5"], "--repeat")]
    + [(["train", "--data", "none.csv", flag, *values], flag) for flag, *values in (
        ("--epochs", "0"), ("--batch-size", "-4"), ("--learning-rate", "nan"), ("--learning-rate", "0"), ("--dropout", "1"),
        ("--label-smoothing", "1.5"), ("--momentum", "inf"), ("--ferplus-weight", "-0.1"), ("--widths", "4", "0"),
        ("--convs", "1", "nan"), ("--seed", "-1"), ("--limit", "-5"), ("--stop-after", "1.5"), ("--weight-decay", "nan"))],
)
def test_a_wrong_number_names_its_option(args, option):
    one_error_line(run_cli(*args), f"argument {option}")


def test_valid_numbers_still_parse():
    from fer.cli import build_parser

    args = build_parser().parse_args(["video", "v.mp4", "--bucket", "0.5", "--sample-fps", "1e1"])
    assert (args.bucket, args.sample_fps) == (0.5, 10.0)
    args = build_parser().parse_args(["train", "--data", "d.csv", "--limit", "0", "--stop-after", "0", "--erasing", "0",
                                      "--export-above", "0.68", "--widths", "8", "16", "--seed", "0"])
    assert (args.limit, args.stop_after, args.erasing, args.export_above, args.widths, args.seed) == (0, 0, 0.0, 0.68, [8, 16], 0)
    assert build_parser().parse_args(["train", "--data", "d.csv"]).epochs == 12  # defaults untouched


# output paths: checked before the input is even opened


def test_output_paths_are_checked_before_any_work(tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    video = str(tmp_path / "missing.mp4")  # were the input read first, the error would be about it
    for csv, words in ((tmp_path / "nope" / "t.csv", ["does not exist"]), (tmp_path, ["is a folder"]),
                       (a_file / "t.csv", ["is a file, not a folder"])):
        line = one_error_line(run_cli("video", video, "--csv", str(csv)), "argument --csv", *words)
        assert "missing.mp4" not in line
    one_error_line(run_cli("export", str(tmp_path / "missing.keras"), "--out", str(a_file / "models")), "argument --out", "notes.txt")
    for flag in ("--out", "--checkpoints"):
        line = one_error_line(run_cli("train", "--data", str(tmp_path / "none.csv"), flag, str(a_file)), f"argument {flag}")
        assert "none.csv" not in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_read_only_folder_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    one_error_line(run_cli("video", str(tmp_path / "missing.mp4"), "--csv", str(locked / "t.csv")), "argument --csv", "permission")
