"""A real `trawl crawl nightshade` (gate, login over the testbed's SOCKS gateway): the
password reaches the site but no byte of it lands anywhere under $TRAWL_HOME."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import zlib
from pathlib import Path
from urllib.parse import quote_plus

import pytest

from crawler.evidence.verify import verify_run
from tests.commands import TRAWL
from tests.crawler.net_crawl import REPO

PASSWORD = "Nsh4de!pw-7f3a91-do-not-store"


def _decoded_variants(raw: bytes) -> list[bytes]:
    """The file itself plus any gzip members inside it (WARCs are per-record gzip)."""
    out = [raw]
    if raw[:2] == b"\x1f\x8b":
        data, rest = b"", raw
        while rest[:2] == b"\x1f\x8b":
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
            data += inflater.decompress(rest)
            rest = inflater.unused_data
        out.append(data)
    return out


def test_login_password_never_stored(tmp_path: Path) -> None:
    from testbed.server import run_testbed

    if not (REPO / "crawler" / "sites" / "nightshade.yaml").exists():
        pytest.skip("crawler/sites/nightshade.yaml not there yet")
    home = tmp_path / "home"
    with run_testbed(rate_limit=False, faults=False, password=PASSWORD) as tb:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRAWL_")} | tb.env()
        env |= {"TRAWL_HOME": str(home), "TRAWL_PROFILE": "test", "TRAWL_LOG_LEVEL": "DEBUG"}
        assert env["TRAWL_TESTBED_PASSWORD"] == PASSWORD
        proc = subprocess.run([*TRAWL, "crawl", "nightshade", "--json",
                               "--budget", "30"], env=env, capture_output=True, text=True,
                              timeout=180, cwd=tmp_path)
        logins = [r for r in tb.request_log if r[0] == "nightshade" and r[1] == "POST"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert logins, "the crawl never logged in: the test would prove nothing"
    assert summary["listings"] > 0
    needles = {PASSWORD.encode(), quote_plus(PASSWORD).encode()}
    scanned = 0
    for path in home.rglob("*"):
        if path.is_file():
            scanned += 1
            for blob in _decoded_variants(path.read_bytes()):
                for needle in needles:
                    assert needle not in blob, f"password found in {path}"
    assert scanned >= 4
    assert PASSWORD not in proc.stdout + proc.stderr
    run_dir = Path(summary["run_dir"])
    warc_text = b"".join(gzip.decompress(p.read_bytes()) for p in (run_dir / "warc").glob("*.gz"))
    assert b"[REDACTED]" in warc_text  # the login request is there, redacted
    assert verify_run(run_dir).ok
