"""Many photos at once: reading uploads (photos and .zip files of photos, with limits) and writing the
results (one CSV row per face, a .zip of the labelled images). Pure functions over bytes and arrays: the
photo page and ``python -m fer image`` call them, and nothing here reads a setting or touches a file."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .results import FrameResult

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
MAX_PHOTOS = 100  # photos per batch, from all files and zips together
MAX_BATCH_MB = 200  # their sizes summed (a zip's entries uncompressed), before any is decompressed
MAX_NAME = 100  # characters of a file name kept
# Entries of one zip, folders and other files included. Python's zipfile reads a zip's whole directory
# into objects of several hundred bytes each, so the count is checked on the bytes first: a 200 MB zip
# of empty entries could list millions.
MAX_ZIP_ENTRIES = 10_000


@dataclass(frozen=True)
class Photo:
    name: str  # sanitised, unique in the batch
    data: bytes


def safe_name(name: str) -> str:
    """A file name fit to show and to write into a zip: the last part of a path, letters, digits and
    ``._-()`` and spaces only (others become ``_``), no leading dot, at most ``MAX_NAME`` characters with
    its suffix kept; "photo" when nothing is left."""
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", name))[-1]
    base = re.sub(r"[^\w.\-() ]", "_", base).strip(" .") or "photo"
    if len(base) > MAX_NAME:
        stem, dot, suffix = base.rpartition(".")
        suffix = suffix[:10] if dot else ""
        base = (stem if dot else base)[: MAX_NAME - len(suffix) - 1].rstrip(" .") + (f".{suffix}" if suffix else "")
    return base


def _unique(name: str, taken: set[str]) -> str:
    stem, dot, suffix = name.rpartition(".")
    stem, dot = (stem, ".") if dot else (name, "")
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem}-{n}{dot}{suffix if dot else ''}"
    taken.add(candidate.lower())
    return candidate


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def read_uploads(
    files: Iterable[tuple[str, bytes]],
    max_photo_bytes: int,
    max_photos: int = MAX_PHOTOS,
    max_total_bytes: int = MAX_BATCH_MB * 2**20,
) -> tuple[list[Photo], list[str]]:
    """The photos in uploaded files, each a photo or a .zip of photos, in the order given (a zip's in its
    own order), and one line for each file or zip entry left out and why. Never raises for bad input.
    A zip's entries are checked from its directory (count, each size, the running total, encryption)
    before any is decompressed, and each is read no further than its size limit; entries that are not
    images by their suffix are skipped, and folders and macOS metadata (``__MACOSX/``, ``._*``) silently."""
    photos: list[Photo] = []
    problems: list[str] = []
    taken: set[str] = set()
    total = 0
    for upload_name, data in files:
        shown = safe_name(upload_name)
        if shown.lower().endswith(".zip"):
            if data.count(b"PK\x01\x02") > MAX_ZIP_ENTRIES:  # the directory's entry signature (an upper bound)
                problems.append(f"Cannot use {shown}: it lists more than {MAX_ZIP_ENTRIES} files.")
                continue
            try:
                archive = zipfile.ZipFile(io.BytesIO(data))
                entries = archive.infolist()
            except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
                problems.append(f"Cannot use {shown}: not a readable zip file.")
                continue
            over = 0
            for info in entries:
                inner = info.filename.replace("\\", "/")
                base = inner.rsplit("/", 1)[-1]
                if info.is_dir() or inner.startswith("__MACOSX/") or base.startswith("._") or not base:
                    continue
                where = f"{shown}: {safe_name(inner)}"
                if not base.lower().endswith(IMAGE_SUFFIXES):
                    problems.append(f"Skipped {where}: not a photo (JPEG, PNG, WebP, BMP, GIF or TIFF).")
                    continue
                if len(photos) >= max_photos:
                    over += 1
                    continue
                if info.flag_bits & 0x1:
                    problems.append(f"Skipped {where}: it is encrypted.")
                    continue
                if info.file_size > max_photo_bytes:
                    problems.append(f"Skipped {where}: it is {_mb(info.file_size)}; the limit is {_mb(max_photo_bytes)} a photo.")
                    continue
                if total + info.file_size > max_total_bytes:
                    problems.append(f"Skipped {where}: the photos would pass {_mb(max_total_bytes)} in all.")
                    continue
                try:
                    with archive.open(info) as entry:
                        content = entry.read(max_photo_bytes + 1)
                except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError, OSError, ValueError) as err:
                    problems.append(f"Skipped {where}: it cannot be unpacked ({type(err).__name__}).")
                    continue
                if len(content) > max_photo_bytes:  # its directory understated its size
                    problems.append(f"Skipped {where}: it is over {_mb(max_photo_bytes)}; the limit is {_mb(max_photo_bytes)} a photo.")
                    continue
                total += len(content)
                photos.append(Photo(_unique(safe_name(base), taken), content))
            if over:
                problems.append(f"Skipped {over} more photo(s) in {shown}: at most {max_photos} photos are analysed at once.")
            continue
        if not shown.lower().endswith(IMAGE_SUFFIXES):
            problems.append(f"Skipped {shown}: not a photo or a .zip of photos.")
        elif len(photos) >= max_photos:
            problems.append(f"Skipped {shown}: at most {max_photos} photos are analysed at once.")
        elif len(data) > max_photo_bytes:
            problems.append(f"Cannot use {shown}: it is {_mb(len(data))}; the limit is {max_photo_bytes // 2**20} MB.")
        elif total + len(data) > max_total_bytes:
            problems.append(f"Skipped {shown}: the photos would pass {_mb(max_total_bytes)} in all.")
        else:
            total += len(data)
            photos.append(Photo(_unique(shown, taken), data))
    return photos, problems


def face_rows(file: str, result: FrameResult, t: float | None = None) -> list[dict]:
    """One row per face, as ``python -m fer image --csv`` writes them (before its mode and model columns):
    file, face (1, 2...), x, y, w, h, score (the detector's), label, then the seven probabilities. A video
    frame's rows (``t`` in seconds) also carry t and the face's track (the same number while it is followed)."""
    rows = []
    for i, face in enumerate(result.faces, 1):
        d = face.to_dict()
        x, y, w, h = d["box"]
        where = {"file": file} if t is None else {"file": file, "t": round(t, 3), "track": face.track_id}
        rows.append(where | {"face": i, "x": x, "y": y, "w": w, "h": h, "score": d["score"], "label": d["label"]} | d["probabilities"])
    return rows


def encode_image(image: np.ndarray, fmt: str = "jpeg", quality: int = 90) -> bytes:
    """An RGB array as JPEG (``quality``) or PNG bytes."""
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(out, format=fmt.upper(), **({"quality": quality} if fmt.lower() in ("jpeg", "jpg") else {}))
    return out.getvalue()


def labelled_name(name: str, fmt: str = "jpeg") -> str:
    """``group.png`` -> ``group_labelled.jpg``."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{stem}_labelled.{'jpg' if fmt.lower() in ('jpeg', 'jpg') else fmt.lower()}"


def zip_files(files: Iterable[tuple[str, bytes]]) -> bytes:
    """A .zip of (name, bytes) pairs, names sanitised and made unique. Stored, not compressed: the
    images are compressed already."""
    out = io.BytesIO()
    taken: set[str] = set()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in files:
            archive.writestr(_unique(safe_name(name), taken), data)
    return out.getvalue()

