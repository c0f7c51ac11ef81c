"""What an anonymous visitor's uploads cost the app server: start the app, open it in headless Chromium as a
visitor does, take the browser's own Streamlit session id and XSRF token from one small photo upload, then
PUT large bodies straight to Streamlit's upload endpoint (``/_stcore/upload_file/<session>/<file id>``,
multipart, the way the frontend sends a file, each to a new file id), as an attacker would, bypassing the
browser-side limit of each uploader. Reads the server's resident memory (VmRSS) before, after each upload,
after the browser left, and after the disconnected session's time to live has passed.

Usage: .venv/bin/python tools/upload_abuse.py [--mb 100 100 100 480] [--wait 150] [--script serve.py]
    [--flag=--server.maxUploadSize=500 ...]
(needs Debian's chromium + playwright). Prints one line per reading. ``--script app.py
--flag=--server.maxUploadSize=500`` is the server as it was before the upload limits (SECURITY.md).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from tests.test_browser import _browser, _free_port, _goto  # noqa: E402

CHUNK = 1 << 20



def start_server(env: dict, script: str = "serve.py", flags: tuple[str, ...] = ()):
    """``streamlit run <script>`` on a free port (serve.py: as deployed); (its URL, the process) once it answers."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, f"--server.port={port}", "--server.headless=true",
         "--server.fileWatcherType=none", "--browser.gatherUsageStats=false", *flags],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    url = f"http://localhost:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            return url, proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("streamlit did not start: " + proc.stdout.read())


def stop_server(proc: subprocess.Popen) -> str:
    """Stop a server from :func:`start_server`; its log."""
    proc.terminate()
    return proc.communicate(timeout=20)[0]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class Visitor:
    """A browser on a page of the app. On the photo page (the default), also what an upload needs: the tab's
    session id and XSRF token, taken from one small photo upload, which the page then analyses."""

    def __init__(self, p, url: str, work: Path, page: str = ""):
        self.url = url
        self.browser = _browser(p, work / "no-camera.y4m")  # the camera is never opened
        self.page = self.browser.new_page(viewport={"width": 1400, "height": 1000})
        _goto(self.page, url + page)
        if page:
            return
        photo = work / "grey.png"
        Image.new("L", (64, 64), 128).save(photo)  # a small photo without a face
        with self.page.expect_request(lambda r: "/_stcore/upload_file/" in r.url and r.method == "PUT") as put:
            self.page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(photo))
        self.session_id = put.value.url.split("/_stcore/upload_file/", 1)[1].split("/")[0]
        self.xsrf = put.value.headers.get("x-xsrftoken", "")
        self.cookie = "; ".join(f"{c['name']}={c['value']}" for c in self.browser.contexts[0].cookies())
        self.page.get_by_text("No face found").wait_for(timeout=60_000)  # the page ran: the model is loaded

    def close(self) -> None:
        self.browser.close()


def abusive_videos(directory: Path) -> dict[str, tuple[Path, str]]:
    """Small videos that would cost a server much to decode, and the refusal the class page must give each:
    one 16000x16000 frame (768 MB of YUV once decoded, in a file under 1 MB), and 64x64 frames whose header
    says 10 hours."""
    import av

    def write(path: Path, side: int, seconds: list[int]) -> Path:
        with av.open(str(path), "w") as out:
            stream = out.add_stream("libx264", rate=1, options={"preset": "ultrafast"})
            stream.width = stream.height = side
            stream.pix_fmt, stream.time_base = "yuv420p", Fraction(1, 1)
            frame = av.VideoFrame(side, side, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            for t in seconds:
                frame.pts = t
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        return path

    return {
        "pixels": (write(directory / "huge_frames.mp4", 16000, [0]), "its frames are 16000x16000; the limit is 8.3 megapixels"),
        "duration": (write(directory / "ten_hours.mp4", 64, [0, 36000]), "the limit is 90 min"),
    }


def _read_response(sock: socket.socket, buffer: bytes = b"") -> tuple[int, str, bytes]:
    """(status, body, what was read beyond it) of one HTTP/1.1 response on ``sock``."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed before a response: {buffer[:200]!r}")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", 0))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, rest[:length].decode("utf-8", "replace"), rest[length:]


def put_upload(url: str, visitor: Visitor, size: int, chunked: bool = False, name: str = "big.mp4") -> tuple[int, str]:
    """PUT a file of ``size`` bytes to a fresh file id of the visitor's session, as multipart form data: the
    (HTTP status, response text). The headers go first with ``Expect: 100-continue``, and the body (streamed,
    1 MB at a time) only if the server asks for it, so a refusal made before the body is read is read back
    intact. ``chunked``: no Content-Length, the body in chunks."""
    boundary = uuid.uuid4().hex
    part = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    host = url.split("//", 1)[1]
    headers = [
        f"PUT /_stcore/upload_file/{visitor.session_id}/{uuid.uuid4()} HTTP/1.1", f"Host: {host}",
        f"Content-Type: multipart/form-data; boundary={boundary}", f"X-Xsrftoken: {visitor.xsrf}",
        f"Cookie: {visitor.cookie}", "Expect: 100-continue", "Connection: close",
        "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(part) + size + len(tail)}",
    ]
    hostname, port = host.rsplit(":", 1)
    with socket.create_connection((hostname, int(port)), timeout=120) as sock:
        sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        status, text, rest = _read_response(sock)
        if status != 100:
            return status, text

        def send(data: bytes) -> None:
            sock.sendall(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)

        send(part)
        left, block = size, bytes(CHUNK)
        try:
            while left > 0:
                send(block[: min(left, CHUNK)])
                left -= CHUNK
            send(tail)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused while the body arrived: the response is waiting
        status, text, _ = _read_response(sock, rest)
        return status, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, nargs="+", default=[100, 100, 100, 480], help="sizes of the uploads, MB")
    parser.add_argument("--chunked", action="store_true", help="send without Content-Length")
    parser.add_argument("--wait", type=float, default=150, help="seconds to read the memory after the browser left")
    parser.add_argument("--script", default="serve.py", help="what streamlit runs: serve.py (deployed) or app.py (no budget)")
    parser.add_argument("--flag", action="append", default=[], help="a streamlit flag, e.g. --flag=--server.maxUploadSize=500")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        env = dict(os.environ, FER_DATABASE_URL=f"sqlite:///{work / 'c.db'}", TMPDIR=str(work))
        url, proc = start_server(env, args.script, tuple(args.flag))
        try:
            def show(what: str) -> None:
                print(f"{time.strftime('%H:%M:%S')} {what:60s} rss {rss_mb(proc.pid):7.1f} MB", flush=True)

            with sync_playwright() as p:
                visitor = Visitor(p, url, work)
                time.sleep(2)
                show("photo page open, one small photo analysed")
                for mb in args.mb:
                    status, text = put_upload(url, visitor, mb * 2**20, chunked=args.chunked)
                    show(f"PUT {mb} MB{' chunked' if args.chunked else ''}: HTTP {status} {text[:30]}")
                visitor.close()
                start = time.monotonic()
                while (elapsed := time.monotonic() - start) < args.wait:
                    time.sleep(min(30, args.wait - elapsed))
                    show(f"browser closed {time.monotonic() - start:.0f} s ago")
                # A second visitor comes and goes: a write to Streamlit's store of disconnected sessions,
                # which is when its expired entries are dropped.
                other = Visitor(p, url, work)
                other.close()
                time.sleep(5)
                show("a second visitor came and left")
        finally:
            print(stop_server(proc)[-1500:])


if __name__ == "__main__":
    main()
