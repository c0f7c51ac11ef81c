"""Readers for the datasets we train and evaluate on.

Every reader returns a :class:`Dataset`: uint8 grey faces (N, 48, 48) or, for folders of larger photos,
whole images that the caller still has to pass through face detection.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import lzma
import math
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .emotions import EMOTIONS, canonical

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


@dataclass
class Dataset:
    """Labelled faces: ``images[i]`` is uint8 grey, ``labels[i]`` an index into EMOTIONS."""

    images: list[np.ndarray] | np.ndarray
    labels: np.ndarray
    usage: np.ndarray | None = None  # FER2013 "Usage" per row (Training, PublicTest, PrivateTest)

    def __len__(self) -> int:
        return len(self.labels)

    def split(self, name: str) -> "Dataset":
        if self.usage is None:
            raise ValueError("this dataset has no splits")
        keep = self.usage == name
        if not keep.any():
            found = ", ".join(sorted(set(self.usage.tolist())))
            raise ValueError(f"no rows with Usage={name!r} (this file has: {found})")
        return Dataset(np.asarray(self.images)[keep], self.labels[keep], self.usage[keep])


# A FER2013 row is at most "6," + 2304 space-separated "255" + ",PrivateTest" (9,229 bytes): a longer line is
# refused after reading this much of it, so one huge line in a small .csv.gz cannot fill the memory.
MAX_LINE = 16 * 1024
# Most bytes an .npz may hold or declare (fer2013.npz.xz decompresses to 76 MB); checked before anything is allocated.
MAX_NPZ_BYTES = 1 << 30
PIXELS = 48 * 48


class DatasetWarning(UserWarning):
    """Something in a dataset was skipped; the message says what."""


def _open_binary(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    if path.suffix == ".xz":
        return lzma.open(path, "rb")
    return open(path, "rb")


@contextlib.contextmanager
def _reading(path: Path, what: str):
    """Damaged compressed data or an unreadable file: a ValueError naming the file, not a traceback."""
    try:
        yield
    except (OSError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise ValueError(f"{path}: cannot read it as {what} ({err})") from None


def _lines(path: Path, f):
    """(line number from 1, text without the line ending) for each line of the binary stream ``f``.

    Each line is read with a bounded ``readline``: a line longer than MAX_LINE is an error that names it,
    and the rest of it is never read.
    """
    number = 0
    while True:
        raw = f.readline(MAX_LINE + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            raise ValueError(f"{path}: line {number} is longer than {MAX_LINE // 1024} KiB; is this the right file?")
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{path}: line {number} is not UTF-8 text") from None
        yield number, text.rstrip("\r\n")


def _header(lines) -> list[str]:
    _, text = next(lines, (1, ""))
    return [name.strip() for name in text.split(",")]


def read_fer2013_csv(path: str | Path) -> Dataset:
    """Read the original FER2013 CSV (``emotion,pixels,Usage``), plain, gzipped or xz-compressed.

    Strict: a label outside 0..6, a pixel outside 0..255, a pixel count other than 2304, a wrong number of
    fields or an overlong line is a ValueError naming the line (1-based, the header is line 1).
    """
    path = Path(path)
    labels: list[int] = []
    usage: list[str] = []
    pixels: list[np.ndarray] = []  # parsed row by row: ~200 MB peak for the whole file (joining all rows first took 5.7 GB)
    with _reading(path, "a FER2013 CSV"), _open_binary(path) as f:
        lines = _lines(path, f)
        header = _header(lines)
        if header[:2] != ["emotion", "pixels"]:
            raise ValueError(f"{path} is not a FER2013 CSV (expected header emotion,pixels,Usage)")
        for number, text in lines:
            if not text.strip():
                continue
            fields = text.split(",")
            if len(fields) != len(header):
                raise ValueError(
                    f"{path}: line {number} has {len(fields)} fields, expected {len(header)} ({','.join(header)})"
                )
            labels.append(_label(path, number, fields[0]))
            pixels.append(_pixels(path, number, fields[1]))
            usage.append(fields[2] if len(fields) > 2 else "")
    if not labels:
        raise ValueError(f"{path} has no rows after its header")
    images = np.stack(pixels).reshape(-1, 48, 48)
    return Dataset(images, np.array(labels, dtype=np.int64), np.array(usage))


def _label(path: Path, number: int, text: str) -> int:
    try:
        label = int(text)
    except ValueError:
        label = -1
    if not 0 <= label < len(EMOTIONS):
        raise ValueError(
            f"{path}: line {number}: emotion {text.strip()[:20]!r} is not a label 0..{len(EMOTIONS) - 1} "
            f"({', '.join(f'{i}={e}' for i, e in enumerate(EMOTIONS))})"
        )
    return label


def _pixels(path: Path, number: int, text: str) -> np.ndarray:
    tokens = text.split()
    if len(tokens) != PIXELS:
        raise ValueError(f"{path}: line {number} has {len(tokens)} pixel values, expected {PIXELS} (48x48)")
    try:
        values = np.array(tokens, dtype=np.int32)
    except (ValueError, OverflowError):
        bad = next((i for i, t in enumerate(tokens) if not _is_pixel(t)), 0)
        raise ValueError(f"{path}: line {number}: pixel {bad + 1} is {tokens[bad][:20]!r}, expected 0..255") from None
    outside = (values < 0) | (values > 255)
    if outside.any():
        bad = int(outside.argmax())
        raise ValueError(f"{path}: line {number}: pixel {bad + 1} is {values[bad]}, expected 0..255")
    return values.astype(np.uint8)


def _is_pixel(text: str) -> bool:
    try:
        return 0 <= int(text) <= 255
    except ValueError:
        return False


# FER+ column order: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF
FERPLUS_VOTES = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF")
FERPLUS_HEADER = ("Usage", "Image name", *FERPLUS_VOTES)


def read_ferplus_votes(path: str | Path) -> np.ndarray:
    """FER+ relabelling votes mapped onto our seven classes: float32 (N, 7), rows summing to 1.

    FER+ adds 'contempt', 'unknown' and 'not a face'; those votes are dropped. Rows with no vote
    for any of our classes come back as all zeros so the caller can decide what to do with them.
    Strict: every vote must be a finite number >= 0 and every row must have the header's 12 fields; a
    ValueError names the line otherwise.
    """
    ferplus_to_ours = [6, 3, 5, 4, 0, 1, 2]
    path = Path(path)
    rows: list[list[float]] = []
    with _reading(path, "a FER+ votes CSV"), _open_binary(path) as f:
        lines = _lines(path, f)
        header = _header(lines)
        if [h.lower() for h in header[2:]] != [h.lower() for h in FERPLUS_VOTES]:
            raise ValueError(f"{path} is not a FER+ votes file (expected header {','.join(FERPLUS_HEADER)})")
        for number, text in lines:
            if not text.strip():
                continue
            fields = text.split(",")
            if len(fields) != len(header):
                raise ValueError(f"{path}: line {number} has {len(fields)} fields, expected {len(header)} ({','.join(header)})")
            votes = []
            for name, value in zip(FERPLUS_VOTES, fields[2:]):
                try:
                    vote = float(value)
                except ValueError:
                    vote = -1.0
                if not (math.isfinite(vote) and vote >= 0):
                    raise ValueError(f"{path}: line {number}: {name} vote {value.strip()[:20]!r} is not a number >= 0")
                votes.append(vote)
            rows.append(votes[:7])
    if not rows:
        raise ValueError(f"{path} has no rows after its header")
    votes = np.array(rows, dtype=np.float32)
    ours = np.zeros((len(votes), len(EMOTIONS)), np.float32)
    ours[:, ferplus_to_ours] = votes
    total = ours.sum(axis=1, keepdims=True)
    return np.divide(ours, total, out=np.zeros_like(ours), where=total > 0)


def read_npz(path: str | Path) -> Dataset:
    """The same rows as arrays (``pixels``, ``emotion``, ``usage``), optionally xz-compressed.

    Strict: ``pixels`` must be integers 0..255 shaped (N, 48, 48), ``emotion`` integers 0..6 shaped (N,),
    ``usage`` strings shaped (N,); shapes and sizes are checked from the array headers before any array
    is read, and the whole file may hold at most MAX_NPZ_BYTES.
    """
    path = Path(path)
    limit = f"{MAX_NPZ_BYTES >> 20} MiB"
    with _reading(path, "an .npz"):
        if path.suffix == ".xz":
            with lzma.open(path) as f:
                raw = f.read(MAX_NPZ_BYTES + 1)
            if len(raw) > MAX_NPZ_BYTES:
                raise ValueError(f"{path} decompresses to more than {limit}, the limit for an .npz dataset")
            source, magic = io.BytesIO(raw), raw[:4]
        else:
            with open(path, "rb") as f:
                source, magic = path, f.read(4)
        if magic not in (b"PK\x03\x04", b"PK\x05\x06"):  # a zip archive; np.load would read a lone .npy whole
            raise ValueError(f"{path} is not an .npz archive (expected arrays pixels, emotion, usage)")
        with np.load(source) as arrays:
            missing = [k for k in ("pixels", "emotion", "usage") if k not in arrays.files]
            if missing:
                raise ValueError(f"{path} has no array {', '.join(missing)} (it has: {', '.join(arrays.files) or 'none'})")
            shapes = {k: _npy_header(path, arrays, k) for k in ("pixels", "emotion", "usage")}
            n = shapes["pixels"][0][0] if len(shapes["pixels"][0]) == 3 else -1
            expected = {"pixels": ((n, 48, 48), "iu"), "emotion": ((n,), "iu"), "usage": ((n,), "US")}
            for key, (shape, kinds) in expected.items():
                got, dtype = shapes[key]
                if got != shape or dtype.kind not in kinds:
                    want = "(N, 48, 48) integers" if key == "pixels" else "(N,) integers" if key == "emotion" else "(N,) strings"
                    raise ValueError(f"{path}: {key} is {got} {dtype}, expected {want} with the same N")
            declared = sum(math.prod(s) * d.itemsize for s, d in shapes.values())
            if declared > MAX_NPZ_BYTES:
                raise ValueError(f"{path} declares {declared >> 20} MiB of arrays; the limit is {limit}")
            try:
                pixels, emotion, usage = arrays["pixels"], arrays["emotion"], arrays["usage"]
            except ValueError as err:
                raise ValueError(f"{path} is damaged ({err})") from None
    for key, values, high in (("pixels", pixels, 255), ("emotion", emotion, len(EMOTIONS) - 1)):
        if values.size and (values.min() < 0 or values.max() > high):  # min/max: no temporary arrays
            outside = (values < 0) | (values > high)
            index = np.unravel_index(int(outside.argmax()), values.shape)
            where = f"{key}[{', '.join(map(str, index))}]"
            raise ValueError(f"{path}: {where} is {values[index]}, expected 0..{high}")
    if not len(emotion):
        raise ValueError(f"{path} has no rows")
    return Dataset(pixels.astype(np.uint8, copy=False), emotion.astype(np.int64), usage.astype(str))


def _npy_header(path: Path, arrays, key: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of one array of an .npz, read from its header without loading the array."""
    from numpy.lib import format as npy

    name = f"{key}.npy" if f"{key}.npy" in arrays.zip.namelist() else key
    with arrays.zip.open(name) as member:
        try:
            version = npy.read_magic(member)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f"format version {version}, which this reader does not take")
            read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            shape, _, dtype = read_header(member)
        except ValueError as err:
            raise ValueError(f"{path}: {key} is not a readable .npy array ({str(err).splitlines()[0]})") from None
    if dtype.hasobject:
        raise ValueError(f"{path}: {key} holds Python objects, which this reader does not load")
    return shape, dtype


