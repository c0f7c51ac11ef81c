"""TURN proven with a real relay: a local coturn (Debian's ``coturn``), the app configured with it through
the settings (``FER_ICE_SERVERS``, ``FER_ICE_TRANSPORT_POLICY=relay``), and headless Chromium forced to
relay-only ICE. The live page and a class student stream through it, and the proof is read on both ends:
the browser's own WebRTC statistics (the selected candidate pair's local candidate is a ``relay`` one, on
the TURN server, with bytes sent) and coturn's log (allocations and permissions for the test user, relayed
bytes). With the TURN server down, the same relay-only page gets no video at all.

coturn listens on 127.0.0.1 only and relays to 127.0.0.1 only (every other peer address is denied). aiortc,
on the app's side, offers no loopback host candidate but gets its own relay candidate from the same TURN
server, so the media goes browser -> coturn -> coturn -> aiortc, all on loopback.

Skips outside CI when ``turnserver`` (or Chromium) is missing; in CI (``CI`` set) that is a failure.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from .conftest import face_clip, faceless_clip
from .test_browser import (
    _browser, _free_port, _metric, _start_flowing, _stop, _student_streams, _wait, _webrtc_button, playwright, write_y4m,
)
from .test_browser import server  # noqa: F401  (the app's fixture, started here with the TURN settings)

TURNSERVER = shutil.which("turnserver")
if not TURNSERVER and not os.environ.get("CI"):
    pytest.skip("no turnserver installed (CI installs Debian's coturn)", allow_module_level=True)

USER, PASSWORD, REALM = "fer", "relay-test-secret", "fer.test"

# Every RTCPeerConnection a page (and its iframes: streamlit-webrtc's component is one) creates is kept in
# window.__pcs, so the test can read its configuration and statistics.
KEEP_PEER_CONNECTIONS = """
(() => {
  const Native = window.RTCPeerConnection;
  if (!Native || Native.__kept) return;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    static __kept = true;
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
})();
"""

# For each peer connection: its ICE policy, state, the local candidate types it gathered, and the
# selected candidate pair (from the transport's selectedCandidatePairId).
PEER_STATS = """
async () => {
  const out = [];
  for (const pc of window.__pcs || []) {
    const stats = await pc.getStats(), byId = new Map(), gathered = [];
    stats.forEach(s => byId.set(s.id, s));
    let pair = null;
    stats.forEach(s => {
      if (s.type === "transport" && s.selectedCandidatePairId) pair = byId.get(s.selectedCandidatePairId);
      if (s.type === "local-candidate") gathered.push(s.candidateType);
    });
    const local = pair ? byId.get(pair.localCandidateId) : null;
    const remote = pair ? byId.get(pair.remoteCandidateId) : null;
    out.push({
      policy: pc.getConfiguration().iceTransportPolicy, state: pc.connectionState,
      gathering: pc.iceGatheringState, gathered,
      local: local && {type: local.candidateType, address: local.address, port: local.port, url: local.url,
                       protocol: local.relayProtocol},
      remote: remote && {type: remote.candidateType, address: remote.address, port: remote.port},
      bytesSent: pair ? pair.bytesSent : 0, bytesReceived: pair ? pair.bytesReceived : 0,
    });
  }
  return out;
}
"""


class Turn:
    """A coturn process on a free loopback port, its log in a file; stop() and start() again on the same port."""

    def __init__(self, log_path):
        self.port, self.log_path, self.proc = _free_port(), log_path, None

    @property
    def ice_server(self) -> dict:
        return {"urls": [f"turn:127.0.0.1:{self.port}?transport=udp"], "username": USER, "credential": PASSWORD}

    def start(self):
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [TURNSERVER, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={self.port}",
             "--lt-cred-mech", f"--user={USER}:{PASSWORD}", f"--realm={REALM}", "--fingerprint",
             "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers",
             "--denied-peer-ip=0.0.0.0-255.255.255.255", "--allowed-peer-ip=127.0.0.1",
             "--log-file=stdout", "--simple-log", "--verbose"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if not _wait(self.answers, timeout=30):
            self.stop()
            pytest.fail("coturn did not answer a STUN binding request:\n" + self.text())

    def answers(self) -> bool:
        """A STUN Binding request (RFC 5389) to the TURN port gets a Binding success response."""
        assert self.proc.poll() is None, "coturn exited:\n" + self.text()
        request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + os.urandom(12)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.5)
            try:
                s.sendto(request, ("127.0.0.1", self.port))
                return s.recv(2048)[:2] == b"\x01\x01"
            except OSError:
                return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def turn(tmp_path_factory):
    if not TURNSERVER:
        pytest.fail("no turnserver installed (Debian's coturn; .ci/run installs it)")
    turn = Turn(tmp_path_factory.mktemp("coturn") / "turnserver.log")
    turn.start()
    yield turn
    turn.stop()


@pytest.fixture(scope="module")
def relay_app(request, turn):
    """The app (tests/test_browser.py's server fixture) started with the TURN server as its only ICE server
    and relay-only ICE in the browser, as a deployment would set them."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FER_ICE_SERVERS", json.dumps([turn.ice_server]))
        env.setenv("FER_ICE_TRANSPORT_POLICY", "relay")
        return request.getfixturevalue("server")


