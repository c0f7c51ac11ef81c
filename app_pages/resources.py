"""What the pages share, created once per server process: the settings, the analyzer, the store."""

import io
import ipaddress
import os
import sys
import threading
import time
import uuid
import weakref
from urllib.parse import parse_qs, urlsplit

import streamlit as st

from fer.bench import cpu_flags
from fer.pipeline import Analyzer
from fer.settings import Settings
from fer.store import RoomNotFound, Store, normal_short_code

COOKIES = "cookies_to_set"  # session state: the cookies write_cookies sets at the end of this run


@st.cache_resource
def settings() -> Settings:
    """Read once: FER_* environment variables (e.g. on Heroku or in a container), then Streamlit secrets
    (secrets.toml, e.g. on Streamlit Community Cloud), then the defaults (README, "Settings")."""
    try:
        secrets = {k: st.secrets[k] for k in st.secrets}
    except FileNotFoundError:  # no secrets.toml at all
        secrets = {}
    return Settings.from_env(os.environ, secrets)


def set_cookie(name: str, value: str, max_age_s: float) -> None:
    """A cookie in the visitor's own browser, sent to this server alone (SameSite=Strict, Secure over
    HTTPS); the server reads it from ``st.context.cookies`` when the browser next connects (a reload, a new
    tab). Queued: `write_cookies` sets it at the top of the next page run, so call this before a rerun
    (in a widget's callback, or before ``st.rerun()``)."""
    st.session_state.setdefault(COOKIES, {})[name] = (value, max_age_s)


def write_cookies() -> None:
    """The first element of every page (app.py): a slot that sets the queued cookies, each by a script in
    an invisible component. The slot is always there, so the component, there for one run, shifts none of
    the page's own elements: a shifted tab bar reopens its first tab (an upload in the class page's second
    tab then showed its answer in a hidden tab)."""
    import json

    import streamlit.components.v1 as components

    slot, queued = st.empty(), st.session_state.pop(COOKIES, {})
    if queued:
        with slot.container():
            for name, (value, max_age_s) in queued.items():
                cookie = json.dumps(f"{name}={value}; path=/; max-age={int(max_age_s)}; SameSite=Strict")
                script = f"document.cookie = {cookie} + (location.protocol === 'https:' ? '; Secure' : '');"
                components.html(f"<script>{script}</script>", height=0)


