"""The runtime needs no training stack: the CLI's inference commands and every page of the app run in
an interpreter where ``import tensorflow`` and ``import keras`` fail, as on a server that installed
requirements.txt alone (Heroku, Streamlit Community Cloud, the Dockerfile). They run from a copy of the
files a Heroku slug keeps (the tracked files less ``.slugignore``'s, ``tools/runtime_size.slug_files``),
so a pattern that left out something the app needs fails here.

The blocker is a ``sitecustomize`` module on PYTHONPATH: Python imports it at start-up, and it puts a
finder first on ``sys.meta_path`` that raises ModuleNotFoundError for the training packages and writes
down who asked. An attempt fails the test even when the caller catches the error, so a lazy import
that quietly falls back is caught too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.runtime_size import slug_files, slugignored

from .conftest import ROOT, SAMPLES, faceless_clip, png_bytes

BLOCKED = ("tensorflow", "keras", "tf_keras")

BLOCKER = f'''
import os, sys, traceback

BLOCKED = {BLOCKED!r}


class NoTrainingStack:
    """Makes the training packages unimportable, as if requirements.txt alone were installed."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] not in BLOCKED:
            return None
        with open(os.environ["FER_BLOCKED_LOG"], "a") as log:
            stack = [f for f in traceback.format_stack()[:-1] if "<frozen importlib" not in f]
            log.write(f"--- import {{name}}\\n" + "".join(stack))
        raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: runtime without training stack)", name=name)


sys.meta_path.insert(0, NoTrainingStack())
'''

# Every page app.py lists, run headless; each file uploader gets the photo or the video (by the types it
# accepts), so the classifier analyses a face (a faceless image when ../shared is absent); the teacher
# starts a class and a student joins it. Pages are found by their URL (the default one, /class, /join),
# which join links depend on, not by file name.
PAGES_SCRIPT = '''
import ast
import os
import sys
from pathlib import Path

root, photo, video = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
sys.path.insert(0, str(root))
try:
    import keras  # noqa: F401
except ModuleNotFoundError as err:
    assert "blocked" in str(err), err
else:
    sys.exit("the blocker is not active: keras imported")
open(os.environ["FER_BLOCKED_LOG"], "w").close()  # that attempt was this check's own

import streamlit_webrtc.component
from streamlit.testing.v1 import AppTest

# webrtc_streamer asks the running server for session info, which AppTest has none of (as in test_app).
streamlit_webrtc.component.get_this_session_info = lambda: None
TIMEOUT = 60


