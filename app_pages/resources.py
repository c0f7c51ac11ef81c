"""What the pages share: the analyzer, created once per server process, and the WebRTC settings."""

import json
import os

import streamlit as st

from fer.pipeline import Analyzer


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
