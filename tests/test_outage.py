"""The class store out of reach while students stream: a locked SQLite file, and a PostgreSQL server
stopped and started again. The stream keeps running, finished buckets wait in memory (at most
``max_pending``, the older ones counted as lost) and are stored once the database is back."""

import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from fer.pipeline import Analyzer
from fer.reporter import MAX_PENDING, ClassReporter
from fer.store import Store, StoreError

BLANK = np.zeros((240, 320, 3), np.uint8)  # a camera that sees no one: each bucket is still one row


class Clock:
    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def analyzer():
    return Analyzer.default()


def stream(reporter: ClassReporter, clock: Clock, buckets: int, bucket_s: int = 5) -> list[float]:
    """``buckets`` buckets of video at 2 fps; returns how long each process() call took."""
    took = []
    for _ in range(buckets * bucket_s * 2):
        clock.t += 0.5
        start = time.perf_counter()
        result = reporter.process(BLANK)
        took.append(time.perf_counter() - start)
        assert result is not None  # the student keeps their picture and their boxes
    return took


def test_a_locked_sqlite_store_keeps_the_buckets_and_stores_them_when_it_is_free(tmp_path, analyzer):
    path = tmp_path / "classes.db"
    store = Store(f"sqlite:///{path}")
    # Give up on the lock after 20 ms instead of 5 s, so the outage costs the test little time.
    sa.event.listen(store.engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA busy_timeout=20"))
    store.engine.dispose()
    code, _ = store.create_room(bucket_s=5, min_faces=1)
    clock = Clock(1_000_000.0 - 0.5)  # the first frame falls on a bucket boundary
    reporter = ClassReporter(store, code, analyzer, bucket_s=5, clock=clock, send_in_background=False)

    stream(reporter, clock, 2)  # bucket 0 is sent by the first analysis of bucket 1, which stays open
    assert (reporter.sent, reporter.pending, reporter.lost) == (1, 0, 0)

    locker = sqlite3.connect(path, isolation_level=None)  # another process holding the write lock
    locker.execute("BEGIN EXCLUSIVE")
    outage = MAX_PENDING + 3
    took = stream(reporter, clock, outage)  # buckets 1 .. outage finish while the store refuses writes
    assert reporter.error and "locked" in reporter.error
    finished = 1 + outage
    assert reporter.sent == 1 and reporter.pending == MAX_PENDING and reporter.lost == finished - 1 - MAX_PENDING
    assert reporter.sent + reporter.pending + reporter.lost + reporter.refused == finished
    assert len(store.timeline(code)) == 1  # the dashboard still reads (WAL: readers never wait for a writer)

    locker.execute("ROLLBACK")
    locker.close()
    stream(reporter, clock, 1)  # the next finished bucket carries the waiting ones
    assert (reporter.pending, reporter.lost, reporter.error) == (0, finished - 1 - MAX_PENDING, None)
    assert reporter.sent == finished + 1 - reporter.lost
    reporter.flush()
    stored = [row["t"] for row in store.timeline(code)]
    t0 = 1_000_000
    lost = list(range(t0 + 5, t0 + 5 * (1 + reporter.lost), 5))  # the oldest of the outage: dropped
    assert stored == [t for t in range(t0, t0 + 5 * (outage + 3), 5) if t not in lost]
    print(
        f"\nlocked SQLite: {reporter.sent + reporter.lost} buckets, {finished - 1} finished during the outage: "
        f"{MAX_PENDING} kept and stored after it, {reporter.lost} lost; {reporter.sent} stored in all. process() "
        f"during the outage: median {np.median(took) * 1e3:.1f} ms, max {max(took) * 1e3:.1f} ms"
    )


# A PostgreSQL server of the test's own, stopped and started like a real outage (pg_ctl stop -m fast): the
# shared server of FER_TEST_DATABASE_URL is left running for the other tests.
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)
if shutil.which("pg_ctl"):
    PG_BIN = Path(shutil.which("pg_ctl")).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="fer-pg-"))
        self.port = _free_port()
        self.as_user = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.dir, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", self.dir / "data", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args) -> None:
        command = [*self.as_user, str(PG_BIN / tool), *map(str, args)]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", self.dir / "data", "-o", options, "-l", self.dir / "log", "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", self.dir / "data", "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        stop = [*self.as_user, str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop"]
        subprocess.run(stop, capture_output=True, timeout=120)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.mark.skipif(
    not os.environ.get("FER_TEST_DATABASE_URL"), reason="PostgreSQL tests are off (set FER_TEST_DATABASE_URL)"
)
def test_postgresql_stopped_mid_class_and_started_again(analyzer):
    if PG_BIN is None or not (PG_BIN / "initdb").exists():
        pytest.fail("FER_TEST_DATABASE_URL is set but PostgreSQL's initdb and pg_ctl are not installed")
    server = PostgresServer()
    try:
        server.start()
        store = Store(server.url)
        code, _ = store.create_room(bucket_s=5, min_faces=1)
        clock = Clock(1_000_000.0 - 0.5)
        reporter = ClassReporter(store, code, analyzer, bucket_s=5, clock=clock, max_pending=3, send_in_background=False)
        stream(reporter, clock, 2)
        assert (reporter.sent, reporter.pending) == (1, 0)

        server.stop()
        took = stream(reporter, clock, 5)  # five buckets finish while the server is down
        assert reporter.sent == 1 and reporter.pending == 3 and reporter.lost == 2
        assert reporter.error
        with pytest.raises(StoreError):  # the dashboard's read fails as cleanly
            store.timeline(code)

        server.start()
        stream(reporter, clock, 1)  # the pool's stale connections are replaced (pool_pre_ping)
        assert (reporter.sent, reporter.pending, reporter.lost, reporter.error) == (5, 0, 2, None)
        t0 = 1_000_000
        assert [row["t"] for row in store.timeline(code)] == [t0, t0 + 15, t0 + 20, t0 + 25, t0 + 30]
        print(
            f"\nPostgreSQL stopped: 5 buckets finished while down, 3 kept and stored after the restart, "
            f"{reporter.lost} lost; {reporter.sent} stored in all. process() while down: median "
            f"{np.median(took) * 1e3:.1f} ms, max {max(took) * 1e3:.1f} ms"
        )
        store.close()
    finally:
        server.remove()