def read_image_folder(path: str | Path) -> Dataset:
    """A folder ``<root>/<emotion>/*.png|jpg``; emotion folders may use common variants (anger, sadness...).

    Folders that are not emotion names are skipped with a DatasetWarning naming them (an error naming
    them if no folder is an emotion); an image that cannot be decoded is an error naming its folder.
    """
    from .imageio import ImageError, load_image  # local import: Pillow is only needed for this reader

    root = Path(path)
    images: list[np.ndarray] = []
    labels: list[int] = []
    unknown = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        name = canonical(sub.name)
        if name is None:
            unknown.append(sub.name)
            continue
        for file in sorted(sub.iterdir()):
            if file.suffix.lower() in IMAGE_SUFFIXES:
                try:
                    images.append(load_image(file, mode="L"))
                except ImageError as err:
                    raise ValueError(f"{file}: {err}") from None
                labels.append(EMOTIONS.index(name))
    hint = f"unrecognised folders: {', '.join(unknown)}; emotion folders are named {', '.join(EMOTIONS)} or 0..6"
    if not labels:
        raise ValueError(f"no labelled images under {root}: expected {root}/<emotion>/*.png" + (f" ({hint})" if unknown else ""))
    if unknown:
        warnings.warn(f"{root}: skipped folders that are not emotions ({hint})", DatasetWarning, stacklevel=3)
    return Dataset(images, np.array(labels, dtype=np.int64))


def load_dataset(path: str | Path) -> Dataset:
    """Pick the reader from what ``path`` is: a CSV (.csv/.csv.gz), an .npz(.xz), or an image folder."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.is_dir():
        return read_image_folder(path)
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz", ".csv.xz")):
        return read_fer2013_csv(path)
    if name.endswith((".npz", ".npz.xz")):
        return read_npz(path)
    raise ValueError(f"{path}: expected a FER2013 .csv/.csv.gz file, an .npz, or a folder <emotion>/*.png")
