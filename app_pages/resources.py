"""What the pages share: the analyzer, created once per server process, and the WebRTC settings."""

import json
import os

import streamlit as st

from fer.pipeline import Analyzer
from fer.store import Store


def mode_toggle(key: str) -> str:
    """The classifier mode for an upload: "fast" or "accurate" (more views of each face)."""
    accurate = st.toggle(
        "Accurate mode",
        key=key,
        help="Averages three independently trained networks over four views of each face (68.7% instead of "
        "67.9% on FER2013 PublicTest), at about four times the classifier's cost. The live camera always "
        "uses the fast mode.",
    )
    return "accurate" if accurate else "fast"


@st.cache_resource(show_spinner="Loading the emotion model…")
def analyzer(mode: str = "fast") -> Analyzer:
    """One analyzer per mode for the whole server; its classifier is thread-safe and shared by every
    session, the live video threads included."""
    return Analyzer.default(mode)


def ice_servers() -> list[dict]:
    """STUN/TURN servers for WebRTC, from the environment variable FER_ICE_SERVERS (JSON, e.g. on Heroku)
    or else from Streamlit secrets (``ice_servers`` in secrets.toml, e.g. on Streamlit Community Cloud).
    None configured means direct connections only, which is enough on localhost and a LAN."""
    if os.environ.get("FER_ICE_SERVERS"):
        return json.loads(os.environ["FER_ICE_SERVERS"])
    try:
        return [dict(server) for server in st.secrets.get("ice_servers", [])]
    except FileNotFoundError:  # no secrets.toml at all
        return []


# Class sessions, configured through the environment (see README, "Class mood").
RETENTION_DAYS = float(os.environ.get("FER_RETENTION_DAYS", "7"))  # then a session and its numbers are deleted
MIN_FACES = int(os.environ.get("FER_MIN_FACES", "3"))  # fewer faces in a bucket: no distribution shown
MAX_VIDEO_MINUTES = float(os.environ.get("FER_MAX_VIDEO_MINUTES", "90"))  # longest recorded lecture accepted
MAX_VIDEO_MB = min(int(os.environ.get("FER_MAX_VIDEO_MB", "500")), 500)  # 500: server.maxUploadSize
MAX_PHOTO_MB = 20
MAX_LIVE_FPS = float(os.environ.get("FER_MAX_LIVE_FPS", "30"))  # frames analysed per second per live session


@st.cache_resource
def store() -> Store:
    """SQLite at ~/.fer/classes.db (or FER_DATA_DIR), or the database at FER_DATABASE_URL."""
    s = Store()
    s.purge_expired()
    return s
