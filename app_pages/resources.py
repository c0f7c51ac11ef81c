"""What the pages share, created once per server process: the settings, the analyzer, the store."""

import io
import os
from urllib.parse import parse_qs, urlsplit

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
    only, which is enough on localhost and a LAN. With ``ice_transport_policy`` "relay" the browser offers
    only TURN relay candidates (aiortc, on the server side, ignores the key and offers all of its own)."""
    config = {"iceServers": [dict(server) for server in settings().ice_servers]}
    if settings().ice_transport_policy == "relay":
        config["iceTransportPolicy"] = "relay"
    return config


@st.cache_resource
def store() -> Store:
    """The class sessions: SQLite in the data folder, or the database at FER_DATABASE_URL."""
    s = Store(settings().store_url)
    s.purge_expired()
    return s


def join_link(code: str) -> tuple[str, str | None]:
    """The link students open, and a warning when they could not reach it. Built from the public URL
    setting (FER_PUBLIC_URL) when there is one, else from the address the teacher opened the app at."""
    base = settings().public_url.rstrip("/")
    warning = None
    if not base:
        site = urlsplit(st.context.url or "http://localhost:8501")
        base = f"{site.scheme}://{site.netloc}"
    host = urlsplit(base).hostname or ""
    if host in ("localhost", "127.0.0.1", "::1") or host.startswith("127."):
        warning = (
            f"This link points to {host}, this computer only: students elsewhere cannot open it. Open the app at "
            "its public address, or set FER_PUBLIC_URL (README, Settings)."
        )
    return f"{base}/join?room={code}", warning


def qr_png(text: str) -> bytes:
    """A QR code of ``text`` as PNG bytes, large enough to read off a projector."""
    import segno

    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="png", scale=8, border=2)
    return out.getvalue()


def room_code(typed: str) -> str:
    """A room code from what a student typed or pasted: the code itself, or a whole join link."""
    typed = typed.strip()
    if "room=" in typed:
        return (parse_qs(urlsplit(typed).query).get("room") or [""])[0].strip()
    return typed
