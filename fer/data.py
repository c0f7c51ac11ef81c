"""Readers for the datasets we train and evaluate on.

Every reader returns a :class:`Dataset`: uint8 grey faces (N, 48, 48) or, for folders of larger photos,
whole images that the caller still has to pass through face detection.
"""

from __future__ import annotations

import gzip
import io
import lzma
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


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    if path.suffix == ".xz":
        return lzma.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_fer2013_csv(path: str | Path) -> Dataset:
    """Read the original FER2013 CSV (``emotion,pixels,Usage``), plain or gzipped."""
    path = Path(path)
    labels: list[int] = []
    usage: list[str] = []
    pixels: list[np.ndarray] = []  # parsed row by row: ~200 MB peak for the whole file (joining all rows first took 5.7 GB)
    with _open_text(path) as f:
        header = f.readline().strip().split(",")
        if header[:2] != ["emotion", "pixels"]:
            raise ValueError(f"{path} is not a FER2013 CSV (expected header emotion,pixels,Usage)")
        for line in f:
            if not line.strip():
                continue
            emotion, pix, *rest = line.rstrip("\n").split(",")
            values = np.array(pix.split(), dtype=np.uint8)
            if values.size != 48 * 48:
                raise ValueError(f"{path}: row {len(labels) + 2} has {values.size} pixels, expected 2304")
            labels.append(int(emotion))
            pixels.append(values)
            usage.append(rest[0] if rest else "")
    images = np.stack(pixels).reshape(-1, 48, 48) if pixels else np.zeros((0, 48, 48), np.uint8)
    return Dataset(images, np.array(labels, dtype=np.int64), np.array(usage))


def read_ferplus_votes(path: str | Path) -> np.ndarray:
    """FER+ relabelling votes mapped onto our seven classes: float32 (N, 7), rows summing to 1.

    FER+ adds 'contempt', 'unknown' and 'not a face'; those votes are dropped. Rows with no vote
    for any of our classes come back as all zeros so the caller can decide what to do with them.
    """
    # FER+ column order: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF
    ferplus_to_ours = [6, 3, 5, 4, 0, 1, 2]
    votes = np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(2, 9), dtype=np.float32)
    ours = np.zeros((len(votes), len(EMOTIONS)), np.float32)
    ours[:, ferplus_to_ours] = votes
    total = ours.sum(axis=1, keepdims=True)
    return np.divide(ours, total, out=np.zeros_like(ours), where=total > 0)


def read_npz(path: str | Path) -> Dataset:
    """The same rows as arrays (``pixels``, ``emotion``, ``usage``), optionally xz-compressed."""
    path = Path(path)
    raw = lzma.open(path).read() if path.suffix == ".xz" else path.read_bytes()
    arrays = np.load(io.BytesIO(raw))
    return Dataset(arrays["pixels"], arrays["emotion"].astype(np.int64), arrays["usage"].astype(str))


def read_image_folder(path: str | Path) -> Dataset:
    """A folder ``<root>/<emotion>/*.png|jpg``; emotion folders may use common variants (anger, sadness...)."""
    from .imageio import load_image  # local import: Pillow is only needed for this reader

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
                images.append(load_image(file, mode="L"))
                labels.append(EMOTIONS.index(name))
    if not labels:
        hint = f" (unrecognised folders: {', '.join(unknown)})" if unknown else ""
        raise ValueError(f"no labelled images under {root}: expected {root}/<emotion>/*.png{hint}")
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
