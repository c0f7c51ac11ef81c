"""Several app servers behind one address, sharing one PostgreSQL: a teacher on one server, a student on
another, one class. WebRTC and Streamlit sessions live in one process, so a load balancer needs sticky
sessions; the class itself lives in the database, where any server reads and writes it.

Needs Chromium and a PostgreSQL server (FER_TEST_DATABASE_URL, which .ci/run sets); skips without
them outside CI, fails in CI.
"""

import os

import pytest

from .conftest import face_clip
from .test_browser import _browser, _metric, _student_streams, _wait, playwright, start_class, start_server, stop_server, write_y4m

PG_URL = os.environ.get("FER_TEST_DATABASE_URL")
if not PG_URL:
    if os.environ.get("CI"):
        pytest.fail("FER_TEST_DATABASE_URL is not set in CI", pytrace=False)
    pytest.skip("no PostgreSQL server (set FER_TEST_DATABASE_URL)", allow_module_level=True)


def test_a_class_across_two_servers_on_one_postgresql(tmp_path, samples):
    env = dict(os.environ, FER_DATABASE_URL=PG_URL)
    (first, first_proc), (second, second_proc) = start_server(env), start_server(env)
    try:
        with playwright.sync_playwright() as p:
            teacher, dashboard, join = start_class(p, first, tmp_path)
            join = join.replace(first, second)  # the student lands on the other server
            assert join.startswith(second)

            student = _browser(p, write_y4m(tmp_path / "happy.y4m", face_clip(samples / "faceapi_happy.jpg", seconds=2.0)))
            page = student.new_page()
            page.goto(join)
            page.get_by_text("I agree").click()
            assert _student_streams(page), "no frame of the student reached the second server"
            streaming = lambda: _metric(dashboard, "Students streaming now")  # noqa: E731
            assert _wait(lambda: streaming() == 1, timeout=60), f"the first server shows {streaming():g} students"
            student.close()
            teacher.close()
    finally:
        stop_server(first_proc)
        stop_server(second_proc)
