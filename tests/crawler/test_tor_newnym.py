"""Circuit renewal against a real tor process with DisableNetwork 1.

Tor ignores NEWNYM when client functionality is off (SocksPort 0: "Ignoring SIGNAL
NEWNYM because client functionality is disabled", info level), so the tor here has a
loopback SocksPort that nothing uses; the network stays disabled. Proof that tor
processed a NEWNYM: the next one within 10 s is logged as "Rate limiting NEWNYM".
"""
from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from core.errors import TrawlError
from crawler.net.tor import renew_circuit, tor_settings
from tests.crawler.net_crawl import run_net_spider
from tests.crawler.net_servers import free_port

TOR = shutil.which("tor") or "/usr/sbin/tor"
PASSWORD = "ctl-pass-3141"


@pytest.fixture
def tor(tmp_path: Path):
    if not Path(TOR).exists():
        pytest.skip("tor not installed (/usr/sbin/tor; apt-get install tor)")
    hashed = subprocess.run([TOR, "--quiet", "--hash-password", PASSWORD], capture_output=True,
                            text=True, timeout=30).stdout.strip().splitlines()[-1]
    port, data = free_port(), tmp_path / "tor-data"
    data.mkdir(mode=0o700)
    log, torrc = tmp_path / "tor.log", tmp_path / "torrc"
    torrc.write_text("")
    log.write_text("")
    proc = subprocess.Popen([TOR, "-f", str(torrc), "--defaults-torrc", str(torrc),
                             "--DisableNetwork", "1",
                             "--SocksPort", f"127.0.0.1:{free_port()}", "--ControlPort", f"127.0.0.1:{port}",
                             "--CookieAuthentication", "1", "--HashedControlPassword", hashed,
                             "--DataDirectory", str(data), "--Log", f"notice file {log}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not (data / "control_auth_cookie").exists() or not _listening(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"tor did not open its control port: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    yield {"control": f"127.0.0.1:{port}", "cookie": data / "control_auth_cookie", "log": log}
    proc.terminate()
    proc.wait(15)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _rate_limited_after(tor: dict) -> bool:
    """A second NEWNYM right after one that tor accepted gets rate limited (tor logs it)."""
    renew_circuit(tor["control"], PASSWORD)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if re.search(r"Rate limiting NEWNYM", tor["log"].read_text()):
            return True
        time.sleep(0.1)
    return False


def test_newnym_with_password_and_cookie(tor: dict) -> None:
    assert "Rate limiting NEWNYM" not in tor["log"].read_text()
    wait = renew_circuit(tor["control"], PASSWORD)
    assert 0 < wait <= 10  # tor allows one NEWNYM per 10 s
    renew_circuit(tor["control"], cookie_path=tor["cookie"])
    assert "Rate limiting NEWNYM" in tor["log"].read_text() or _rate_limited_after(tor)


def test_bad_password_and_closed_port_are_clear_errors(tor: dict) -> None:
    with pytest.raises(TrawlError, match="tor control port") as info:
        renew_circuit(tor["control"], "wrong-password")
    assert "wrong-password" not in str(info.value)
    with pytest.raises(TrawlError, match=f"127.0.0.1:{free_port()}|tor control port"):
        renew_circuit(f"127.0.0.1:{free_port()}", PASSWORD)


def test_extension_renews_after_consecutive_failures(tor: dict, tmp_path: Path) -> None:
    closed = f"socks5h://127.0.0.1:{free_port()}"
    urls = [f"http://{c * 56}.onion/" for c in "abcdefg"]
    settings = tor_settings(closed) | {
        "EXTENSIONS": {"crawler.net.tor.CircuitRenewalExtension": 500},
        "TRAWL_TOR_CONTROL": tor["control"], "TRAWL_TOR_CONTROL_PASSWORD": PASSWORD,
        "TRAWL_TOR_RENEW_AFTER_FAILURES": 3, "RETRY_TIMES": 0, "CONCURRENT_REQUESTS": 1}
    result = run_net_spider(tmp_path, {"start_urls": urls, "settings": settings})
    assert result.returncode == 0, result.log[-3000:]
    # 7 failures, threshold 3: renewal at 3; at 6 and 7 tor's 10 s limit holds us back
    assert result.stats.get("trawl/tor/newnym") == 1, result.stats
    assert result.stats.get("trawl/tor/newnym_rate_limited") == 2
    assert PASSWORD not in result.log
    assert _rate_limited_after(tor)  # tor really received the crawl's NEWNYM
