"""A pool of Tor clients, each market pinned to one of them.

A market that sees one steady client (one Tor instance, one circuit per site through
`IsolateSOCKSAuth`: the SOCKS username is the site's name) is less likely to flag the
crawler than one whose exits change with every request; and a NEWNYM after repeated
failures should renew only the circuits of the instance that failed, not every market's.

Instances come from two places, used together:
- **external** ones listed in configuration (`tor.pool`): `SOCKS_URL [control=HOST:PORT]
  [cookie=PATH]` entries separated by `;` — system tors, or tors on other machines;
- **managed** ones that `trawl tor start --instances N` starts and supervises: Debian's
  `tor` with its own DataDirectory under `$TRAWL_HOME/tor/<n>`, SocksPort and ControlPort
  on loopback ports Tor picks itself, cookie authentication; recorded in
  `$TRAWL_HOME/tor/pool.json` so crawls find them, restarted by the next `start` if dead.

A site is pinned by rendezvous hashing (the instance with the highest sha256 of site name
and instance name): stable across runs, and adding or removing an instance moves only the
sites that must move.  With no pool configured a crawl uses `tor.socks`/`tor.control` as
before.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from core.errors import TrawlError
from core.process import pid_alive
from crawler.net.socks_blocking import Socks5Error, greet

POOL_FILE = "pool.json"
START_TIMEOUT = 60.0  # seconds for a tor to open its control port (it does not need the network for that)


@dataclass(frozen=True)
class TorInstance:
    name: str  # "ext-0", "tor-1": stable, it decides which sites the instance gets
    socks_url: str  # socks5h://127.0.0.1:PORT
    control: str = ""  # host:port of its ControlPort ("" = no circuit renewal)
    cookie: str = ""  # control auth cookie file
    managed: bool = False  # started and supervised by `trawl tor start`
    pid: int = 0
    data_dir: str = ""


def parse_pool(text: str, *, where: str = "tor.pool") -> list[TorInstance]:
    """External instances from the `tor.pool` setting.

    >>> [i.socks_url for i in parse_pool("socks5h://127.0.0.1:9050 control=127.0.0.1:9051; socks5h://10.0.0.2:9050")]
    ['socks5h://127.0.0.1:9050', 'socks5h://10.0.0.2:9050']
    >>> parse_pool("socks5h://127.0.0.1:9050 contrl=x")
    Traceback (most recent call last):
    ...
    core.errors.TrawlError: tor.pool entry 1: unknown option 'contrl' (control=HOST:PORT, cookie=PATH)
    """
    instances: list[TorInstance] = []
    for number, entry in enumerate((e.strip() for e in text.split(";")), start=1):
        if not entry:
            continue
        url, *options = entry.split()
        parts = urlsplit(url)
        if parts.scheme not in ("socks5h", "socks5") or not parts.hostname or not parts.port:
            raise TrawlError(f"{where} entry {number}: {url!r} is not socks5h://HOST:PORT")
        if parts.scheme == "socks5":
            raise TrawlError(f"{where} entry {number}: socks5:// resolves names locally; use socks5h:// for Tor")
        values = {"control": "", "cookie": ""}
        for option in options:
            key, sep, value = option.partition("=")
            if not sep or key not in values or not value:
                raise TrawlError(f"{where} entry {number}: unknown option {key!r} (control=HOST:PORT, cookie=PATH)")
            values[key] = value
        instances.append(TorInstance(f"ext-{len(instances)}", url, values["control"], values["cookie"]))
    return instances


def instance_for(site: str, instances: Iterable[TorInstance]) -> TorInstance:
    """The instance `site` is pinned to (rendezvous hashing: stable, minimal moves).

    >>> pool = [TorInstance("a", "socks5h://127.0.0.1:1"), TorInstance("b", "socks5h://127.0.0.1:2")]
    >>> instance_for("vortex", pool) == instance_for("vortex", list(reversed(pool)))
    True
    """
    candidates = list(instances)
    if not candidates:
        raise TrawlError("the Tor pool is empty (trawl tor start, or set tor.pool)")
    return max(candidates, key=lambda inst: hashlib.sha256(f"{site}\x1f{inst.name}".encode()).digest())


# --- managed instances ------------------------------------------------------------------

def pool_dir(home: Path) -> Path:
    return home / "tor"


def read_managed(home: Path) -> list[TorInstance]:
    """The managed instances `trawl tor start` recorded (alive or not)."""
    path = pool_dir(home) / POOL_FILE
    if not path.is_file():
        return []
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return [TorInstance(**row) for row in rows]
    except (ValueError, TypeError) as exc:
        raise TrawlError(f"{path}: unreadable Tor pool file ({exc}); `trawl tor stop` then `trawl tor start`") from None


def pool_instances(pool_setting: str, home: Path) -> list[TorInstance]:
    """Every instance crawls may use: the configured external ones, then the managed ones."""
    return [*parse_pool(pool_setting), *read_managed(home)]


def _listening(address: str) -> bool:
    host, _, port = address.rpartition(":")
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host or "127.0.0.1", int(port))) == 0


def _torrc(data_dir: Path, options: Mapping[str, str]) -> str:
    lines = {
        "DataDirectory": str(data_dir),
        "SocksPort": "127.0.0.1:auto",  # Tor picks a free port; read back through the control port
        "ControlPort": "127.0.0.1:auto",
        "ControlPortWriteToFile": str(data_dir / "control-port"),
        "CookieAuthentication": "1",
        "CookieAuthFile": str(data_dir / "control_auth_cookie"),
        "Log": f"notice file {data_dir / 'tor.log'}",
        "AvoidDiskWrites": "1",
    }
    lines.update(options)
    return "".join(f"{key} {value}\n" for key, value in lines.items())


def _control_address(data_dir: Path) -> str:
    # "PORT=127.0.0.1:43127"
    text = (data_dir / "control-port").read_text(encoding="ascii").strip()
    return text.split("=", 1)[1] if "=" in text else text


def _socks_listener(control: str, cookie: Path) -> str:
    import stem.connection
    from stem.control import Controller

    host, _, port = control.rpartition(":")
    with Controller.from_port(address=host, port=int(port)) as controller:
        stem.connection.authenticate_cookie(controller, str(cookie))
        listeners = controller.get_listeners("SOCKS")
    if not listeners:  # DisableNetwork 1 also closes the SocksPort: nothing could use this tor
        raise TrawlError(f"tor at {control} has no open SocksPort (DisableNetwork set?)")
    address, socks_port = listeners[0]
    return f"socks5h://{address}:{socks_port}"


def _start_one(name: str, data_dir: Path, tor: str, options: Mapping[str, str]) -> TorInstance:
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)  # tor refuses a DataDirectory others can read
    (data_dir / "control-port").unlink(missing_ok=True)
    torrc = data_dir / "torrc"
    torrc.write_text(_torrc(data_dir, options), encoding="utf-8")
    process = subprocess.Popen([tor, "-f", str(torrc), "--defaults-torrc", os.devnull], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)  # outlives the command that started it
    try:
        return _await_ready(name, data_dir, process)
    except BaseException:
        process.kill()  # never leave a half-started tor behind
        process.wait(10)
        raise


def _await_ready(name: str, data_dir: Path, process: subprocess.Popen[bytes]) -> TorInstance:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            log = data_dir / "tor.log"
            tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
            raise TrawlError(f"tor {name} exited with {process.returncode}: {' | '.join(tail) or 'no log'}")
        if (data_dir / "control-port").exists() and (data_dir / "control_auth_cookie").exists():
            control = _control_address(data_dir)
            if _listening(control):
                break
        if time.monotonic() > deadline:
            raise TrawlError(f"tor {name} did not open its control port within {START_TIMEOUT:.0f}s ({data_dir})")
        time.sleep(0.1)
    socks = _socks_listener(control, data_dir / "control_auth_cookie")
    return TorInstance(name, socks, control, str(data_dir / "control_auth_cookie"), managed=True,
                       pid=process.pid, data_dir=str(data_dir))


def start_managed(home: Path, count: int, *, options: Mapping[str, str] | None = None,
                  tor_binary: str | None = None) -> list[TorInstance]:
    """Start (or keep) `count` managed Tor instances; dead ones are restarted, extra ones stopped."""
    if count < 1:
        raise TrawlError(f"--instances must be at least 1, got {count}")
    tor = tor_binary or shutil.which("tor") or "/usr/sbin/tor"
    if not Path(tor).exists():
        raise TrawlError("tor is not installed (sudo apt-get install tor)")
    running = {inst.name: inst for inst in read_managed(home)}
    out: list[TorInstance] = []
    for number in range(count):
        name = f"tor-{number}"
        current = running.pop(name, None)
        if current is not None and pid_alive(current.pid) and current.control and _listening(current.control):
            out.append(current)
            continue
        if current is not None:
            _terminate(current.pid)
        out.append(_start_one(name, pool_dir(home) / str(number), tor, options or {}))
    for extra in running.values():
        _terminate(extra.pid)
    _write_pool(home, out)
    return out


def stop_managed(home: Path) -> list[TorInstance]:
    """Stop every managed instance; returns those that were recorded."""
    instances = read_managed(home)
    for inst in instances:
        _terminate(inst.pid)
    _write_pool(home, [])
    return instances


def _terminate(pid: int, grace: float = 10.0) -> None:
    if not pid_alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)


def _write_pool(home: Path, instances: list[TorInstance]) -> None:
    folder = pool_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".{POOL_FILE}.tmp"
    temp.write_text(json.dumps([asdict(i) for i in instances], indent=1), encoding="utf-8")
    os.replace(temp, folder / POOL_FILE)


# --- health -----------------------------------------------------------------------------

@dataclass
class InstanceStatus:
    instance: TorInstance
    socks_ok: bool = False
    socks_ms: float | None = None  # TCP connect + SOCKS5 greeting round trip
    control_ok: bool | None = None  # None: no control port configured
    version: str = ""
    bootstrap: str = ""  # e.g. "100% done" / "0% starting"
    circuit_established: bool | None = None
    network_disabled: bool | None = None
    newnym_wait: float | None = None
    problem: str = ""
    sites: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        return self.socks_ok and self.control_ok is not False and not self.network_disabled


def socks_greeting(socks_url: str, timeout: float = 5.0) -> float:
    """Milliseconds for a TCP connect and a SOCKS5 no-auth greeting, each bounded by `timeout`;
    OSError when the TCP connection fails, TrawlError when what answers is no SOCKS5 proxy or is silent."""
    parts = urlsplit(socks_url)
    started = time.monotonic()
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 9050), timeout=timeout) as sock:
        try:
            greet(sock)
        except Socks5Error as exc:
            raise TrawlError(f"{socks_url}: no SOCKS5 greeting ({exc})") from None
    return (time.monotonic() - started) * 1000


def instance_status(inst: TorInstance, timeout: float = 5.0) -> InstanceStatus:
    status = InstanceStatus(inst)
    try:
        status.socks_ms = round(socks_greeting(inst.socks_url, timeout), 1)
        status.socks_ok = True
    except (OSError, TrawlError) as exc:
        status.problem = f"SOCKS {inst.socks_url}: {exc}"
    if not inst.control:
        return status
    import stem
    import stem.connection
    from stem.control import Controller

    host, _, port = inst.control.rpartition(":")
    try:
        with Controller.from_port(address=host or "127.0.0.1", port=int(port)) as controller:
            if inst.cookie:
                stem.connection.authenticate_cookie(controller, inst.cookie)
            else:
                controller.authenticate()
            status.control_ok = True
            status.version = str(controller.get_version()).split()[0]
            phase = controller.get_info("status/bootstrap-phase", "")
            progress = next((p.split("=", 1)[1] for p in phase.split() if p.startswith("PROGRESS=")), "?")
            summary = phase.split('SUMMARY="', 1)[1].split('"', 1)[0] if 'SUMMARY="' in phase else ""
            status.bootstrap = f"{progress}% {summary}".strip()
            status.circuit_established = controller.get_info("status/circuit-established", "0") == "1"
            status.network_disabled = controller.get_conf("DisableNetwork", "0") == "1"
            status.newnym_wait = round(float(controller.get_newnym_wait()), 1)
    except (stem.SocketError, stem.connection.AuthenticationFailure, stem.ControllerError, OSError, ValueError) as exc:
        status.control_ok = False
        status.problem = "; ".join(p for p in (status.problem, f"control {inst.control}: {type(exc).__name__}: "
                                               f"{str(exc).splitlines()[0] if str(exc) else ''}") if p)
    return status
