"""`trawl testbed truth` and the one-line error for a busy port."""
from __future__ import annotations

import json
import socket
import subprocess
import sys

from click.testing import CliRunner

from testbed.cli import testbed as cli_group


def test_truth_json_matches_library(tb) -> None:
    result = CliRunner().invoke(cli_group, ["truth", "chemtrade", "--json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert records == json.loads(json.dumps(tb.truth("chemtrade")))
    vendors = CliRunner().invoke(cli_group, ["truth", "nightshade", "--vendors", "--json"])
    assert any(v["name"] == "DutchGold" for v in json.loads(vendors.output))


def test_busy_port_is_one_clear_line() -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    busy = blocker.getsockname()[1]
    try:
        # the gateway takes P itself; a busy P must fail fast with exit 2, no traceback
        proc = subprocess.run([sys.executable, "-c", "from trawl.cli import main; main()", "testbed", "serve",
                               "--port", str(busy)], capture_output=True, text=True, timeout=30)
    finally:
        blocker.close()
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "already in use" in lines[0]


def test_serve_prints_env_and_stops_on_ctrl_c() -> None:
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-c", "from trawl.cli import main; main()", "testbed", "serve",
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Ctrl-C" in line or not line:
                break
        text = "".join(lines)
        assert "export TRAWL_TOR_SOCKS=socks5h://127.0.0.1:" in text
        assert "export TRAWL_TESTBED_RCSHOP_URL=http://127.0.0.1:" in text
        assert ".onion/" in text and "(down)" in text
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