def mode_toggle(key: str) -> str:
    """The classifier mode for an upload: "fast" or "accurate" (more views of each face)."""
    accurate = st.toggle(
        "Accurate mode",
        key=key,
        value=settings().mode == "accurate",
        help="Averages two networks over ten views of each face, shifted by two pixels each way and mirrored "
        "(72.5% instead of 70.5% on FER2013 PublicTest), at about ten times the classifier's cost. "
        "The live camera always uses the fast mode.",
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
    """A class code from what a student typed or pasted: the short join code shown by the teacher
    ("ABC-DEF"), a whole join link, or the class code itself."""
    typed = typed.strip()
    if "room=" in typed:
        return (parse_qs(urlsplit(typed).query).get("room") or [""])[0].strip()
    if normal_short_code(typed):
        try:
            return store().code_for(typed)
        except RoomNotFound:
            return typed
    return typed


# A stream's weight, and the server's limits, in class students: (memory, CPU).
STUDENT = (1, 1)


def live_viewer_weight() -> tuple[int, int]:
    """A live viewer sends 640x480 at up to 30 frames/s, every frame analysed (docs/sizing.md). Memory: each
    added 42-116 MB to the server (more when it was short of CPU and frames queued) against 22 MB per class
    student: 5 students. CPU: 0.39-0.47 cores where the CPU has AVX-512 against a student's 0.036 (13), and
    0.785 on an AVX2-only CPU against 0.045 (18)."""
    return (5, 13 if _avx512() else 18)


class StreamSlots:
    """The streams (live viewers and class students) this server process runs now, within ``stream_limit()``
    on each of its two budgets, memory and CPU (``STUDENT``, ``live_viewer_weight()``). A slot is taken
    when a browser presses START, before the server makes its WebRTC peer, and given back when the page sees
    the stream stopped, when the stream's video ends (a page closed mid-stream), or when its peer connection
    is found closed or failed. The first stream is always let in, whatever its weight."""

    UNCONNECTED_S = 60.0  # a slot whose peer was never made is given back after this long

    def __init__(self):
        self._lock = threading.Lock()
        # token -> [taken at (monotonic), weak reference to its WebRTC worker, weight]
        self._held: dict[str, list] = {}

    def take(self, token: str, limit: tuple[int, int], weight: tuple[int, int] = STUDENT) -> bool:
        with self._lock:
            self._prune()
            if token not in self._held:
                if not self._room(limit, weight):
                    return False
                self._held[token] = [time.monotonic(), None, weight]
            return True

    def room(self, limit: tuple[int, int], weight: tuple[int, int] = STUDENT) -> bool:
        """Whether a stream of this weight would be let in now."""
        with self._lock:
            self._prune()
            return self._room(limit, weight)

    def _room(self, limit: tuple[int, int], weight: tuple[int, int]) -> bool:
        if not self._held:
            return True
        used = [sum(held[2][i] for held in self._held.values()) for i in range(2)]
        return all(u + w <= most for u, w, most in zip(used, weight, limit))

    def attach(self, token: str, worker) -> None:
        """The stream's WebRTC worker (held weakly): the slot is free again once its connection is gone."""
        with self._lock:
            if token in self._held and worker is not None:
                self._held[token][1] = weakref.ref(worker)

    def release(self, token: str | None) -> None:
        with self._lock:
            self._held.pop(token, None)

    def active(self) -> int:
        with self._lock:
            self._prune()
            return len(self._held)

    def _prune(self) -> None:
        now = time.monotonic()
        for token, (since, ref, _) in list(self._held.items()):
            if ref is None:
                gone = now - since > self.UNCONNECTED_S
            else:
                worker = ref()
                gone = worker is None or getattr(getattr(worker, "pc", None), "connectionState", None) in ("closed", "failed")
            if gone:
                del self._held[token]


@st.cache_resource
def stream_slots() -> StreamSlots:
    return StreamSlots()


class Admission:
    """This page's place among the server's streams, for one ``webrtc_streamer``: pass ``on_ended()`` as its
    ``on_video_ended`` and call ``started(ctx)`` with what it returns."""

    def __init__(self, slots: StreamSlots, token: str | None):
        self.slots, self.token = slots, token

    def on_ended(self, then=None):
        """A callback for the video thread: gives this stream's slot back, then calls ``then``."""
        slots, token = self.slots, self.token

        def ended() -> None:
            slots.release(token)
            if then is not None:
                then()

        return ended

    def started(self, ctx) -> None:
        if self.token is None:
            return
        if ctx.state.playing or ctx.state.signalling:
            self.slots.attach(self.token, ctx._get_worker())  # streamlit-webrtc keeps the worker private
        else:
            self.slots.release(self.token)


def host_memory_mb() -> float:
    """The memory this process may use: its container's limit (cgroup v2), else the machine's."""
    try:
        limit = open("/sys/fs/cgroup/memory.max").read().strip()
        if limit != "max":
            return int(limit) / 2**20
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as info:
            return int(next(line for line in info if line.startswith("MemTotal")).split()[1]) / 1024
    except (OSError, StopIteration, ValueError):
        return 512.0  # unknown: as if the smallest host


def _avx512() -> bool:
    return "AVX-512" in cpu_flags()


def students_per_core() -> int:
    """Class students one core carries at one analysis a second: 90% of it over one student's CPU as
    measured with real browsers (docs/sizing.md): 0.036 cores where the CPU has AVX-512, 0.045 on an
    AVX2-only one, which runs the networks 4-5 times slower."""
    return 25 if _avx512() else 20


def stream_limit() -> tuple[int, int]:
    """The server's two budgets, in class students: (memory, CPU). FER_MAX_STREAMS sets the first and lifts
    the second; with 0, the host's: the students that fit its memory (measured: a server at rest ~300 MB,
    ~22 MB more per student, docs/sizing.md) and its cores (``students_per_core``)."""
    if settings().max_streams:
        return (settings().max_streams, sys.maxsize)
    by_memory = int((0.9 * host_memory_mb() - 300) / 22) + 1
    return (max(1, by_memory), students_per_core() * (os.cpu_count() or 1))


def stream_admission(key: str, weight: tuple[int, int] = STUDENT) -> Admission:
    """Call right before ``webrtc_streamer(key=key, ...)``, with the stream's weight (a live viewer:
    ``live_viewer_weight()``). When the server's streams leave no room for it (``stream_limit()``) and
    this page holds none of them, it says so and stops the page there: the streamer (START, the camera) is
    not shown, or, if START was just pressed, not started."""
    slots, limit = stream_slots(), stream_limit()
    # One token per page and stream, recorded before any slot is taken under it: a run cut short by the next
    # rerun right after `take` (the START click's reruns overlap on a busy server) leaves a slot the next run
    # finds as its own, where a token made afresh each START was refused by its own orphan (full, 1 stream).
    token = st.session_state.setdefault(f"stream_slot_{key}", f"{key}:{uuid.uuid4().hex}")
    # streamlit-webrtc keeps its context under the key; its state is what the browser last said (START
    # pressed: signalling, then playing), set by the component's callback before this run.
    state = getattr(st.session_state.get(key), "state", None)
    wants = bool(state and (state.playing or state.signalling))
    if wants:
        if slots.take(token, limit, weight):  # a no-op while it holds the slot; again after its peer failed
            return Admission(slots, token)
    else:
        slots.release(token)
        if slots.room(limit, weight):
            return Admission(slots, None)
    active = slots.active()
    st.session_state.pop(key, None)  # forget the refused START: the next run starts from a fresh streamer
    st.error(f"This server is full right now ({active} stream{'' if active == 1 else 's'}); try again in a few minutes.")
    st.button("Try again")
    st.stop()


CAMERA_HELP = (
    "No picture after START? Allow the camera for this site (the camera icon in the address bar, or the "
    "browser's site settings), close other apps that use the camera (video calls), then press START again."
)


def _local_host(host: str | None) -> bool:
    """This computer or a private network: WebRTC connects directly there, without a relay."""
    if not host:
        return True
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith((".localhost", ".local")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: a hosted deployment
    return address.is_loopback or address.is_private or address.is_link_local


def connection_help() -> None:
    """Beside START: what to do when the browser blocks the camera (the server never hears of it), and, on
    a hosted deployment without a TURN server, that connections from outside its network may fail."""
    st.caption(CAMERA_HELP)
    if not settings().ice_servers and not _local_host(urlsplit(st.context.url or "").hostname):
        st.caption(
            ":warning: No relay (TURN) server is configured for this deployment: from outside the server's "
            "own network (at home, behind a router or a firewall) the video may never connect. The deployer "
            "must set FER_ICE_SERVERS (README, Deploy)."
        )


NO_VIDEO_S = 15.0  # after START, how long a stream may go without a frame before the page says so


def no_video_notice(key: str, playing: bool, frames: int) -> None:
    """While a stream plays: when no frame has reached the server ``NO_VIDEO_S`` seconds after START, say so
    and what to do. The browser reads "connected" as soon as its peer connection is up, but the video can
    still never arrive (a network that blocks it; once in CI, a relayed connection that carried no frame for
    a minute). ``frames`` counts the frames the stream's processor has received; its value at START is kept
    in the session state under ``key``."""
    if not playing:
        st.session_state.pop(key, None)
        return
    started, at_start = st.session_state.setdefault(key, (time.monotonic(), frames))
    if frames == at_start and time.monotonic() - started > NO_VIDEO_S:
        st.warning(
            f"No video has reached the server {NO_VIDEO_S:g} s after START. Press STOP, then START again. If it "
            "keeps happening, the network between this browser and the server is blocking the video (a school "
            "or company firewall, a VPN): try another network."
        )
