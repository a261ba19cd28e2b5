"""Chromium for tor sites in a network namespace where only the SOCKS port is reachable.

The launch flags and init scripts of crawler.net.browser stop the leaks we know of; this stops
the ones we do not. `launcher_script()` writes a small executable that Playwright starts
in place of Chromium. It runs `python -m crawler.net.browser_netns --proxy HOST:PORT --
CHROMIUM ARGS...`, which

1. forks a bridge process that stays in the host's network namespace,
2. moves itself into a new network namespace (plus a user namespace when not root), in
   which only a loopback interface exists, and brings that interface up,
3. listens on HOST:PORT inside the namespace and hands that listening socket to the
   bridge (SCM_RIGHTS over a socketpair; unix sockets cross namespaces),
4. execs Chromium, whose proxy setting (socks5://HOST:PORT) now reaches the bridge.

The bridge accepts in the namespace and connects to the real proxy from the host's
namespace: the one path out. There is no route anywhere else — no DNS server, no UDP,
no other local port — whatever a page or Chromium itself tries. The bridge dies with
Chromium (PR_SET_PDEATHSIG) and is in its process group (Playwright kills that group).

Only for a loopback proxy (Tor's SocksPort, the usual case). TRAWL_BROWSER_NETNS: `auto`
(default: use it where the kernel allows, else warn and rely on the flags), `require`
(refuse to crawl without it), `off`.
"""
from __future__ import annotations

import ctypes
import fcntl
import hashlib
import ipaddress
import logging
import os
import socket
import struct
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from core.config import load_config
from core.errors import TrawlError

logger = logging.getLogger(__name__)

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
MODES = ("auto", "require", "off")
_available: bool | None = None


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _enter_namespace() -> None:
    """unshare(2) into a new network namespace (and user namespace unless root)."""
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNET | (CLONE_NEWUSER if os.geteuid() != 0 else 0)
    if _libc().unshare(flags) != 0:
        raise OSError(ctypes.get_errno(), f"unshare: {os.strerror(ctypes.get_errno())}")
    if flags & CLONE_NEWUSER:  # keep our own ids inside; the creator holds CAP_NET_ADMIN
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", b"lo", 0)
        current = struct.unpack("16sH", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH", b"lo", current | IFF_UP))


def netns_available() -> bool:
    """Can this process create a network namespace? (Tried once, in a child.)"""
    global _available
    if _available is None:
        if not sys.platform.startswith("linux"):
            _available = False
            return False
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child only reports back
            try:
                _enter_namespace()
                os._exit(0)
            except OSError:
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        _available = os.waitstatus_to_exitcode(status) == 0
    return _available


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def launcher_script(chromium: str, proxy_host: str, proxy_port: int) -> Path:
    """An executable that starts `chromium` in the namespace (written once per content)."""
    root = Path(__file__).resolve().parents[2]
    text = ("#!/bin/sh\n# trawl: Chromium in a network namespace; only the SOCKS proxy is reachable\n"
            f'PYTHONPATH="{root}${{PYTHONPATH:+:$PYTHONPATH}}" exec "{sys.executable}" '
            f'-m crawler.net.browser_netns --proxy "{proxy_host}:{proxy_port}" -- "{chromium}" "$@"\n')
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"trawl-browser-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / f"chromium-netns-{digest}"
    if not path.exists():
        staging = folder / f".{path.name}.{os.getpid()}"
        staging.write_text(text)
        staging.chmod(0o700)
        staging.replace(path)
    return path


def confine(options: dict[str, Any], proxy_host: str, proxy_port: int,
            mode: str | None = None) -> bool:
    """Point PLAYWRIGHT_LAUNCH_OPTIONS at the namespace launcher; False when not confined
    (mode `off`, or `auto` where it cannot be done: then a warning says why)."""
    mode = (mode or load_config().browser_netns or "auto").strip().lower()
    if mode not in MODES:
        raise TrawlError(f"TRAWL_BROWSER_NETNS={mode!r}: expected one of {', '.join(MODES)}")
    if mode == "off":
        return False
    executable = options.get("executable_path")
    problem = None
    if not executable:
        problem = "no Chromium path to wrap (set TRAWL_CHROMIUM)"
    elif not is_loopback(proxy_host):
        problem = f"the SOCKS proxy {proxy_host} is not on this machine's loopback"
    elif not netns_available():
        problem = "this kernel or container does not allow a network namespace"
    if problem:
        if mode == "require":
            raise TrawlError(f"TRAWL_BROWSER_NETNS=require: cannot confine Chromium: {problem}")
        logger.warning("browser: Chromium not confined to a network namespace (%s); "
                       "its launch flags and guards still apply", problem)
        return False
    options["executable_path"] = str(launcher_script(str(executable), proxy_host, proxy_port))
    return True


# --- the launcher (runs as Chromium's parent, see the module doc) --------------------

def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (sink, source):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _serve_bridge(listener: socket.socket, proxy: tuple[str, int]) -> None:
    while True:
        inside, _ = listener.accept()
        try:
            outside = socket.create_connection(proxy, timeout=30)
        except OSError:
            inside.close()
            continue
        outside.settimeout(None)
        for source, sink in ((inside, outside), (outside, inside)):
            threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def run(proxy_host: str, proxy_port: int, command: list[str]) -> None:
    handoff, bridge_end = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # the bridge: host namespace
        handoff.close()
        _libc().prctl(PR_SET_PDEATHSIG, 9)
        if os.getppid() == 1:
            os._exit(0)
        _, fds, _, _ = socket.recv_fds(bridge_end, 16, 1)
        if not fds:
            os._exit(1)
        listener = socket.socket(fileno=fds[0])
        _serve_bridge(listener, (proxy_host, proxy_port))
        os._exit(0)
    bridge_end.close()
    try:
        _enter_namespace()
    except OSError as exc:
        sys.stderr.write(f"trawl: cannot create the browser's network namespace: {exc}\n")
        sys.exit(3)
    family = socket.AF_INET6 if ":" in proxy_host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.bind((proxy_host, proxy_port))
    listener.listen(64)
    socket.send_fds(handoff, [b"L"], [listener.fileno()])
    listener.close()
    handoff.close()
    os.execv(command[0], command)  # noqa: S606 - the configured Chromium, Playwright's arguments


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 4 or args[0] != "--proxy" or args[2] != "--":
        sys.exit("usage: python -m crawler.net.browser_netns --proxy HOST:PORT -- CHROMIUM [ARGS...]")
    host, _, port = args[1].rpartition(":")
    run(host.strip("[]"), int(port), args[3:])


if __name__ == "__main__":
    main()
