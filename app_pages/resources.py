"""What the pages share, created once per server process: the settings, the analyzer, the store."""

import os

import streamlit as st

from fer.pipeline import Analyzer
from fer.settings import Settings
from fer.store import Store


@st.cache_resource
def settings() -> Settings:
    """Read once: FER_* environment variables (e.g. on Heroku or in a container), then Streamlit secrets
    (secrets.toml, e.g. on Streamlit Community Cloud), then the defaults (README, "Settings")."""
    try:
        secrets = {k: st.secrets[k] for k in st.secrets}
    except FileNotFoundError:  # no secrets.toml at all
        secrets = {}
    return Settings.from_env(os.environ, secrets)


def mode_toggle(key: str) -> str:
    """The classifier mode for an upload: "fast" or "accurate" (more views of each face)."""
    accurate = st.toggle(
        "Accurate mode",
        key=key,
        value=settings().mode == "accurate",
        help="Averages three independently trained networks over four views of each face (68.7% instead of "
        "67.9% on FER2013 PublicTest), at about four times the classifier's cost. The live camera always "
        "uses the fast mode.",
    )
    return "accurate" if accurate else "fast"


@st.cache_resource(show_spinner="Loading the emotion model…")
def analyzer(mode: str = "fast") -> Analyzer:
    """One analyzer per mode for the whole server; its classifier is thread-safe and shared by every
    session, the live video threads included (each stream gets its own tracking analyzer from it)."""
    return Analyzer.default(mode)


def rtc_configuration() -> dict:
    """STUN/TURN servers for WebRTC (setting ``ice_servers``). None configured means direct connections
    only, which is enough on localhost and a LAN."""
    return {"iceServers": [dict(server) for server in settings().ice_servers]}


@st.cache_resource
def store() -> Store:
    """The class sessions: SQLite in the data folder, or the database at FER_DATABASE_URL."""
    s = Store(settings().store_url)
    s.purge_expired()
    return s
