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


def postgresql_url() -> str:
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("FER_TEST_DATABASE_URL is not set in CI")
        pytest.skip("no PostgreSQL server (set FER_TEST_DATABASE_URL)")
    return PG_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    with Store(postgresql_url() if request.param == "postgresql" else f"sqlite:///{tmp_path / 'classes.db'}") as store:
        yield store


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
    store.add(store.create_room()[0], Contribution.from_frames(0, []))
    # created last: each create_room purges what has expired, and on a busy machine 0.01 s may pass before the next
    old, _ = store.create_room(retention_s=0.01)
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
    with Store(url) as store:
        code, _ = store.create_room()
    committed = []
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, url, code], cwd=ROOT, stdout=subprocess.PIPE, text=True
    ) as writer:
        while len(committed) < 40:
            committed.append(int(writer.stdout.readline()))
        writer.send_signal(signal.SIGKILL)
    with sqlite3.connect(tmp_path / "classes.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with Store(url) as store:
        stored = {row["t"] for row in store.timeline(code)}
    assert set(committed) <= stored  # at most the bucket in flight at the kill is missing


def test_a_closed_store_leaves_no_connection_open_on_the_server():
    """A caller that opens a store for a while (a test, a tool) closes it, and the server sees its
    connections end; counted on the server by the application name the store connects with."""
    import sqlalchemy as sa

    name = f"fer-close-test-{os.getpid()}"
    url = sa.engine.make_url(postgresql_url())
    observer = sa.create_engine(url, poolclass=sa.pool.NullPool)

    def connections() -> int:
        with observer.connect() as db:
            query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"
            return db.execute(sa.text(query), {"name": name}).scalar_one()

    store = Store(url.update_query_dict({"application_name": name}).render_as_string(hide_password=False))
    store.create_room()
    assert connections() >= 1  # the pool keeps its connection between calls
    store.close()
    deadline = time.monotonic() + 30  # the server's backend ends just after the client hangs up
    while connections() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert connections() == 0
    observer.dispose()


HOSTILE_CODES = ["ab\x00cd", "\x00", "\ud800abc", "room code", "é" * 22, "a/../b", "a\nb", "x" * 65, "", "%00"]


def test_malformed_room_codes_and_keys_are_not_found_without_a_query(store):
    """A room code or key outside URL-safe base64 (a NUL, a lone surrogate, a space, a path) is simply not
    found: no query reaches the database, whose driver would raise on a NUL (PostgreSQL) or a surrogate."""
    import sqlalchemy as sa

    code, key = store.create_room("Chemistry")
    queries = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *args: queries.append(args[2]))
    for bad in [*HOSTILE_CODES, None, 42]:
        with pytest.raises(RoomNotFound):
            store.room(bad)
        with pytest.raises(RoomNotFound):
            store.add(bad, Contribution.from_frames(0, [np.array([one_hot("happy")])]))
        assert store.check_key(bad, key) is False
        assert store.timeline(bad) == []
        store.end_room(bad)
    for bad in [*HOSTILE_CODES, key + "\x00", key[:-1] + "\ud800", None]:
        assert store.check_key(code, bad) is False
    assert queries == []
    assert store.check_key(code, key) and store.room(code).ended is None  # the real room is untouched


def test_control_characters_are_removed_from_titles(store):
    """Stripped, not refused: a title is one line of text, and a stray control character pasted with it
    (invisible to the teacher) should not stop the class from starting."""
    code, _ = store.create_room("Physics\x00 101,\tTuesday\r\n\x1b[31mred\x7f\x85 \u200bend\ud800 ")
    assert store.room(code).title == "Physics 101, Tuesday [31mred \u200bend"
    code, _ = store.create_room("Physics\u2060 101 \u2060")  # the word joiner marks our own escapes
    assert store.room(code).title == "Physics 101"
    code, _ = store.create_room("\x00\x01\x02")
    assert store.room(code).title == ""
    code, _ = store.create_room("Ünïcödé 数学 😀 " + "x" * 300)
    assert store.room(code).title == ("Ünïcödé 数学 😀 " + "x" * 300)[:200]


MARKDOWN_ATTACKS = [
    "![x](http://evil.example/x.png)",
    '<img src="http://evil.example/x.png">',
    "<script>alert(1)</script>",
    "**bold** _it_ `code` ~~gone~~",
    "[link](javascript:alert(1))",
    "[ref][1]\n\n[1]: http://evil.example/",
    "# heading",
    "1. list",
    "- item",
    "> quote",
    "&lt;img&gt; &#60;",
    "$x^2$ :red[red] :material/home: :smile:",
    "<http://evil.example/> www.evil.example http://evil.example/ HTTPS://EVIL.EXAMPLE",
    "write to me@evil.example or mailto:me@evil.example",
    "\\*escaped\\*",
    "| a | b |",
]


