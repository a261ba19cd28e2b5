"""`trawl doctor` against real parts: the testbed's SOCKS5 onion gateway (standing in for
Tor), a real redis-server, real Chromium, real directories; dead loopback ports for the
parts that are "stopped"."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import load_config
from tests.commands import TRAWL
from tests.redis_server import running_redis
from trawl.doctor import EXIT_BROKEN, DoctorContext, run_doctor
from trawl.doctor_checks_store import DISK_WARN_BYTES, check_clock, check_evidence_store, es_verdict

NIGHTSHADE_ONION = "lk2r3qhkh2nlbtkwndg45jtuowgav2t4dbaj4fknxqomeu5nt2hai4qd.onion"


ONION_BROWSER_SITE = f"""\
name: onionbrowser
kind: darknet-market
network: tor
render: browser
mirrors: [http://{NIGHTSHADE_ONION}]
start_urls: [/]
listing:
  url_pattern: '^/listing/'
  fields:
    title: h1
"""


def dead_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with running_redis(tmp_path) as url:
        yield url


def doctor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TRAWL_")}
    return subprocess.run([*TRAWL, "doctor", *args], env=base | env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def by_name(output: str) -> dict[str, dict[str, str]]:
    return {check["name"]: check for check in json.loads(output)["checks"]}


def test_healthy_demo_like_setup_is_all_ok(tmp_path: Path, redis_url: str) -> None:
    from testbed.server import run_testbed

    home = tmp_path / "home"
    (home / "runs").mkdir(parents=True)
    sites = tmp_path / "sites"  # an onion site rendered by Chromium: the browser must work through the proxy
    sites.mkdir()
    (sites / "onionbrowser.yaml").write_text(ONION_BROWSER_SITE)
    with run_testbed(rate_limit=False, faults=False) as testbed:
        env = testbed.env() | {"TRAWL_HOME": str(home), "TRAWL_REDIS_URL": redis_url, "TRAWL_SITES_DIR": str(sites)}
        result = doctor(env, "--json")
        gateway_hosts = [(record.host, record.outcome) for record in testbed.gateway.log]
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    checks = by_name(result.stdout)
    assert report["ok"] is True and report["counts"]["fail"] == 0
    low_disk = shutil.disk_usage(home).free < DISK_WARN_BYTES  # a full CI disk warns; that is not this test
    assert {name: c["status"] for name, c in checks.items() if c["status"] != "ok" and not
            (low_disk and name == "disk")} == {}
    for name in ("tor.socks", "tor.remote_dns", "chromium", "redis", "index", "disk", "evidence", "clock",
                 "site nightshade", "site rcshop"):
        assert checks[name]["status"] == "ok", checks.get(name)
    assert "PONG" in checks["redis"]["detail"]
    assert "launches headless" in checks["chromium"]["detail"]  # rcshop is render: browser: really launched
    assert "loads onionbrowser's onion through the SOCKS5 proxy" in checks["chromium"]["detail"]
    assert checks["site onionbrowser"]["status"] == "ok"
    # the onion name went to the proxy as a name and the proxy connected it: remote DNS
    assert gateway_hosts.count((NIGHTSHADE_ONION, "connected")) >= 2  # the probe and Chromium
    assert list(home.joinpath("runs").iterdir()) == []  # the probe file was removed


def test_stopped_parts_and_unwritable_evidence_are_each_reported_with_a_fix(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "runs").write_text("not a directory\n")  # a real failure even as root (chmod is not)
    env = {"TRAWL_HOME": str(home), "TRAWL_TOR_SOCKS": f"socks5h://127.0.0.1:{dead_port()}",
           "TRAWL_REDIS_URL": f"redis://127.0.0.1:{dead_port()}/0",
           "TRAWL_INDEX_URL": f"http://127.0.0.1:{dead_port()}"}
    result = doctor(env, "--json", "--site", "nightshade", "--timeout", "3")
    assert result.returncode == EXIT_BROKEN, result.stdout + result.stderr
    checks = by_name(result.stdout)
    expected_fix = {"tor.socks": "sudo systemctl start tor", "redis": "sudo systemctl start redis-server",
                    "elasticsearch": "sudo systemctl start elasticsearch", "evidence": f"mv {home / 'runs'}"}
    for name, fix in expected_fix.items():
        assert checks[name]["status"] == "fail", checks[name]
        assert checks[name]["fix"].startswith(fix), checks[name]
    assert "Connection refused" in checks["tor.socks"]["detail"]
    assert checks["site nightshade"]["status"] == "ok"
    assert checks["chromium"]["status"] == "ok"  # no browser site among those checked: not launched
    assert "not launched" in checks["chromium"]["detail"]


def test_tor_down_only_warns_when_no_configured_site_uses_tor(tmp_path: Path) -> None:
    env = {"TRAWL_HOME": str(tmp_path), "TRAWL_TOR_SOCKS": f"socks5h://127.0.0.1:{dead_port()}"}
    result = doctor(env, "--site", "chemtrade")  # the text output this time
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    warning = next(i for i, line in enumerate(lines) if line.startswith("WARN  tor.socks"))
    assert "Connection refused" in lines[warning] and "not needed" in lines[warning]
    assert lines[warning + 1].split() == ["fix:", "sudo", "systemctl", "start", "tor"]
    assert "tor.remote_dns" not in result.stdout
    assert lines[-1].startswith("doctor: ") and lines[-1].endswith("1 warning(s), 0 failed")


def test_broken_site_yaml_fails_with_file_and_line(tmp_path: Path) -> None:
    sites = tmp_path / "sites"
    sites.mkdir()
    broken = sites / "broken.yaml"
    broken.write_text("name: broken\nkind: shop\nnetwork: carrier-pigeon\n")
    env = {"TRAWL_HOME": str(tmp_path / "home"), "TRAWL_SITES_DIR": str(sites)}
    result = doctor(env, "--json", "--site", "broken")
    assert result.returncode == EXIT_BROKEN
    check = by_name(result.stdout)["site broken"]
    assert check["status"] == "fail"
    assert check["detail"].startswith(f"{broken}:")
    assert check["fix"].endswith(f"trawl sites check {broken}")


def test_proxy_refusing_hostnames_fails_remote_dns(tmp_path: Path) -> None:
    """A SOCKS5 server that takes the greeting but answers 'address type not supported' to a
    CONNECT by name (a proxy that would need local DNS) is a failure, not ok."""
    server = socket.create_server(("127.0.0.1", 0))
    seen: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(3)
            conn.sendall(b"\x05\x00")
            seen.append(conn.recv(300))
            conn.sendall(b"\x05\x08\x00\x01" + b"\x00" * 6)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    env = {"TRAWL_HOME": str(tmp_path), "TRAWL_TOR_SOCKS": f"socks5h://127.0.0.1:{server.getsockname()[1]}"}
    result = doctor(env, "--json", "--site", "nightshade")
    server.close()
    assert result.returncode == EXIT_BROKEN
    checks = by_name(result.stdout)
    assert checks["tor.socks"]["status"] == "ok"
    assert checks["tor.remote_dns"]["status"] == "fail"
    assert "address type not supported" in checks["tor.remote_dns"]["detail"]
    assert seen and seen[0][3] == 3 and NIGHTSHADE_ONION.encode() in seen[0]  # ATYP=domain: the name, not an IP


def test_read_only_evidence_dir_is_reported_with_chmod(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes through chmod 0555; the file-instead-of-directory case covers root")
    runs = tmp_path / "runs"
    runs.mkdir()
    runs.chmod(0o555)
    try:
        context = DoctorContext(config=load_config(env={"TRAWL_HOME": str(tmp_path)}), timeout=5)
        [result] = check_evidence_store(context)
    finally:
        runs.chmod(0o755)
    assert result.status == "fail"
    assert result.fix == f"chmod u+w {runs}"


def test_clock_behind_the_newest_run_fails(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "run-from-the-future"
    run.mkdir(parents=True)
    future = time.time() + 2 * 86400
    os.utime(run, (future, future))
    context = DoctorContext(config=load_config(env={"TRAWL_HOME": str(tmp_path)}), timeout=5)
    [result] = check_clock(context)
    assert result.status == "fail", result
    assert str(run) in result.detail and result.fix == "sudo timedatectl set-ntp true"
    os.utime(run, (time.time(), time.time()))
    assert check_clock(context)[0].status == "ok"


def test_run_doctor_in_process_bounds_each_check(tmp_path: Path) -> None:
    """A proxy that accepts TCP but never answers the greeting is failed after the bound."""
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        config = load_config(env={"TRAWL_HOME": str(tmp_path),
                                  "TRAWL_TOR_SOCKS": f"socks5h://127.0.0.1:{silent.getsockname()[1]}"})
        report = run_doctor(config, ("nightshade",), timeout=1)
    finally:
        silent.close()
    socks = next(r for r in report.results if r.name == "tor.socks")
    assert socks.status == "fail" and "no SOCKS5 greeting" in socks.detail
    assert report.exit_code == EXIT_BROKEN


def test_elasticsearch_verdict_explains_yellow_on_one_node() -> None:
    info = {"version": {"number": "8.15.0"}}
    one_node = {"status": "yellow", "cluster_name": "c", "number_of_data_nodes": 1}
    result = es_verdict("http://127.0.0.1:9200", info, one_node, 1, fix_replicas=lambda n: f"export R={n}")
    assert result.status == "warn" and "needs 2 data nodes" in result.detail and result.fix == "export R=0"
    three = {"status": "green", "cluster_name": "c", "number_of_data_nodes": 3}
    assert es_verdict("u", info, three, 1, fix_replicas=str).status == "ok"
    red = {"status": "red", "cluster_name": "c", "number_of_data_nodes": 3}
    assert es_verdict("u", info, red, 1, fix_replicas=str).status == "fail"
    # index.replicas unset: auto-expand 0-1, which a one-node green cluster fits
    green_one = {"status": "green", "cluster_name": "c", "number_of_data_nodes": 1}
    unset = es_verdict("u", info, green_one, None, fix_replicas=str)
    assert unset.status == "ok" and "auto-expand 0-1" in unset.detail


TOR = shutil.which("tor") or "/usr/sbin/tor"


@pytest.fixture
def offline_tor(tmp_path: Path) -> Iterator[tuple[int, int, Path]]:
    """A real tor that cannot leave this machine: its only bridge is a dead loopback port (so it
    never contacts a directory or relay), with SocksPort and ControlPort (cookie auth) on loopback.
    (DisableNetwork would close the SocksPort too.)"""
    if not Path(TOR).exists():
        pytest.skip("tor not installed")
    data = tmp_path / "tor"
    data.mkdir(mode=0o700)
    socks_port, control_port = dead_port(), dead_port()
    torrc = tmp_path / "torrc"
    torrc.write_text("")  # not the system torrc
    proc = subprocess.Popen([TOR, "-f", str(torrc), "--UseBridges", "1",
                             "--Bridge", f"127.0.0.1:{dead_port()} 0123456789ABCDEF0123456789ABCDEF01234567",
                             "--SocksPort", f"127.0.0.1:{socks_port}",
                             "--ControlPort", f"127.0.0.1:{control_port}", "--CookieAuthentication", "1",
                             "--DataDirectory", str(data), "--Log", "err stderr"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", control_port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("tor did not start")
            time.sleep(0.1)
    yield socks_port, control_port, data / "control_auth_cookie"
    proc.terminate()
    proc.wait(10)


def test_real_offline_tor_socks_and_control_port(tmp_path: Path, offline_tor: tuple[int, int, Path]) -> None:
    socks_port, control_port, cookie = offline_tor
    env = {"TRAWL_HOME": str(tmp_path / "home"), "TRAWL_TOR_SOCKS": f"socks5h://127.0.0.1:{socks_port}",
           "TRAWL_TOR_CONTROL": f"127.0.0.1:{control_port}", "TRAWL_TOR_CONTROL_COOKIE": str(cookie)}
    result = doctor(env, "--json", "--site", "nightshade", "--timeout", "2")
    checks = by_name(result.stdout)
    assert checks["tor.socks"]["status"] == "ok", checks["tor.socks"]
    # authenticated with the cookie, but Tor cannot bootstrap: said, with where to look
    assert checks["tor.control"]["status"] == "warn", checks["tor.control"]
    assert "authenticated, Tor 0." in checks["tor.control"]["detail"]
    assert "bootstrapped" in checks["tor.control"]["detail"]
    # no circuit: Tor takes the name but cannot connect it in time; a warning, not a pass
    assert checks["tor.remote_dns"]["status"] == "warn", checks["tor.remote_dns"]
    assert result.returncode == 0, result.stdout

    wrong = env | {"TRAWL_TOR_CONTROL_COOKIE": str(tmp_path / "not-the-cookie")}
    (tmp_path / "not-the-cookie").write_bytes(b"x" * 32)
    broken = doctor(wrong, "--json", "--site", "nightshade", "--timeout", "2")
    assert broken.returncode == EXIT_BROKEN
    control = by_name(broken.stdout)["tor.control"]
    assert control["status"] == "fail" and "authentication failed" in control["detail"]
    assert control["fix"].startswith("export TRAWL_TOR_CONTROL_COOKIE=")


def test_bad_trawl_toml_and_bad_schedule_fail_with_file_and_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "trawl.toml").write_text("[index]\nurl = \"\"\ncolour = \"blue\"\n")
    result = doctor({"TRAWL_HOME": str(home)}, "--json")
    assert result.returncode == EXIT_BROKEN
    check = by_name(result.stdout)["config"]
    assert check["status"] == "fail" and check["detail"].startswith(f"{home / 'trawl.toml'}:3:")
    assert check["fix"] == f"edit {home / 'trawl.toml'}:3"

    (home / "trawl.toml").unlink()
    (home / "schedule.yaml").write_text("jobs:\n  - id: a\n    site: nightshade\n    every: soon\n")
    result = doctor({"TRAWL_HOME": str(home)}, "--json", "--site", "chemtrade")
    assert result.returncode == EXIT_BROKEN
    check = by_name(result.stdout)["schedule"]
    assert check["status"] == "fail" and check["detail"].startswith(f"{home / 'schedule.yaml'}:")
