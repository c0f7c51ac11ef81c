"""Every setting of the app in one place: read once, at the edge (the app's start, the command line),
from the environment and Streamlit secrets, then passed down. The library itself reads no environment
variable. The README's settings table lists the same names."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path


class SettingsError(ValueError):
    """A setting with a value that cannot be used; the message names it."""


@dataclass(frozen=True)
class Settings:
    # where class sessions are stored: SQLite in data_dir by default, or a database URL (PostgreSQL for several servers)
    database_url: str = ""
    data_dir: str = str(Path.home() / ".fer")
    # a class mood distribution needs at least this many faces in a bucket (k-anonymity); fewer never leave storage
    min_faces: int = 3
    bucket_s: int = 5  # seconds per class-mood bucket
    retention_days: float = 7.0  # then a class session and its numbers are deleted
    # the address students use to reach this app (for the join link and QR code); "" = the teacher's own address
    public_url: str = ""
    # STUN/TURN servers for WebRTC, as RTCIceServer dicts ({"urls": ..., "username": ..., "credential": ...})
    ice_servers: tuple = field(default_factory=tuple)
    # "relay": browsers send media only through a TURN server of ice_servers (for networks that allow
    # nothing else, and to prove a TURN server works); "all": direct connections too
    ice_transport_policy: str = "all"
    mode: str = "fast"  # default classifier mode of the photo and video pages: "fast" or "accurate"
    max_photo_mb: int = 20
    # at most server.maxUploadSize (.streamlit/config.toml, 200 MB), which serve.py checks at start
    max_video_mb: int = 200
    # uploads the server holds at once, all visitors together (those still arriving included); one visitor
    # may hold at most server.maxUploadSize + max_photo_mb (SECURITY.md, "Limits that protect the server")
    max_uploads_mb: int = 400
    max_video_minutes: float = 90.0
    max_live_fps: float = 30.0  # frames analysed per second per live viewer
    # streams one server process accepts at once, a class student counting 1 and a live viewer 5; a new one
    # beyond is refused with a message. 0 = from the host: (0.9 x its MB - 300) / 22 + 1, and a second
    # budget for its cores, 25 students per core with AVX-512 and 20 without, a live viewer counting 13 and
    # 18 there (docs/sizing.md: 8 students on a 512 MB host; on a 2-core server with memory to spare 50,
    # or 40 on an AVX2-only CPU)
    max_streams: int = 0

    @property
    def store_url(self) -> str:
        return self.database_url or "sqlite:///" + str(Path(self.data_dir) / "classes.db")

    @property
    def retention_s(self) -> float:
        return self.retention_days * 86400

    def __post_init__(self):
        positive = ("min_faces", "bucket_s", "retention_days", "max_photo_mb", "max_video_mb", "max_video_minutes", "max_live_fps", "max_uploads_mb")
        for name in positive:
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise SettingsError(f"{_env_name(name)} must be a positive number, not {value!r}")
        if not (isinstance(self.max_streams, int) and self.max_streams >= 0):
            raise SettingsError(f"{_env_name('max_streams')} must be 0 (from the host) or a positive number, not {self.max_streams!r}")
        if self.mode not in ("fast", "accurate"):
            raise SettingsError(f"{_env_name('mode')} must be 'fast' or 'accurate', not {self.mode!r}")
        if self.ice_transport_policy not in ("all", "relay"):
            raise SettingsError(f"{_env_name('ice_transport_policy')} must be 'all' or 'relay', not {self.ice_transport_policy!r}")
        if self.ice_transport_policy == "relay" and not any(_is_turn(s) for s in self.ice_servers):
            raise SettingsError(f"{_env_name('ice_transport_policy')}=relay needs a turn: server in {_env_name('ice_servers')}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str], secrets: Mapping | None = None) -> "Settings":
        """Settings from ``FER_<NAME>`` environment variables, then from Streamlit secrets (``<name>`` keys,
        e.g. ``ice_servers`` as a TOML array of tables), then the defaults."""
        values = {}
        for f in fields(cls):
            raw = environ.get(_env_name(f.name))
            if raw is None and secrets is not None and f.name in secrets:
                raw = secrets[f.name]
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.name, f.type, raw)
        return cls(**values)


def _is_turn(server: Mapping) -> bool:
    urls = server.get("urls")
    return any(str(url).startswith(("turn:", "turns:")) for url in ([urls] if isinstance(urls, str) else urls or ()))


def _env_name(name: str) -> str:
    return "FER_" + name.upper()


def _parse(name: str, kind: str, raw):
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "tuple":
            servers = json.loads(raw) if isinstance(raw, str) else [dict(s) for s in raw]
            if not isinstance(servers, list) or not all(isinstance(s, dict) and "urls" in s for s in servers):
                raise ValueError("expected a list of {\"urls\": ...} objects")
            return tuple(servers)
        return str(raw)
    except (TypeError, ValueError) as err:
        raise SettingsError(f"{_env_name(name)}: cannot read {str(raw)[:80]!r} ({err})") from None