@pytest.mark.parametrize("title", MARKDOWN_ATTACKS)
def test_titles_render_as_plain_text_through_markdown(title):
    """What the pages pass to st.subheader: rendered by a CommonMark renderer, it is the text as typed (plus
    invisible word joiners), with no image, link, tag or emphasis. Streamlit's renderer is GitHub-flavoured
    CommonMark, whose bare-address links are made from the text after parsing: that text must hold none.
    (Checked once in Chromium against Streamlit's own frontend too: the same text, no img, no a element,
    no request to evil.example.)"""
    import html
    import re

    markdown_it = pytest.importorskip("markdown_it")
    from fer.store import WORD_JOINER, clean_title, markdown_escaped

    text = clean_title(title)
    rendered = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown_escaped(text))
    assert rendered.startswith("<p>") and rendered.endswith("</p>\n")
    inner = html.unescape(rendered[3:-5])
    assert "<" not in rendered[3:-5]  # no element at all: no <img>, <a>, <strong>, <script>
    assert inner.replace(WORD_JOINER, "") == text
    # GFM's autolink literals (mdast-util-gfm-autolink-literal): http(s)://, www. and e-mail addresses.
    assert not re.search(r"(?i)https?://|www\.|[-.\w+]@[-\w]|\b(mailto|xmpp):", inner)


def test_every_ascii_punctuation_character_is_escaped():
    import string

    from fer.store import markdown_escaped

    joiner = {".": "\u2060", ":": "\u2060", "@": "\u2060"}
    assert markdown_escaped(string.punctuation) == "".join(joiner.get(c, "") + "\\" + c for c in string.punctuation)
    assert markdown_escaped("Physics 101 Ünï 数学") == "Physics 101 Ünï 数学"


def test_any_title_renders_as_itself():
    """Property: whatever the teacher types, the escaped title renders to exactly that text, no element."""
    import html

    markdown_it = pytest.importorskip("markdown_it")
    from hypothesis import example, given, settings, strategies as st

    from fer.store import WORD_JOINER, clean_title, markdown_escaped

    md = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])
    alphabet = st.characters(codec="utf-8") | st.sampled_from("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ \t\nhttpwww")

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet, max_size=60))
    @example("\u2060")  # found by this test on 2026-12-02
    def check(typed):
        text = clean_title(typed)
        rendered = md.render(markdown_escaped(text))
        if not text:
            assert rendered == ""
            return
        assert rendered.startswith("<p>") and rendered.endswith("</p>\n")
        assert "<" not in rendered[3:-5] and html.unescape(rendered[3:-5]).replace(WORD_JOINER, "") == text

    check()


def test_a_short_join_code_finds_the_open_room_however_it_is_typed(store):
    from fer.store import SHORT_ALPHABET, SHORT_LENGTH

    code, _ = store.create_room("Art")
    short = store.room(code).short_code
    assert len(short) == SHORT_LENGTH and set(short) <= set(SHORT_ALPHABET)
    typed = f" {short[:3].lower()}-{short[3:]} "
    assert store.code_for(typed) == code and store.code_for(short) == code
    for wrong in ("", "O0O0O0", short + "A", "abc\x00de"):
        with pytest.raises(RoomNotFound):
            store.code_for(wrong)
    store.end_room(code)
    assert store.code_for(short) == code  # ended, still there: the join page says the class has ended


def test_an_older_database_gets_the_short_code_column(tmp_path):
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as db:  # the rooms table as the previous version made it
        db.execute(sa.text(
            "CREATE TABLE rooms (code VARCHAR(64) PRIMARY KEY, key_hash VARCHAR(64) NOT NULL, title VARCHAR(200) NOT NULL,"
            " created FLOAT NOT NULL, expires FLOAT NOT NULL, ended FLOAT, bucket_s INTEGER NOT NULL, min_faces INTEGER NOT NULL)"
        ))
        db.execute(sa.text("INSERT INTO rooms VALUES ('old-room', 'x', 'Old', 0, 9e12, NULL, 5, 3)"))
    engine.dispose()
    with Store(url) as store:
        assert store.room("old-room").short_code is None and store.room("old-room").title == "Old"
        code, _ = store.create_room("New")
        assert store.code_for(store.room(code).short_code) == code
