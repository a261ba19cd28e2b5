"""Probes for the browser leak and bound tests: what the Chromium process tree really did.

- `SyscallRecorder`: Chromium is started through a wrapper that runs it under
  `strace -f` (socket/connect/sendto/sendmsg/sendmmsg of every process and thread of the tree).
  From that log: every inet destination it connected or sent to, every path of a local
  resolver daemon it connected to, and every DNS question name it sent (decoded from the
  payload of sends to port 53). Any host-name resolution on this machine needs one of
  those (glibc's stub resolver and Chromium's own both send to the nameserver; nscd,
  systemd-resolved and avahi are unix sockets), so this is the machine's DNS view.
- `UdpCanary`: a UDP listener on 127.0.0.1 that records every datagram it gets.
- `HostilePages`: a loopback site (any Host header) serving the pages a hostile market
  would: WebRTC/STUN, a hidden-service image, a 50 MB page, a gzip bomb.
- `PeakMemory`: the peak summed VmRSS of the Chromium processes under this process.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.crawler.net_servers import LoopThread

STRACE = shutil.which("strace")
RESOLVER_SOCKETS = ("nscd", "resolve", "avahi")  # unix sockets of name-resolving daemons
_SOCKET = re.compile(r"^(\d+)\s+socket\(AF_INET6?, SOCK_(\w+?)[|,].*?\)\s+=\s+(\d+)")
_GLUED = re.compile(r"(\d+) (?:socket|connect|sendto|sendmsg|sendmmsg)\(")
_PID = re.compile(r"^(\d+) ", re.M)
# with -yy strace writes each socket fd as 20<UDPv6:[[local]:port->[peer]:port]>, 20<UDP:[inode]>
# (not connected) or 20<UNIX-STREAM:[...]>: what the fd is at the time of the call
_LINE = re.compile(r"^(\d+)\s+(connect|sendto|sendmsg|sendmmsg)\((\d+)(?:<(.*?)>)?,")  # lazy: a peer "a->b" holds a ">"
_UDP_PEER = re.compile(r"^UDP(?:v6)?:\[.*->\[?([^\]]*?)\]?:(\d+)\]$")
_INET = re.compile(r'sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]*)"\)'
                   r'|sa_family=AF_INET6, sin6_port=htons\((\d+)\),[^}]*?inet_pton\(AF_INET6, "([^"]*)"')
_UNIX = re.compile(r'sa_family=AF_UNIX, sun_path=@?"((?:\\x[0-9a-f]{2})+)"')
_HEX_STRING = re.compile(r'"((?:\\x[0-9a-f]{2})+)"')


def _unhex(text: str) -> bytes:
    return bytes(int(h, 16) for h in text.split("\\x")[1:])


def _unglue(text: str) -> list[str]:
    """strace sometimes cuts a long line of one thread (even inside an escape) and goes
    on with another thread's line on the same line: split there, at a known thread id."""
    known = set(_PID.findall(text))
    lines = []
    for line in text.splitlines():
        start, own = 0, _PID.match(line)
        for match in _GLUED.finditer(line, own.end() if own else 1):
            digits = match[1]
            for cut in range(len(digits)):
                if digits[cut:] in known and match.start() + cut > start:
                    lines.append(line[start:match.start() + cut])
                    start = match.start() + cut
                    break
        lines.append(line[start:])
    return lines


_UNFINISHED = re.compile(r"^(\d+)\s+(\w+\(.*?)\s*<unfinished \.\.\.>$")
_RESUMED = re.compile(r"^(\d+)\s+<\.\.\. \w+ resumed>(.*)$")


