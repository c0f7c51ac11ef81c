"""Decoding user images with Pillow into the arrays the pipeline takes, with clear errors for bad input."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Decoding cost grows with pixels, not file size: a 20000x20000 PNG can be a few hundred KB.
MAX_PIXELS = 40_000_000

# Bad files get our one-line message, so Pillow's own warnings on the way there would only fill the
# server log: its decompression-bomb warning starts above MAX_PIXELS, where we refuse the file anyway,
# and its TIFF warnings are about damaged tags, which decoding either survives or reports.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.TiffImagePlugin")


class ImageError(ValueError):
    """The input is not an image we can read; the message is meant for the user."""


def load_image(source: str | Path | bytes, mode: str = "RGB", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode a file path or bytes to uint8 RGB (H, W, 3) or, with ``mode="L"``, grey (H, W).

    EXIF orientation is applied, so faces in phone photos come out upright. Grey, palette, RGBA,
    CMYK and 16-bit images are converted; animated images give their first frame.
    """
    name = "the upload" if isinstance(source, bytes) else Path(source).name
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError as err:
        raise ImageError(f"cannot read {name}: {err.strerror or err}") from None
    if not data:
        raise ImageError(f"{name} is empty")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > max_pixels:
                raise ImageError(
                    f"{name} is {img.width}x{img.height} pixels; the limit is {max_pixels / 1e6:.0f} megapixels"
                )
            img.seek(0)
            img = ImageOps.exif_transpose(img)
            return np.asarray(_to_mode(img, mode))
    except ImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as err:
        if isinstance(err, Image.DecompressionBombError):
            raise ImageError(f"{name} has more pixels than the limit of {max_pixels / 1e6:.0f} megapixels") from None
        raise ImageError(f"{name} is not an image we can read (PNG, JPEG, WebP, BMP, GIF, TIFF)") from None
    except (OSError, ValueError, SyntaxError) as err:
        raise ImageError(f"{name} is damaged or truncated and cannot be decoded ({err})") from None


def _to_mode(img: Image.Image, mode: str) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit and float images: scale the used range to 8 bits instead of clipping at 255.
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
        img = Image.fromarray(arr.round().astype(np.uint8), "L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        # Transparent areas become white, as a browser would show them on a light page.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert(mode)
