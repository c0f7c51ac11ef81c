"""Class sessions and their mood aggregates, in SQLite by default or PostgreSQL through a database URL.

Only numbers are stored: per room and time bucket, how many faces were seen and, per emotion, how many
faces showed it most and the sum of its probabilities. No images, no crops, no per-student rows. The
teacher key is kept as a SHA-256 hash and checked in constant time. Every write is one transaction, so
a crash loses at most the bucket being written, never one already committed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .emotions import EMOTIONS
from .settings import Settings

DEFAULTS = Settings()

meta = sa.MetaData()
rooms = sa.Table(
    "rooms",
    meta,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("title", sa.String(200), nullable=False, default=""),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("expires", sa.Float, nullable=False, index=True),
    sa.Column("ended", sa.Float),
    sa.Column("bucket_s", sa.Integer, nullable=False),
    sa.Column("min_faces", sa.Integer, nullable=False),
    # a short join code to read off a projector and type (SHORT_ALPHABET, SHORT_LENGTH); unique among rooms
    sa.Column("short_code", sa.String(8), unique=True),
)
buckets = sa.Table(
    "buckets",
    meta,
    sa.Column("room", sa.String(64), sa.ForeignKey("rooms.code", ondelete="CASCADE"), primary_key=True),
    sa.Column("t", sa.BigInteger, primary_key=True),  # bucket start, Unix seconds
    sa.Column("streams", sa.Integer, nullable=False),  # student streams that reported in this bucket
    sa.Column("faces", sa.Integer, nullable=False),  # faces: per stream, the most seen in one frame, summed
    sa.Column("observations", sa.Integer, nullable=False),  # face analyses in the bucket
    *(sa.Column(f"n_{e}", sa.Integer, nullable=False) for e in EMOTIONS),  # faces whose top label is e
    *(sa.Column(f"p_{e}", sa.Float, nullable=False) for e in EMOTIONS),  # summed probabilities of e
)
_ADDITIVE = ["streams", "faces", "observations", *(f"n_{e}" for e in EMOTIONS), *(f"p_{e}" for e in EMOTIONS)]


class RoomNotFound(LookupError):
    pass


StoreError = sa.exc.SQLAlchemyError
"""Any error of the database under the store: the server is down or unreachable, the SQLite file is locked
or unwritable, the disk is full. Callers that must keep going (a student's stream, the dashboard) catch it."""

# Room codes and teacher keys are URL-safe base64 (``secrets.token_urlsafe``): anything else is not one of
# ours, and is answered without a query (a NUL or a lone surrogate would make the database driver raise).
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _is_token(value: object) -> bool:
    return isinstance(value, str) and _TOKEN.fullmatch(value) is not None


WORD_JOINER = "\u2060"  # invisible, zero width


def clean_title(title: str) -> str:
    """A room title as stored: one line of at most 200 characters. Control characters (NUL, escape, DEL, the
    C1 range), lone surrogates and the word joiner (U+2060, invisible; ``markdown_escaped`` adds its own, so a
    rendered title minus word joiners is the title again) are removed; tabs, line breaks and other whitespace
    become spaces, one in a row."""
    kept = (" " if ch.isspace() else "" if ch == WORD_JOINER or unicodedata.category(ch) in ("Cc", "Cs") else ch
            for ch in str(title))
    return re.sub(" {2,}", " ", "".join(kept)).strip()[:200]


_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
_AUTOLINK_BREAK = re.compile(r"(?=[.:@])")


def markdown_escaped(text: str) -> str:
    """``text`` for a Markdown renderer (``st.subheader``, ``st.markdown``) that must show it as typed: every
    ASCII punctuation character is backslash-escaped (CommonMark allows that for each of them), so no image,
    link, emphasis, HTML tag, LaTeX or Streamlit directive can come out of user text. GitHub-flavoured
    Markdown also turns bare addresses (``http://``, ``www.``, ``a@b.c``) into links after escapes are
    resolved, so an invisible word joiner (U+2060) goes before each ".", ":" and "@" as well."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _AUTOLINK_BREAK.sub(WORD_JOINER, text))


@dataclass(frozen=True)
class Room:
    code: str
    title: str
    created: float
    expires: float
    ended: float | None
    bucket_s: int
    min_faces: int
    short_code: str | None = None


# Short join codes: 6 characters without look-alikes (no 0/O, 1/I/L), 31^6 = 887 million codes. They
# only find a room to join (never a dashboard): a guesser typing random codes finds an open class about
# once per 887 million / (open classes) tries, and then sees what a student sees. SECURITY.md.
SHORT_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
SHORT_LENGTH = 6


def normal_short_code(typed: str) -> str | None:
    """The short code in what someone typed ("abc-def", " ABC DEF "), or None if it cannot be one."""
    code = re.sub(r"[\s-]", "", typed).upper()
    return code if len(code) == SHORT_LENGTH and all(c in SHORT_ALPHABET for c in code) else None


@dataclass(frozen=True)
class Contribution:
    """One student stream's aggregate for one bucket (what the join page sends every ``bucket_s``)."""

    t: int
    faces: int
    observations: int
    counts: tuple[int, ...]  # per emotion, EMOTIONS order
    prob_sums: tuple[float, ...]

    @staticmethod
    def from_frames(t: int, frames: list[np.ndarray]) -> "Contribution":
        """``frames``: one (n_faces, 7) probability array per analysed frame of the bucket."""
        probs = np.concatenate([np.asarray(f, float).reshape(-1, len(EMOTIONS)) for f in frames] or [np.empty((0, 7))])
        counts = np.bincount(probs.argmax(1), minlength=len(EMOTIONS)) if len(probs) else np.zeros(7, int)
        return Contribution(
            t=t,
            faces=max((len(f) for f in frames), default=0),
            observations=len(probs),
            counts=tuple(int(c) for c in counts),
            prob_sums=tuple(float(p) for p in probs.sum(0)),
        )


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Store:
    """The class sessions at ``url`` (a SQLAlchemy URL: ``Settings.store_url``)."""

    def __init__(self, url: str):
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        connect_args, parsed = {}, sa.engine.make_url(url)
        if parsed.get_driver_name() in ("psycopg", "psycopg2"):
            # A server that does not answer (a dropped network) fails after 5 s, when connecting or when
            # data sent to it stay unacknowledged, instead of the system's TCP timeouts: a student's stream
            # and the dashboard wait on it. The URL's own values win.
            defaults = {"connect_timeout": 5, "tcp_user_timeout": 5000}
            connect_args = {k: v for k, v in defaults.items() if k not in parsed.query}
        self.engine = sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        meta.create_all(self.engine)
        self._migrate()

    def close(self) -> None:
        """Close the pooled database connections. The app keeps one store for the life of its process;
        a caller that opens one for a while closes it (``with Store(url) as store:``)."""
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _migrate(self) -> None:
        """Databases made by an earlier version lack the short join code: add the column (nullable)."""
        columns = {c["name"] for c in sa.inspect(self.engine).get_columns("rooms")}
        if "short_code" not in columns:
            with self.engine.begin() as db:
                db.execute(sa.text("ALTER TABLE rooms ADD COLUMN short_code VARCHAR(8)"))
                db.execute(sa.text("CREATE UNIQUE INDEX IF NOT EXISTS ix_rooms_short_code ON rooms (short_code)"))

    @property
    def _insert(self):
        return postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert

    def create_room(
        self,
        title: str = "",
        retention_s: float = DEFAULTS.retention_s,
        bucket_s: int = DEFAULTS.bucket_s,
        min_faces: int = DEFAULTS.min_faces,
    ) -> tuple[str, str]:
        """A new class session: returns (room code, teacher key), each 128 random bits or more. The app
        passes its settings (``FER_MIN_FACES`` and the others); the defaults are the settings' defaults.
        The title is stored as ``clean_title`` makes it: control characters are dropped, not refused."""
        if min_faces < 1 or bucket_s < 1:
            raise ValueError("min_faces and bucket_s must be at least 1")
        code, key = secrets.token_urlsafe(16), secrets.token_urlsafe(24)
        now = time.time()
        self.purge_expired(now)
        taken = 0
        while True:
            short = "".join(secrets.choice(SHORT_ALPHABET) for _ in range(SHORT_LENGTH))
            try:
                with self.engine.begin() as db:
                    db.execute(
                        rooms.insert().values(
                            code=code, key_hash=_hash(key), title=clean_title(title), created=now,
                            expires=now + retention_s, bucket_s=bucket_s, min_faces=min_faces, short_code=short,
                        )
                    )
                return code, key
            except sa.exc.IntegrityError:  # the short code is taken (rare): draw another
                taken += 1
                if taken == 8:
                    raise

    def code_for(self, typed: str) -> str:
        """The room code of an open room from its short join code as typed; RoomNotFound otherwise."""
        short = normal_short_code(typed)
        if short is None:
            raise RoomNotFound(typed)
        with self.engine.connect() as db:
            code = db.execute(
                sa.select(rooms.c.code).where(rooms.c.short_code == short, rooms.c.expires > time.time())
            ).scalar()
        if code is None:
            raise RoomNotFound(typed)
        return code

    def room(self, code: str) -> Room:
        if not _is_token(code):
            raise RoomNotFound(code)
        with self.engine.connect() as db:
            row = db.execute(sa.select(rooms).where(rooms.c.code == code, rooms.c.expires > time.time())).first()
        if row is None:
            raise RoomNotFound(code)
        return Room(row.code, row.title, row.created, row.expires, row.ended, row.bucket_s, row.min_faces, row.short_code)

    def check_key(self, code: str, key: str) -> bool:
        """Constant-time comparison of the teacher key's hash; False for an unknown room too, and for a code or
        key that is not URL-safe base64 (no query is made then)."""
        if not (_is_token(code) and _is_token(key)):
            return False
        with self.engine.connect() as db:
            stored = db.execute(sa.select(rooms.c.key_hash).where(rooms.c.code == code)).scalar()
        return hmac.compare_digest(stored or "0" * 64, _hash(key)) and stored is not None

    def end_room(self, code: str) -> None:
        if not _is_token(code):
            return
        with self.engine.begin() as db:
            db.execute(rooms.update().where(rooms.c.code == code).values(ended=time.time()))

    def add(self, code: str, c: Contribution) -> None:
        """Add one stream's bucket to the room's bucket, in one transaction (a new row or a sum)."""
        if not _is_token(code):
            raise RoomNotFound(code)
        values = {"room": code, "t": c.t, "streams": 1, "faces": c.faces, "observations": c.observations}
        values |= {f"n_{e}": n for e, n in zip(EMOTIONS, c.counts)}
        values |= {f"p_{e}": p for e, p in zip(EMOTIONS, c.prob_sums)}
        stmt = self._insert(buckets).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["room", "t"], set_={k: buckets.c[k] + stmt.excluded[k] for k in _ADDITIVE}
        )
        with self.engine.begin() as db:
            room = db.execute(sa.select(rooms.c.ended).where(rooms.c.code == code, rooms.c.expires > time.time())).first()
            if room is None or room.ended is not None:
                raise RoomNotFound(code)  # unknown, expired or ended by the teacher
            db.execute(stmt)

    def timeline(self, code: str, since: float = 0) -> list[dict]:
        """The room's buckets in time order: t, streams, faces, observations, and per emotion the counts,
        the distribution and the mean probabilities. **k-anonymity is enforced here**, where the numbers
        leave storage: a bucket with fewer faces than the room's ``min_faces`` comes back with its counts,
        distribution and mean probabilities set to None, so no page, export or report can show the
        expressions of one or two students. How many streams and faces it had is kept."""
        empty = dict.fromkeys(EMOTIONS)
        if not _is_token(code):
            return []
        with self.engine.connect() as db:
            k = db.execute(sa.select(rooms.c.min_faces).where(rooms.c.code == code)).scalar()
            result = db.execute(
                sa.select(buckets).where(buckets.c.room == code, buckets.c.t >= since).order_by(buckets.c.t)
            )
            out = []
            for row in result.mappings():
                n, hidden = max(row["observations"], 1), k is None or row["faces"] < k
                out.append(
                    {
                        "t": int(row["t"]),
                        "streams": row["streams"],
                        "faces": row["faces"],
                        "observations": None if hidden else row["observations"],
                        "counts": empty if hidden else {e: row[f"n_{e}"] for e in EMOTIONS},
                        "distribution": empty if hidden else {e: round(row[f"n_{e}"] / n, 4) for e in EMOTIONS},
                        "mean_probability": empty if hidden else {e: round(row[f"p_{e}"] / n, 4) for e in EMOTIONS},
                    }
                )
            return out

    def purge_expired(self, now: float | None = None) -> int:
        """Delete rooms past their retention period, with their buckets. Returns how many rooms went."""
        now = time.time() if now is None else now
        with self.engine.begin() as db:
            expired = sa.select(rooms.c.code).where(rooms.c.expires <= now)
            db.execute(buckets.delete().where(buckets.c.room.in_(expired)))
            return db.execute(rooms.delete().where(rooms.c.expires <= now)).rowcount


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (dashboards) never block the writers (students)
    cursor.execute("PRAGMA synchronous=FULL")  # a committed bucket survives a crash or power cut
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