def _join_resumed(lines: list[str]) -> list[str]:
    """strace writes a call another thread interrupts in two lines, `tid sendmmsg(fd,
    <unfinished ...>` and later `tid <... sendmmsg resumed>[{...payload...}], 2, ...) = 2`; a
    sendmmsg's payload comes only in the second (seen in CI: the onion name's DNS question was
    not read); a socket()'s fd comes only in the second.  Such a call is put back on one line,
    where it started (a thread has one call open at a time)."""
    out: list[str] = []
    started: dict[str, int] = {}  # thread id -> the index of its unfinished call in `out`
    for line in lines:
        unfinished, resumed = _UNFINISHED.match(line), _RESUMED.match(line)
        if unfinished:
            started[unfinished[1]] = len(out)
            out.append(f"{unfinished[1]} {unfinished[2]}")
        elif resumed and resumed[1] in started:
            out[started.pop(resumed[1])] += resumed[2]
        else:
            out.append(line)
    return out


def dns_question(payload: bytes) -> str | None:
    """The QNAME of a DNS query packet, or None when it is not one."""
    if len(payload) < 17:
        return None
    labels, at = [], 12
    while at < len(payload) and payload[at]:
        length = payload[at]
        if length > 63 or at + 1 + length > len(payload):
            return None
        labels.append(payload[at + 1:at + 1 + length].decode("latin-1"))
        at += 1 + length
    return ".".join(labels) or None


@dataclass(frozen=True)
class SocketEvent:
    pid: int
    call: str
    family: str  # "inet" or "unix"
    host: str
    port: int


@dataclass
class SyscallLog:
    events: list[SocketEvent]
    dns_names: list[str]

    def inet(self) -> set[tuple[str, int]]:
        return {(e.host, e.port) for e in self.events if e.family == "inet"}

    def leaks(self, proxy_port: int | None) -> list[str]:
        """Everything that is not a connection to the proxy: inet destinations, local
        resolver sockets, DNS questions."""
        found = [f"{e.call} {e.host}:{e.port}" for e in self.events if e.family == "inet"
                 and (e.host, e.port) != ("127.0.0.1", proxy_port)]
        found += [f"{e.call} unix:{e.host}" for e in self.events
                  if e.family == "unix" and any(s in e.host for s in RESOLVER_SOCKETS)]
        found += [f"dns {name}" for name in self.dns_names]
        return found


class SyscallRecorder:
    """A Chromium executable that runs the real one under strace, and its log."""

    def __init__(self, tmp: Path, chromium: str) -> None:
        if not STRACE:
            raise RuntimeError("strace is not installed")
        self.log = tmp / "chromium-strace.log"
        self.executable = tmp / "chromium-under-strace"
        self.executable.write_text(
            "#!/bin/sh\n"
            f'exec "{STRACE}" -f -qq --seccomp-bpf -e signal=none -xx -yy -s 512 '
            "-e trace=socket,connect,sendto,sendmsg,sendmmsg "
            f'-o "{self.log}" "{chromium}" "$@"\n')
        self.executable.chmod(0o755)

    def read(self) -> SyscallLog:
        """A UDP connect() sends nothing (Chromium does them to learn its route to e.g.
        2001:4860:4860::8888), so for UDP only the datagrams count: a send on a
        connected socket is a send to the address it was connected to.  strace's fd
        annotation (-yy) says what the fd is when it is used: once Chromium has closed its
        probe socket the number comes back as a Mojo socketpair (received over IPC, a call
        not traced here), whose sends must not count as datagrams to the probe's address.
        Where the annotation has no peer (a socket in another network namespace) the
        connect() seen on that thread and fd gives it."""
        events: list[SocketEvent] = []
        names: list[str] = []
        udp: set[tuple[int, int]] = set()
        peer: dict[tuple[int, int], tuple[str, int]] = {}
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        for line in _join_resumed(_unglue(text)):
            created = _SOCKET.match(line)
            if created:
                key = (int(created[1]), int(created[3]))
                (udp.add if created[2] == "DGRAM" else udp.discard)(key)
                peer.pop(key, None)
                continue
            match = _LINE.match(line)
            if not match:
                continue
            pid, call, key, what = int(match[1]), match[2], (int(match[1]), int(match[3])), match[4] or ""
            targets = [(_unhex(m[2] if m[1] else m[4]).decode("latin-1"), int(m[1] or m[3]))
                       for m in _INET.finditer(line)]
            if call == "connect" and targets and key in udp:
                peer[key] = targets[0]
                continue
            if call != "connect" and not targets:
                connected = _UDP_PEER.match(what)
                if connected:
                    targets = [(connected[1], int(connected[2]))]
                elif key in peer and key in udp and (not what or what.startswith("UDP")):
                    targets = [peer[key]]
            events += [SocketEvent(pid, call, "inet", host, port) for host, port in targets]
            for unix in _UNIX.finditer(line):
                events.append(SocketEvent(pid, call, "unix", _unhex(unix[1]).decode("latin-1"), 0))
            if call != "connect" and any(port == 53 for _, port in targets):
                for blob in _HEX_STRING.findall(line):
                    name = dns_question(_unhex(blob))
                    if name:
                        names.append(name)
        return SyscallLog(events, names)


