"""Hostile and odd input through the library, the command line and the upload page: every case gets
a one-line message or a correct result, never a traceback, a hang or a crash."""

import pytest
from streamlit.testing.v1 import AppTest

from fer.imageio import ImageError, load_image
from fer.pipeline import analyze

from .conftest import ROOT, run_cli
from .corpus import image_cases, write

CASES = image_cases()


@pytest.mark.parametrize("name", list(CASES))
def test_library(name):
    data, _, expect = CASES[name]
    if expect == "error":
        with pytest.raises(ImageError) as err:
            load_image(data)
        assert "\n" not in str(err.value) and len(str(err.value)) < 200
        return
    result = analyze(load_image(data))
    if isinstance(expect, int):
        assert len(result.faces) == expect, name


def test_command_line(tmp_path):
    for name, path in write(tmp_path, CASES).items():
        expect = CASES[name][2]
        out = run_cli("image", str(path), "--json")
        assert "Traceback" not in out.stderr, (name, out.stderr)
        if expect == "error":
            assert out.returncode == 2 and out.stderr.startswith("error: ") and out.stderr.count("\n") == 1, name
        else:
            assert out.returncode == 0, (name, out.stderr)


def _upload(filename: str, data: bytes) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "upload.py"), default_timeout=60).run()
    at.file_uploader[0].set_value((filename, data, "application/octet-stream"))
    return at.run()


@pytest.mark.parametrize("name", list(CASES))
def test_upload_page(name):
    data, filename, expect = CASES[name]
    if filename.endswith((".svg", ".pdf", ".html")):
        filename += ".jpg"  # the browser's picker offers image types only: renamed, they must still fail cleanly
    at = _upload(filename, data)
    assert not at.exception, name
    if expect == "error":
        assert at.error and at.error[0].value.startswith(f"Cannot use {filename}"), name
    elif isinstance(expect, int) and expect > 0:
        assert at.metric[0].value == str(expect)
    else:
        assert not at.error
