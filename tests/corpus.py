"""A fixed corpus of hostile and odd inputs, generated at test time (nothing binary is committed).

Each case: name -> (bytes, file name, what must happen): "error" (a one-line message), "ok" (a result),
or an int (a result with exactly that many faces).
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from .conftest import SAMPLES


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def png(width: int, height: int, rows: int | None = None) -> bytes:
    """A grey PNG that declares width x height and holds ``rows`` zero rows (all of them by default)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" * (width + 1)  # filter byte + pixels
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(height if rows is None else rows)) + z.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def png_bomb(side: int = 20000) -> bytes:
    """A valid PNG of side x side grey pixels, all zero: a few hundred KB that would decode to 400 MB."""
    return png(side, side)


def face_photo() -> Image.Image | None:
    path = SAMPLES / "faceapi_happy.jpg"
    return Image.open(path).convert("RGB") if path.is_file() else None


def image_cases() -> dict[str, tuple[bytes, str, object]]:
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8))
    jpeg = _save(noise, "JPEG")
    frames = [Image.fromarray(np.full((40, 40, 3), v, np.uint8)) for v in (0, 128, 255)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], loop=0)
    cases = {
        "empty": (b"", "empty.jpg", "error"),
        "truncated jpeg": (jpeg[: len(jpeg) // 3], "cut.jpg", "error"),
        "text renamed .jpg": (b"Dear class, the exam is on Monday.\n" * 20, "notes.jpg", "error"),
        "svg": (b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><circle r="40"/></svg>', "a.svg", "error"),
        "pdf": (b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n", "a.pdf", "error"),
        "html": (b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>", "a.html", "error"),
        "decompression bomb 20000x20000 png": (png_bomb(), "bomb.png", "error"),
        "16-bit png": (_save(Image.fromarray((np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)), "PNG"), "deep.png", "ok"),
        "palette png": (_save(noise.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"), "palette.png", "ok"),
        "cmyk jpeg": (_save(noise.convert("CMYK"), "JPEG"), "cmyk.jpg", "ok"),
        "animated gif": (gif.getvalue(), "anim.gif", "ok"),
        "1x1 png": (_save(Image.new("RGB", (1, 1)), "PNG"), "dot.png", 0),
        "rgba png": (_save(noise.convert("RGBA"), "PNG"), "rgba.png", "ok"),
        "huge photo over the pixel limit": (_save(Image.new("RGB", (8000, 6000)), "JPEG", quality=10), "huge.jpg", "error"),
    }
    face = face_photo()
    if face is not None:
        # Stored lying on its side, with the EXIF tag that tells viewers to turn it upright.
        exif = Image.Exif()
        exif[0x0112] = 6  # rotate 90 degrees clockwise to display
        cases["exif-rotated phone photo"] = (_save(face.transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif), "phone.jpg", 1)
    return cases


def video_cases(valid_mp4: bytes | None = None) -> dict[str, tuple[bytes, str, object]]:
    cases = {
        "empty video": (b"", "empty.mp4", "error"),
        "text renamed .mp4": (b"not a video at all\n" * 50, "notes.mp4", "error"),
        "random bytes .webm": (np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes(), "noise.webm", "error"),
    }
    if valid_mp4:
        cases["truncated mp4"] = (valid_mp4[: len(valid_mp4) // 10], "cut.mp4", "error")
    return cases


def write(directory: Path, cases: dict) -> dict[str, Path]:
    paths = {}
    for i, (name, (data, filename, _)) in enumerate(cases.items()):
        path = directory / f"{i:02d}_{filename}"
        path.write_bytes(data)
        paths[name] = path
    return paths