class UdpCanary:
    """Records every datagram sent to 127.0.0.1:<port> until closed."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = int(self.sock.getsockname()[1])
        self.received: list[tuple[tuple[str, int], bytes]] = []
        self._open = True
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while self._open:
            try:
                data, peer = self.sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            self.received.append((peer, data))

    def close(self) -> None:
        self._open = False
        self._thread.join(2)
        self.sock.close()

    def __enter__(self) -> UdpCanary:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


class TcpCanary:
    """Records every connection accepted on 127.0.0.1:<port> until closed."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = int(self.sock.getsockname()[1])
        self.accepted: list[tuple[str, int]] = []
        self._open = True
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while self._open:
            try:
                conn, peer = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted.append(peer)
            conn.close()

    def __enter__(self) -> TcpCanary:
        return self

    def __exit__(self, *_: Any) -> None:
        self._open = False
        self._thread.join(2)
        self.sock.close()


def stun_page(port: int, onion: str, tcp_port: int = 0) -> str:
    """A page that tries WebRTC to a STUN server on 127.0.0.1:port, loads an image from a
    hidden service (and one from 127.0.0.1:tcp_port), and reports what it could do in
    <h2> elements."""
    local = f'<img src="http://127.0.0.1:{tcp_port}/canary.png">' if tcp_port else ""
    return f"""<html><body><h1>shop</h1><img src="http://{onion}/pixel.png">{local}
<div id="out"></div><script>
function say(text) {{ const h = document.createElement('h2'); h.textContent = text;
                      document.getElementById('out').appendChild(h); }}
(async () => {{
  try {{
    const pc = new RTCPeerConnection({{iceServers: [{{urls: 'stun:127.0.0.1:{port}'}}]}});
    pc.createDataChannel('x');
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise(r => setTimeout(r, 1500));
    say('webrtc ran');
  }} catch (e) {{ say('webrtc blocked'); }}
  const done = document.createElement('p'); done.className = 'done'; document.body.appendChild(done);
}})();
</script></body></html>"""


MB = 2**20
_ROW = b'<div class="p"><h2>x</h2><span>1.00</span></div>\n'


