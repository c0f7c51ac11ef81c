"""The class-session store against a real SQLite file and a real PostgreSQL server.

PostgreSQL comes from FER_TEST_DATABASE_URL (`.ci/run` installs and starts one on loopback); without
it the PostgreSQL cases skip, except in CI where they fail.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from fer.emotions import EMOTIONS
from fer.store import Contribution, RoomNotFound, Store

from .conftest import ROOT

PG_URL = os.environ.get("FER_TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        return Store(f"sqlite:///{tmp_path / 'classes.db'}")
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("FER_TEST_DATABASE_URL is not set in CI")
        pytest.skip("no PostgreSQL server (set FER_TEST_DATABASE_URL)")
    return Store(PG_URL)


def one_hot(emotion: str, p: float = 0.7) -> np.ndarray:
    v = np.full(7, (1 - p) / 6)
    v[EMOTIONS.index(emotion)] = p
    return v


def test_room_codes_and_keys_are_long_random_and_checked(store):
    code, key = store.create_room("Physics 101")
    other_code, _ = store.create_room()
    assert code != other_code and len(code) >= 22 and len(key) >= 32  # >= 128 bits, URL-safe base64
    assert store.room(code).title == "Physics 101"
    assert store.check_key(code, key)
    assert not store.check_key(code, key[:-1] + ("A" if key[-1] != "A" else "B"))
    assert not store.check_key("no-such-room", key)
    with pytest.raises(RoomNotFound):
        store.room("no-such-room")


def test_student_contributions_add_up_per_bucket(store):
    code, _ = store.create_room(bucket_s=5, min_faces=2)
    t = int(time.time()) // 5 * 5
    store.add(code, Contribution.from_frames(t, [np.array([one_hot("happy")]), np.array([one_hot("happy")])]))
    store.add(code, Contribution.from_frames(t, [np.array([one_hot("sad")]), np.empty((0, 7))]))
    store.add(code, Contribution.from_frames(t + 5, [np.array([one_hot("happy"), one_hot("angry")])]))
    first, second = store.timeline(code)
    assert (first["t"], first["streams"], first["faces"], first["observations"]) == (t, 2, 2, 3)
    assert first["counts"]["happy"] == 2 and first["counts"]["sad"] == 1
    assert first["distribution"]["happy"] == round(2 / 3, 4)
    assert abs(first["mean_probability"]["happy"] - (0.7 * 2 + 0.05) / 3) < 1e-4
    assert (second["streams"], second["faces"]) == (1, 2)
    assert store.timeline(code, since=t + 5) == [second]


def test_a_bucket_of_fewer_than_k_faces_never_leaves_the_store(store):
    """k-anonymity where the data leave storage: one or two students' expressions are never returned, to
    the dashboard, an export or a report; the number of students and faces is."""
    code, _ = store.create_room(bucket_s=5, min_faces=3)
    t = 1_000_000
    for emotion in ("happy", "sad"):  # two students in the first bucket
        store.add(code, Contribution.from_frames(t, [np.array([one_hot(emotion)])]))
    for emotion in ("happy", "sad", "angry"):  # three in the next
        store.add(code, Contribution.from_frames(t + 5, [np.array([one_hot(emotion)])]))
    few, enough = store.timeline(code)
    assert (few["streams"], few["faces"]) == (2, 2)
    assert few["observations"] is None
    assert all(v is None for key in ("counts", "distribution", "mean_probability") for v in few[key].values())
    assert enough["faces"] == 3 and enough["distribution"]["angry"] == round(1 / 3, 4)
    from fer.mood import rows_to_csv

    first_row = rows_to_csv([few, enough]).splitlines()[1].split(",")
    assert first_row[:3] == [str(t), "2", "2"] and set(first_row[3:]) == {""}  # the export carries nothing more


def test_nothing_personal_is_stored(store):
    """Only numbers per room and bucket: every column is a count, a sum, a time or room metadata."""
    import sqlalchemy as sa

    columns = {c["name"]: str(c["type"]) for c in sa.inspect(store.engine).get_columns("buckets")}
    assert set(columns) == {"room", "t", "streams", "faces", "observations"} | {
        f"{k}_{e}" for k in "np" for e in EMOTIONS
    }
    assert not any("BLOB" in t or "BYTEA" in t for t in columns.values())


def test_ended_and_expired_rooms_refuse_data_and_expire(store):
    code, _ = store.create_room()
    store.end_room(code)
    with pytest.raises(RoomNotFound):
        store.add(code, Contribution.from_frames(0, []))
    old, _ = store.create_room(retention_s=0.01)
    store.add(store.create_room()[0], Contribution.from_frames(0, []))
    time.sleep(0.05)
    with pytest.raises(RoomNotFound):
        store.room(old)
    assert store.purge_expired() >= 1
    assert store.timeline(old) == []
    assert store.room(code).ended is not None  # not expired yet: kept


WRITER = """
import sys, numpy as np
from fer.store import Contribution, Store
store = Store(sys.argv[1]); code = sys.argv[2]
for t in range(0, 10**6, 5):
    store.add(code, Contribution.from_frames(t, [np.eye(7)[[t // 5 % 7]]]))
    print(t, flush=True)  # printed only after the commit returned
"""


def test_kill_minus_9_mid_class_loses_no_committed_bucket(tmp_path):
    url = f"sqlite:///{tmp_path / 'classes.db'}"
    code, _ = Store(url).create_room()
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, url, code], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    committed = []
    while len(committed) < 40:
        committed.append(int(writer.stdout.readline()))
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    with sqlite3.connect(tmp_path / "classes.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    stored = {row["t"] for row in Store(url).timeline(code)}
    assert set(committed) <= stored  # at most the bucket in flight at the kill is missing