def listed_pages():
    """(script, url path, default) of each st.Page(...) call in app.py."""
    pages = []
    for node in ast.walk(ast.parse((root / "app.py").read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page":
            script = node.args[0].value
            kw = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
            pages.append((script, kw.get("url_path") or Path(script).stem, bool(kw.get("default"))))
    return pages


def check(at, what):
    assert not at.exception, f"{what}: {[e.value for e in at.exception]}"
    print("ok", what, flush=True)
    return at


def page(script):
    return AppTest.from_file(str(root / script), default_timeout=TIMEOUT)


def upload_everything(at, what):
    uploaders = list(at.get("file_uploader"))
    for uploader in uploaders:
        if any("mp4" in t for t in uploader.proto.type):
            uploader.set_value((video.name, video.read_bytes(), "video/mp4"))
        else:
            uploader.set_value((photo.name, photo.read_bytes(), "image/png" if photo.suffix == ".png" else "image/jpeg"))
    if uploaders:
        check(at.run(), f"{what} with {len(uploaders)} upload(s)")
        assert not at.error, [e.value for e in at.error]
    return len(uploaders)


pages = listed_pages()
urls = {url: script for script, url, _ in pages}
assert {"class", "join"} <= set(urls) and any(default for *_, default in pages), pages
check(page("app.py").run(), "app.py")
uploads = 0
for script, url, default in pages:
    uploads += upload_everything(check(page(script).run(), script), script)
assert uploads >= 3, f"expected the photo page's uploader and the class page's two, found {uploads}"

teacher = page(urls["class"]).run()
teacher.text_input[0].set_value("Runtime")
teacher.button[0].click()
check(teacher.run(), "class: start a class")
room = teacher.code[0].value.rpartition("room=")[2].split("&")[0]
student = page(urls["join"])
student.query_params["room"] = room
check(student.run(), "join: the consent text")
student.checkbox[0].check()
check(student.run(), "join: after consent")
print("all pages ran", flush=True)
'''


@pytest.fixture(scope="module")
def runtime_env(tmp_path_factory) -> dict:
    """Environment of a subprocess without TensorFlow and Keras (and a throw-away class database)."""
    folder = tmp_path_factory.mktemp("runtime-only")
    (folder / "sitecustomize.py").write_text(BLOCKER)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(folder), env.get("PYTHONPATH", "")) if p)
    env["FER_BLOCKED_LOG"] = str(folder / "blocked.log")
    env["FER_DATABASE_URL"] = f"sqlite:///{folder}/classes.db"
    env.pop("FER_ICE_SERVERS", None)
    env["NO_COLOR"] = "1"  # plain tracebacks in the failure messages
    return env


@pytest.fixture(scope="module")
def slug(tmp_path_factory) -> Path:
    """A copy of the files a Heroku slug keeps (the repository itself when git is not there to list them)."""
    files = slug_files(ROOT)
    if not files:
        return ROOT
    folder = tmp_path_factory.mktemp("slug")
    for path in files:
        target = folder / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return folder


def test_the_slug_leaves_out_training_weights_and_tests_but_keeps_the_models_the_app_runs(slug):
    if slug == ROOT:
        pytest.skip("git cannot list the tracked files here")
    kept = {path.relative_to(slug).as_posix() for path in slug.rglob("*") if path.is_file()}
    assert {"models/fer_cnn.tflite", "models/fer_cnn_adamw.tflite", "models/face_detection_full_range.tflite"} <= kept
    assert {"app.py", "serve.py", "Procfile", "requirements.txt", "tools/peer_fer.py"} <= kept
    assert not [name for name in kept if name.endswith(".keras") or name.startswith(("tests/", "notebooks/", "docs/"))]


def run_blocked(env: dict, *args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python ARGS`` in ``cwd`` (the repository root or the slug), without the training stack; fails the
    test if anything tried to import it (the log's stacks say who)."""
    log = Path(env["FER_BLOCKED_LOG"])
    log.unlink(missing_ok=True)
    result = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    attempts = log.read_text() if log.exists() else ""
    assert not attempts, f"python {' '.join(args)} tried to import the training stack:\n{attempts}"
    return result


@pytest.mark.parametrize("name", ["tensorflow", "keras", "keras.models"])
def test_the_blocker_makes_training_packages_unimportable(runtime_env, name):
    """The test can fail: the subprocess does load the blocker, and an import is both refused and
    recorded (a caught import too)."""
    code = f"try:\n    import {name}\nexcept ModuleNotFoundError as err:\n    print(err)\nelse:\n    print('imported')"
    with pytest.raises(AssertionError) as failure:
        run_blocked(runtime_env, "-c", code)
    assert f"--- import {name.partition('.')[0]}" in str(failure.value)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=runtime_env, capture_output=True, text=True)
    assert "blocked: runtime without training stack" in result.stdout, result.stdout + result.stderr


def test_cli_reads_a_photo_without_tensorflow(runtime_env, samples, slug):
    result = run_blocked(runtime_env, "-m", "fer", "image", str(samples / "faceapi_happy.jpg"), "--json", cwd=slug)
    assert result.returncode == 0, result.stderr
    faces = json.loads(result.stdout)["faces"]
    assert [face["label"] for face in faces] == ["happy"]


def test_cli_reads_a_photo_without_a_face_without_tensorflow(runtime_env, tmp_path, slug):
    path = tmp_path / "gradient.png"
    path.write_bytes(png_bytes(faceless_clip(seconds=0.04)[0]))
    result = run_blocked(runtime_env, "-m", "fer", "image", str(path), cwd=slug)
    assert result.returncode == 0, result.stderr
    assert "No face found" in result.stdout


def test_cli_video_timeline_without_tensorflow(runtime_env, samples, slug):
    video = samples / "facerec_short_hamilton_clip.mp4"
    if not video.is_file():
        pytest.skip(f"{video} is not present")
    result = run_blocked(runtime_env, "-m", "fer", "video", str(video), "--json", cwd=slug)
    assert result.returncode == 0, result.stderr
    timeline = json.loads(result.stdout)["timeline"]
    assert timeline and any(step["faces"] for step in timeline)


def test_every_page_runs_without_tensorflow(runtime_env, tmp_path, slug):
    from .test_video import write_mp4

    photo = SAMPLES / "faceapi_happy.jpg"
    if not photo.is_file():  # no ../shared: a faceless image still goes through detection
        photo = tmp_path / "gradient.png"
        photo.write_bytes(png_bytes(faceless_clip(seconds=0.04)[0]))
    video = write_mp4(tmp_path / "lecture.mp4", faceless_clip(seconds=1.0))
    script = tmp_path / "pages.py"
    script.write_text(PAGES_SCRIPT)
    result = run_blocked(runtime_env, str(script), str(slug), str(photo), str(video), cwd=slug, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all pages ran" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize(
    "name, pattern, left_out",
    [
        ("models/fer_cnn.keras", "/models/*.keras", True),
        ("models/fer_cnn.tflite", "/models/*.keras", False),
        ("tests/conftest.py", "/tests/", True),
        ("fer/tests/x.py", "/tests/", False),  # anchored at the root
        ("fer/tests/x.py", "tests/", True),  # a folder at any depth
        ("tests", "tests/", False),  # a folder pattern does not name a file
        ("fer/cache.pyc", "*.pyc", True),
    ],
)
def test_slugignore_patterns_follow_heroku(name, pattern, left_out):
    assert slugignored(name, [pattern]) is left_out