def dense_html(size: int) -> bytes:
    return b"<html><body>" + _ROW * (size // len(_ROW)) + b"</body></html>"


def gzip_bomb(prefix: bytes, chunk: bytes, repeats: int) -> bytes:
    """A gzip body that inflates to prefix + chunk * repeats, built without compressing
    all of it: after a full flush deflate forgets its history, so the compressed block
    of one chunk can simply be repeated."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = deflate.compress(prefix) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.flush(zlib.Z_FINISH)
    crc = zlib.crc32(prefix)
    for _ in range(repeats):
        crc = zlib.crc32(chunk, crc)
    size = len(prefix) + len(chunk) * repeats
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + head + block * repeats + end
            + struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF))


@dataclass
class HostilePages:
    """Loopback site answering to any Host: /stun?port=N&onion=X, /big, /bomb, /text-bomb."""

    loop: LoopThread = field(default_factory=LoopThread)
    port: int = 0
    hits: list[str] = field(default_factory=list)
    runner: web.AppRunner | None = None

    def __post_init__(self) -> None:
        self.port = self.loop.run(self._start(), timeout=60)

    async def _start(self) -> int:
        app = web.Application()
        app.router.add_get("/stun", self._stun)
        app.router.add_get("/big", lambda r: self._send(r, dense_html(50 * MB), None))
        # 200 MB of markup, 400 MB of text, each in well under a megabyte
        app.router.add_get("/bomb", lambda r: self._send(
            r, gzip_bomb(b"<html><body>", _ROW * (MB // len(_ROW)), 200), "gzip"))
        app.router.add_get("/text-bomb", lambda r: self._send(
            r, gzip_bomb(b"<html><body><pre>", b"a" * MB, 400), "gzip"))
        app.router.add_get("/dom-bomb", self._dom_bomb)
        app.router.add_get("/{tail:.*}", self._plain)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    async def _stun(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        page = stun_page(int(request.query["port"]), request.query["onion"],
                         int(request.query.get("tcp", 0)))
        return web.Response(text=page, content_type="text/html")

    async def _send(self, request: web.Request, body: bytes, encoding: str | None) -> web.Response:
        self.hits.append(request.path)
        headers = {"Content-Type": "text/html"} | ({"Content-Encoding": encoding} if encoding else {})
        return web.Response(body=body, headers=headers)

    async def _dom_bomb(self, request: web.Request) -> web.Response:
        """A few hundred bytes that build a 24-million-character DOM (in an attribute,
        which costs no layout: the DOM limit, not the memory cap, is what stops it)."""
        self.hits.append(request.path)
        page = ("<html><body><script>document.body.setAttribute('data-x', "
                "'b'.repeat(24 * 1024 * 1024));</script></body></html>")
        return web.Response(text=page, content_type="text/html")

    async def _plain(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        return web.Response(text="<html><body><h2>Plain product</h2></body></html>",
                            content_type="text/html")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        if self.runner:
            self.loop.run(self.runner.cleanup())
        self.loop.stop()


def chromium_pids(root: int) -> list[int]:
    from crawler.net.browser_guard import _is_chromium, descendants

    return [pid for pid in descendants(root) if _is_chromium(pid)]


class PeakMemory:
    """Samples the summed VmRSS of the Chromium processes under this process."""

    def __init__(self, interval: float = 0.05) -> None:
        self.peak = 0
        self.samples = 0
        self._interval = interval
        self._running = True
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from crawler.net.browser_guard import _status_bytes

        while self._running:
            total = sum(_status_bytes(pid, "VmRSS") for pid in chromium_pids(os.getpid()))
            self.peak = max(self.peak, total)
            self.samples += 1
            time.sleep(self._interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._running = False
        self._thread.join(5)


def render_directly(executable: str, url: str, *, args: list[str] | None = None,
                    proxy: dict[str, str] | None = None, init_script: str | None = None,
                    wait_for: str | None = None, timeout_ms: int = 30_000) -> str:
    """Load `url` in a Chromium launched by Playwright itself (no crawl, no guards but the
    ones passed in) and return the DOM; for the tests that show what an unguarded or
    misconfigured browser does."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, proxy=proxy,  # type: ignore[arg-type]
                                             args=["--no-sandbox", "--disable-gpu", *(args or [])])
        try:
            context = browser.new_context()
            if init_script:
                context.add_init_script(init_script)
            page = context.new_page()
            try:
                page.goto(url, timeout=timeout_ms)
                if wait_for:
                    page.wait_for_selector(wait_for, state="attached", timeout=timeout_ms)
            except PlaywrightError as exc:  # a refused or unresolvable URL is a result too
                return f"error: {exc.message.splitlines()[0]}"
            return page.content()
        finally:
            browser.close()