def _open(p, camera, url: str):
    browser = _browser(p, camera)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.add_init_script(KEEP_PEER_CONNECTIONS)
    # The first visit's notice (app.py), where there is one, is accepted whenever it shows up.
    page.add_locator_handler(page.get_by_role("button", name="I understand, continue"), lambda button: button.click())
    page.goto(url)
    return browser, page


def _peer_stats(page) -> list[dict]:
    frame = page.locator('iframe[title*="streamlit_webrtc"]').element_handle(timeout=30_000).content_frame()
    return frame.evaluate(PEER_STATS)


def _relayed(page, turn: Turn) -> dict:
    """The page's connected peer connection, which must be relay-only and use a relay candidate on our
    TURN server with bytes sent through it; returns its statistics."""
    def connected():
        return [s for s in _peer_stats(page) if s["state"] == "connected" and s["local"] and s["bytesSent"] > 0]

    assert _wait(connected, timeout=30), _peer_stats(page)
    stats = connected()[0]
    assert stats["policy"] == "relay", stats
    assert set(stats["gathered"]) == {"relay"}, stats  # relay-only: no host or srflx candidate was even offered
    local = stats["local"]
    assert local["type"] == "relay" and local["address"] == "127.0.0.1" and local["protocol"] == "udp", stats
    assert local["url"] == f"turn:127.0.0.1:{turn.port}?transport=udp", stats
    print("selected pair:", stats)
    return stats


def _coturn_allocated(turn: Turn, since: int, stats: dict) -> None:
    """coturn's log, from offset ``since``, shows our user's allocations, and among them the relay address
    of the browser's selected pair (and the app's, its remote candidate, when that is a relay one too:
    aiortc offers no loopback host candidate, and coturn relays to nothing but loopback)."""
    def seen():
        log = turn.text()[since:]
        return all(re.search(pattern, log) for pattern in (
            rf"session \d+: realm <{re.escape(REALM)}> user <{USER}>: incoming packet ALLOCATE processed, success",
            rf"session \d+: realm <{re.escape(REALM)}> user <{USER}>: incoming packet CREATE_PERMISSION processed, success",
            r"session \d+: peer 127\.0\.0\.1(:\d+)? lifetime updated",
            rf"Local relay addr: 127\.0\.0\.1:{stats['local']['port']}\b",
        ) + ((rf"Local relay addr: 127\.0\.0\.1:{stats['remote']['port']}\b",) if stats["remote"]["type"] == "relay" else ()))
    assert _wait(seen, timeout=30), turn.text()[since:][-6000:]


def _relayed_to_peers(turn: Turn, since: int) -> int:
    """Bytes coturn relayed to peers for our user, summed over the allocations made after offset ``since``
    of its log and since ended (the "peer usage" line coturn writes then: sb = bytes sent to the peer)."""
    log = turn.text()[since:]
    new = set(re.findall(rf"session (\d+): new, realm=<{re.escape(REALM)}>, username=<{USER}>", log))
    usage = re.findall(rf"session (\d+): peer usage: realm=<{re.escape(REALM)}>, username=<{USER}>, rp=\d+, rb=\d+, "
                       r"sp=\d+, sb=(\d+)", log)
    return sum(int(sent) for session, sent in usage if session in new)


