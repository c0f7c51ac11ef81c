"""Server-side limits on uploads, which Streamlit enforces only in part.

Streamlit keeps every uploaded file in the server's memory, per browser session, until the session ends, and
its upload endpoint (``PUT /_stcore/upload_file/<session>/<file id>``) accepts any file id: the only limit it
enforces is ``server.maxUploadSize`` per request (``st.file_uploader(max_upload_size=...)`` is checked by the
browser alone). One visitor could therefore pin any amount of memory with repeated uploads (SECURITY.md,
"Limits that protect the server"). Here:

- :class:`UploadBudget`, an ASGI middleware that ``serve.py`` puts in front of Streamlit: an upload must
  declare its size (Content-Length), and is refused with HTTP 413 and a one-line reason before its body is
  read when it is over ``max_file`` bytes (Streamlit's own limit, said clearly), or would take its
  visitor's uploads past ``per_visitor`` bytes, or all visitors' uploads past ``total`` bytes (held by
  Streamlit, or still arriving).
- :class:`DepartedUploads`: releases the uploads of a session whose browser left, once Streamlit would no
  longer resume it.
- :func:`too_large`: a page's own limit (a screenshot, a video), checked from the upload's size before the
  page reads it.
- :func:`show_refusal`: the reason for the budget's last refusal, on the visitor's page (Streamlit's uploader
  shows only "Request failed with status code 413").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from starlette.exceptions import HTTPException

_LOGGER = logging.getLogger(__name__)
MB = 2**20
UPLOAD_ROUTE = "/_stcore/upload_file/"
# A multipart body is larger than the file it carries (boundaries, part headers): Streamlit allows 1 MB for
# this beyond server.maxUploadSize, and so does the budget, once per upload.
FRAMING = MB
# The last refusal per session id, for its page to show; the oldest are forgotten beyond KEPT_REFUSALS.
REFUSALS: dict[str, str] = {}
KEPT_REFUSALS = 1000


def _streamlit_uploads():
    """Streamlit's upload store and the runtime, or (None, None) outside a running server."""
    from streamlit import runtime

    if not runtime.exists():
        return None, None
    rt = runtime.get_instance()
    return rt.uploaded_file_mgr, rt


class UploadBudget:
    """ASGI middleware: bounds the bytes of uploads the server holds, per visitor and in all."""

    def __init__(self, app, max_file: int, per_visitor: int, total: int, uploads: Callable | None = None):
        self.app, self.max_file, self.per_visitor, self.total = app, max_file, per_visitor, total
        self._uploads = uploads or _streamlit_uploads
        self._arriving: dict[str, int] = {}  # session id -> bytes declared by its uploads in progress

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "PUT" or UPLOAD_ROUTE not in scope["path"]:
            await self.app(scope, receive, send)
            return
        session = scope["path"].split(UPLOAD_ROUTE, 1)[1].split("/", 1)[0]
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"")
        # Browsers send a file with its length; with Transfer-Encoding the body could run past it.
        if not length.isdigit() or b"transfer-encoding" in headers:
            await _refuse(send, 411, "An upload must declare its size (Content-Length), and be sent in one piece.")
            return
        size = int(length)
        reason = self.refusal(session, size)
        if reason:
            REFUSALS.pop(session, None)
            REFUSALS[session] = reason
            while len(REFUSALS) > KEPT_REFUSALS:
                del REFUSALS[next(iter(REFUSALS))]
            await _refuse(send, 413, reason)
            return
        received = 0

        async def counted():  # a body longer than declared is cut off, as Streamlit cuts one over its limit
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > size:
                raise HTTPException(status_code=413, detail="Upload refused: its body is longer than it declared.")
            return message

        self._arriving[session] = self._arriving.get(session, 0) + size
        try:
            await self.app(scope, counted, send)
        finally:
            left = self._arriving[session] - size
            if left:
                self._arriving[session] = left
            else:
                del self._arriving[session]

    def held(self) -> dict[str, int]:
        """Bytes per session: held by Streamlit's upload store, plus those arriving."""
        store, _ = self._uploads()
        files = getattr(store, "file_storage", {})  # MemoryUploadedFileManager: session id -> file id -> record
        held = {sid: sum(len(f.data) for f in list(recs.values())) for sid, recs in list(files.items())}
        for sid, size in self._arriving.items():
            held[sid] = held.get(sid, 0) + size
        return held

    def refusal(self, session: str, size: int) -> str | None:
        """Why an upload whose body is ``size`` bytes to ``session`` is refused, or None."""
        if size > self.max_file + FRAMING:
            return f"Upload refused: it is {size / MB:.0f} MB; the largest file this server accepts is {self.max_file / MB:.0f} MB."
        held = self.held()
        mine = held.get(session, 0)
        if mine + size > self.per_visitor + FRAMING:
            return (
                f"Upload refused: it would take the uploads of this browser tab to {(mine + size) / MB:.0f} MB, "
                f"over the {self.per_visitor / MB:.0f} MB one visitor may hold on the server. Remove files you no "
                "longer need (x), or reload the page."
            )
        if sum(held.values()) + size > self.total:
            return (
                f"Upload refused: the server holds {sum(held.values()) / MB:.0f} MB of uploads right now, and "
                f"{self.total / MB:.0f} MB at most. Please try again in a few minutes."
            )
        return None


class DepartedUploads:
    """Releases the uploads of sessions whose browser left more than ``after`` seconds ago (Streamlit's
    ``server.disconnectedSessionTTL``, after which it no longer resumes them). Streamlit itself keeps them
    until the session object is reaped, which on a quiet server waits for another visitor to leave: minutes,
    or never. ``serve.py`` calls :meth:`sweep` every few seconds."""

    def __init__(self, after: float, uploads: Callable | None = None, clock: Callable[[], float] = time.monotonic):
        self.after, self._uploads, self._clock = after, uploads or _streamlit_uploads, clock
        self._left_at: dict[str, float] = {}  # session id -> when it was first seen without a browser

    def sweep(self) -> int:
        """Release what is due; the bytes released."""
        store, rt = self._uploads()
        if store is None or rt is None:
            return 0
        now, released = self._clock(), 0
        files = getattr(store, "file_storage", {})
        for sid in list(files):
            if rt.is_active_session(sid):
                self._left_at.pop(sid, None)
            elif now - self._left_at.setdefault(sid, now) >= self.after:
                released += sum(len(f.data) for f in list(files.get(sid, {}).values()))
                store.remove_session_files(sid)
                del self._left_at[sid]
        for sid in [sid for sid in self._left_at if sid not in files]:
            del self._left_at[sid]
        return released

    async def run(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                self.sweep()
            except Exception:  # a sweep that failed is tried again; the server goes on
                _LOGGER.exception("releasing departed visitors' uploads failed")


async def _refuse(send, status: int, reason: str) -> None:
    body = reason.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def too_large(upload, limit_mb: float, what: str) -> str | None:
    """A page's own limit for one upload, from its size alone (the browser's check can be bypassed): why it
    is refused, or None. A refused upload is never read; it stays in the visitor's budget until removed."""
    if upload.size <= limit_mb * MB:
        return None
    from fer.batch import safe_name

    return f"Cannot use {safe_name(upload.name)}: it is {upload.size / MB:.1f} MB; the limit is {limit_mb:g} MB for a {what}."


def show_refusal() -> None:
    """On a page with an uploader: why the server refused this visitor's last upload, once, if it did."""
    import streamlit as st
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    reason = REFUSALS.pop(ctx.session_id, None) if ctx is not None else None
    if reason:
        st.warning(reason)
