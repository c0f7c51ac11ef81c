import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from fer.imageio import ImageError, load_image

from .conftest import ROOT, png_bytes


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_rgb_png_and_jpeg_decode(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    assert np.array_equal(load_image(png_bytes(arr)), arr)
    path = tmp_path / "x.jpg"
    path.write_bytes(_save(Image.fromarray(arr), "JPEG"))
    out = load_image(path)
    assert out.shape == (30, 40, 3) and out.dtype == np.uint8
    assert load_image(path, mode="L").shape == (30, 40)


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (40, 20), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed rotated by 90 degrees
    out = load_image(_save(img, "JPEG", exif=exif))
    assert out.shape[:2] == (40, 20)


def test_sixteen_bit_png_uses_its_full_range():
    ramp = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)  # 0..65520
    out = load_image(_save(Image.fromarray(ramp), "PNG"), mode="L")
    assert out.dtype == np.uint8 and out.min() == 0 and out.max() == 255


def test_palette_rgba_cmyk_and_animated_gif():
    rgba = Image.new("RGBA", (10, 10), (255, 0, 0, 0))  # fully transparent: shown on white
    assert load_image(_save(rgba, "PNG"))[0, 0].tolist() == [255, 255, 255]
    pal = Image.new("P", (10, 10), 3)
    assert load_image(_save(pal, "PNG")).shape == (10, 10, 3)
    cmyk = Image.new("CMYK", (10, 10), (0, 0, 0, 0))
    assert load_image(_save(cmyk, "JPEG")).mean() > 240
    frames = [Image.new("L", (8, 8), v) for v in (10, 200)]
    gif = _save(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert load_image(gif, mode="L").mean() < 50  # the first frame


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"just some text, renamed to .jpg", "not an image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "not an image"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "not an image"),
    ],
)
def test_non_images_get_a_clear_message(data, message):
    with pytest.raises(ImageError, match=message):
        load_image(data)


def test_truncated_file_is_reported():
    full = _save(Image.fromarray(np.random.default_rng(1).integers(0, 256, (200, 200, 3), dtype=np.uint8)), "JPEG")
    with pytest.raises(ImageError, match="damaged or truncated"):
        load_image(full[: len(full) // 3])


def test_decompression_bomb_is_refused_before_decoding():
    bomb = _save(Image.new("L", (20000, 20000)), "PNG")
    assert len(bomb) < 1_000_000  # tiny file, 400 megapixels
    with pytest.raises(ImageError, match="megapixels"):
        load_image(bomb)


def test_bad_files_leave_no_pillow_warnings_in_the_log():
    """Pillow warns on the way to some refusals (a 121-megapixel header, a cut TIFF); the user gets our
    message and the server log stays clean. A fresh interpreter, since pytest resets warning filters
    that a module sets while tests are collected."""
    code = (
        "import io\n"
        "from PIL import Image\n"
        "from fer.imageio import ImageError, load_image\n"
        "from tests.corpus import png\n"
        "tiff = io.BytesIO()\n"
        "Image.new('RGB', (30, 20)).save(tiff, 'TIFF', exif=Image.Exif())\n"
        "for data in (png(11_000, 11_000, rows=1), tiff.getvalue()[:133]):\n"
        "    try:\n"
        "        load_image(data)\n"
        "    except ImageError as err:\n"
        "        print(err)\n"
    )
    result = subprocess.run([sys.executable, "-W", "default", "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "the upload is 11000x11000 pixels; the limit is 40 megapixels",
        "the upload is not an image we can read (PNG, JPEG, WebP, BMP, GIF, TIFF)",
    ]
    assert result.stderr == ""


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="cannot read"):
        load_image(tmp_path / "nope.png")