def _stop_and_count(page, turn: Turn, since: int, stats: dict) -> None:
    """STOP closes the peer connection: Chromium releases its allocation, the app's ends too, and coturn
    logs what each relayed. Everything the browser sent and received (its own count, read earlier)
    went through coturn to a peer."""
    assert _stop(page)
    browser_bytes = stats["bytesSent"] + stats["bytesReceived"]
    assert _wait(lambda: _relayed_to_peers(turn, since) >= browser_bytes, timeout=90), turn.text()[since:][-6000:]
    print(f"coturn relayed {_relayed_to_peers(turn, since)} bytes to peers; the browser had counted "
          f"{stats['bytesSent']} sent and {stats['bytesReceived']} received on the relayed pair")


def test_live_page_streams_through_the_turn_relay(relay_app, turn, tmp_path, samples):
    since = len(turn.text())
    camera = write_y4m(tmp_path / "happy.y4m", face_clip(samples / "faceapi_happy.jpg"))
    with playwright.sync_playwright() as p:
        browser, page = _open(p, camera, relay_app + "/live")
        started = time.monotonic()
        assert _start_flowing(page, lambda: _metric(page, "Faces") >= 1), "no face reached the live panel through the relay"
        print(f"first face on the panel {time.monotonic() - started:.1f} s after START, through the relay")
        assert _wait(lambda: _metric(page, "Frames/s") > 0, timeout=30)
        stats = _relayed(page, turn)
        _coturn_allocated(turn, since, stats)
        _stop_and_count(page, turn, since, stats)
        browser.close()


def test_class_student_streams_through_the_turn_relay(relay_app, turn, tmp_path, samples):
    since = len(turn.text())
    with playwright.sync_playwright() as p:
        teacher, dashboard = _open(p, write_y4m(tmp_path / "none.y4m", faceless_clip(0.5)), relay_app + "/class")
        dashboard.get_by_role("button", name="Start a class").click()
        link = dashboard.locator('code:has-text("/join?room=")')
        link.wait_for(timeout=30_000)

        camera = write_y4m(tmp_path / "student.y4m", face_clip(samples / "faceapi_happy.jpg", seconds=2.0))
        student, page = _open(p, camera, link.inner_text().strip())
        # At cbcb485 a join link (/join?room=...) opened with a "Page not found" dialog over the join page
        # (the address became /?room=...: in the student-only navigation join is the default page);
        # tests/test_browser.py's class test failed on it. Here it is closed, as a student would close it.
        not_found = page.get_by_role("dialog").filter(has_text="Page not found")
        page.add_locator_handler(not_found, lambda dialog: dialog.get_by_role("button").first.click())
        page.get_by_text("I agree").click()
        assert _student_streams(page), "no frame of the student reached the app through the relay"
        stats = _relayed(page, turn)
        _coturn_allocated(turn, since, stats)
        streaming = lambda: _metric(dashboard, "Students streaming now")  # noqa: E731
        assert _wait(lambda: streaming() == 1, timeout=60), f"{streaming():g} students shown, 1 streaming"
        _stop_and_count(page, turn, since, stats)
        student.close()
        dashboard.get_by_role("button", name="End the class").click()
        dashboard.get_by_text("Class report").wait_for(timeout=30_000)
        teacher.close()


def test_relay_only_without_the_turn_server_gets_no_video(relay_app, turn, tmp_path, samples):
    """The checks above can fail: with the TURN server down, relay-only ICE has no candidate at all and
    no frame reaches the app (then the TURN server is started again on the same port)."""
    camera = write_y4m(tmp_path / "happy.y4m", face_clip(samples / "faceapi_happy.jpg"))
    turn.stop()
    try:
        with playwright.sync_playwright() as p:
            browser, page = _open(p, camera, relay_app + "/live")
            _webrtc_button(page, "START").click(timeout=60_000)
            assert _wait(lambda: _peer_stats(page), timeout=30), "START made no peer connection"
            # Through the relay, the first face reached the panel within seconds of START (printed by the
            # live test above); here nothing may connect for a good while longer.
            for _ in range(20):
                time.sleep(1)
                stats = _peer_stats(page)
                assert all(s["gathered"] == [] and s["local"] is None and s["state"] != "connected" for s in stats), stats
                assert _metric(page, "Frames/s") == 0 and _metric(page, "Faces") == 0
            print("20 s after START without the TURN server:", stats)
            browser.close()
    finally:
        turn.start()
