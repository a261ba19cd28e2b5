"""`trawl evidence show/list/export` on a real run written by EvidenceWriter."""
from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders

from crawler.evidence.writer import EvidenceWriter
from tests.commands import TRAWL
from tests.crawler.evidence_util import anchor_for
from tests.crawler.net_crawl import REPO


def _make_run(home: Path, run_id: str, pages: int = 3) -> Path:
    run = home / "runs" / run_id
    run.mkdir(parents=True)
    writer = EvidenceWriter(run, run_id, sync_interval=0, anchor=anchor_for(home, run))
    for i in range(pages):
        url = f"http://shop.example/p/{i}"
        build = writer.writer.create_warc_record
        request = build(url, "request", payload=io.BytesIO(b""), length=0,
                        http_headers=StatusAndHeaders("GET / HTTP/1.1", [],
                                                      protocol="HTTP/1.1", is_http_request=True))
        body = f"<h1>page {i}</h1>".encode()
        response = build(url, "response", payload=io.BytesIO(body), length=len(body),
                         http_headers=StatusAndHeaders("200 OK", [], protocol="HTTP/1.1"))
        writer.write_exchange(url, request, response, [])
    writer.close()
    return run


def _trawl(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAWL_")}
    env["TRAWL_HOME"] = str(home)
    return subprocess.run([*TRAWL, "evidence", *args], env=env, capture_output=True, text=True, cwd=REPO)


def test_list_show_export(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run = _make_run(home, "pillhub-20261123T100000Z-abcd")
    listed = json.loads(_trawl(home, "list", "--json").stdout)
    assert [r["run_id"] for r in listed] == [run.name] and listed[0]["records"] == 7
    shown = json.loads(_trawl(home, "show", run.name, "--records", "--json").stdout)
    assert shown["types"] == {"warcinfo": 1, "request": 3, "response": 3}
    assert shown["entries"][2]["target_uri"] == "http://shop.example/p/0"
    out = tmp_path / "case"
    exported = _trawl(home, "export", run.name, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    package = out / run.name
    for line in (package / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((package / name).read_bytes()).hexdigest() == digest
    assert _trawl(home, "verify", str(package)).returncode == 0  # the copy verifies too


def test_export_refuses_tampered_run_and_unknown_run_is_one_line_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run = _make_run(home, "r2")
    warc = next((run / "warc").glob("*.warc.gz"))
    data = bytearray(warc.read_bytes())
    data[-30] ^= 0xFF
    warc.write_bytes(bytes(data))
    refused = _trawl(home, "export", "r2", "--out", str(tmp_path / "x"))
    assert refused.returncode == 1 and "does not verify" in refused.stderr
    assert not (tmp_path / "x").exists()
    missing = _trawl(home, "verify", "no-such-run")
    assert missing.returncode == 2 and missing.stderr.startswith("error: run 'no-such-run'")
