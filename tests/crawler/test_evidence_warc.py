"""WARC evidence of a real crawl: records, digests, redaction, manifest chain, verify."""
from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.evidence.verify import verify_run
from tests.commands import TRAWL, WARCIO
from tests.crawler.net_crawl import REPO, run_net_spider
from tests.crawler.net_servers import clear_site

PASSWORD = "hunter2-Zq9!very-secret"
SESSION_COOKIE = "sessid=cookie-secret-77"
RUN_ID = "20261123T100000Z-netshop"


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("evidence")
    home = tmp / "home"
    run_dir = home / "runs" / RUN_ID
    run_dir.mkdir(parents=True)
    with clear_site(pages=3, per_page=2) as site:
        base = f"http://127.0.0.1:{site.port}/"
        config = {
            "start_urls": [base],
            "follow_css": "a.page::attr(href)",
            "login": {"url": base + "login", "secret_fields": ["password"],
                      "formdata": {"username": "analyst", "password": PASSWORD},
                      "headers": {"Cookie": SESSION_COOKIE,
                                  "Authorization": "Basic " + PASSWORD}},
            "settings": {"TRAWL_RUN_ID": RUN_ID, "TRAWL_RUN_DIR": str(run_dir),
                         "TRAWL_HOME": str(home), "TRAWL_PROXY": "",
                         "DOWNLOADER_MIDDLEWARES": {"crawler.evidence.middleware.WarcEvidenceMiddleware": 950}},
        }
        result = run_net_spider(tmp, config)
        login_hits = [h for h in site.hits if h["path"] == "/login"]
        later_cookies = [h["headers"].get("Cookie", "") for h in site.hits
                         if h["path"] != "/login"]
    assert result.returncode == 0, result.log[-3000:]
    return {"tmp": tmp, "home": home, "run_dir": run_dir, "result": result,
            "login_hits": login_hits, "later_cookies": later_cookies}


def _records(run_dir: Path) -> list:
    out = []
    for path in sorted((run_dir / "warc").glob("*.warc.gz")):
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                out.append((record.rec_type, dict(record.rec_headers.headers),
                            record.content_stream().read()))
    return out


def test_every_response_has_request_and_response_records(crawled: dict) -> None:
    records = _records(crawled["run_dir"])
    responses = [r for r in records if r[0] == "response"]
    requests = [r for r in records if r[0] == "request"]
    # login + index + 3 pages
    assert len(responses) == 5 and len(requests) == 5
    assert records[0][0] == "warcinfo"
    ids = {r[1]["WARC-Record-ID"] for r in responses}
    assert {r[1]["WARC-Concurrent-To"] for r in requests} == ids
    for _, headers, body in responses:
        assert headers["WARC-Trawl-Run"] == RUN_ID
        assert headers["WARC-Trawl-Mirror"].startswith("http://127.0.0.1:")
        assert "WARC-Trawl-Proxy" in headers and headers["WARC-Date"]
        digest = base64.b32encode(hashlib.sha256(body).digest()).decode()
        assert headers["WARC-Payload-Digest"] == f"sha256:{digest}"


def test_items_carry_evidence_pointing_at_the_payload(crawled: dict) -> None:
    items = crawled["result"].items
    assert len(items) == 6
    for item in items:
        ev = item["evidence"]
        assert ev["run_id"] == RUN_ID and ev["warc_file"].startswith(f"runs/{RUN_ID}/warc/")
        with (crawled["home"] / ev["warc_file"]).open("rb") as fh:
            fh.seek(ev["warc_offset"])
            record = next(iter(ArchiveIterator(fh)))
            assert record.rec_headers.get_header("WARC-Target-URI") == item["url"]
            assert hashlib.sha256(record.raw_stream.read()).hexdigest() == ev["payload_sha256"]


def test_login_secrets_never_stored(crawled: dict) -> None:
    # the site really received the secret (so the test can fail)
    assert PASSWORD.replace("!", "%21") in crawled["login_hits"][0]["body"]
    assert crawled["login_hits"][0]["headers"]["Authorization"] == "Basic " + PASSWORD
    # the session cookie the site set really came back on later requests
    assert all("server-session-secret-123" in c for c in crawled["later_cookies"])
    needles = [PASSWORD.encode(), SESSION_COOKIE.encode(), b"cookie-secret-77",
               PASSWORD.replace("!", "%21").encode(), b"server-session-secret-123"]
    for path in crawled["run_dir"].rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            blobs = [raw]
            if path.name.endswith(".gz"):
                blobs.append(gzip.decompress(raw))
            for blob in blobs:
                for needle in needles:
                    assert needle not in blob, f"{needle!r} found in {path}"
    login = [r for r in _records(crawled["run_dir"])
             if r[0] == "request" and r[1]["WARC-Target-URI"].endswith("/login")]
    assert b"password=%5BREDACTED%5D" in login[0][2] and b"username=analyst" in login[0][2]


def test_manifest_chain_and_clean_verify(crawled: dict) -> None:
    run_dir = crawled["run_dir"]
    lines = [json.loads(x) for x in (run_dir / "manifest.jsonl").read_text().splitlines()]
    assert [e["seq"] for e in lines] == list(range(len(lines))) and len(lines) == 11
    assert all(b["prev_hash"] == a["entry_hash"] for a, b in itertools.pairwise(lines))
    head = json.loads((run_dir / "manifest.head").read_text())
    assert {k: head[k] for k in ("run_id", "entries", "head", "state")} == {
        "run_id": RUN_ID, "entries": 11, "head": lines[-1]["entry_hash"], "state": "closed"}
    assert head["key_id"].startswith("ed25519:") and head["signature"]
    report = verify_run(run_dir)
    assert report.ok, report.problems
    assert report.records == 11 and not report.warnings
    assert set(report.checks) >= {"signature", "heads_log"}
    # interoperable: warcio's own checker recomputes our sha256 block/payload digests
    for warc in (run_dir / "warc").glob("*.warc.gz"):
        check = subprocess.run([*WARCIO, "check", "-v", str(warc)],
                               capture_output=True, text=True)
        assert check.returncode == 0 and check.stdout.count("digest pass") == 11, check.stdout


@pytest.fixture
def copy(crawled: dict, tmp_path: Path) -> Path:
    target = tmp_path / RUN_ID
    shutil.copytree(crawled["run_dir"], target)
    return target


def _warc(run: Path) -> Path:
    return next((run / "warc").glob("*.warc.gz"))


def _entries(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "manifest.jsonl").read_text().splitlines()]


def test_flipped_byte_in_warc_detected(copy: Path) -> None:
    entry = [e for e in _entries(copy) if e["type"] == "response"][2]
    data = bytearray(_warc(copy).read_bytes())
    data[entry["offset"] + entry["length"] // 2] ^= 0x01
    _warc(copy).write_bytes(bytes(data))
    report = verify_run(copy)
    assert not report.ok
    assert any(p.startswith(f"{entry['warc_file']} offset {entry['offset']}: record sha256 "
                            f"mismatch (record {entry['record_id']}, {entry['target_uri']})")
               for p in report.problems), report.problems


def test_payload_edit_recompressed_detected(copy: Path) -> None:
    """An edit that re-gzips the record (so gzip is valid) still fails the payload digest."""
    entry = [e for e in _entries(copy) if e["type"] == "response"][3]
    path = _warc(copy)
    data = path.read_bytes()
    member = gzip.decompress(data[entry["offset"]:entry["offset"] + entry["length"]])
    forged = gzip.compress(member.replace(b"Product", b"Pr0duct", 1))
    path.write_bytes(data[:entry["offset"]] + forged + data[entry["offset"] + entry["length"]:])
    report = verify_run(copy)
    assert any(f"offset {entry['offset']}: payload sha256 mismatch" in p
               for p in report.problems), report.problems


def test_removed_manifest_entry_detected(copy: Path) -> None:
    lines = (copy / "manifest.jsonl").read_text().splitlines()
    del lines[4]
    (copy / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    report = verify_run(copy)
    assert "manifest.jsonl line 5: prev_hash does not match line 4 (entry removed or " \
           "reordered)" in report.problems
    assert any("bytes not in the manifest" in p for p in report.problems)
    assert any(p.startswith("manifest.head: says 11 entries") for p in report.problems)


def test_reordered_entries_detected(copy: Path) -> None:
    lines = (copy / "manifest.jsonl").read_text().splitlines()
    lines[3], lines[4] = lines[4], lines[3]
    (copy / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    report = verify_run(copy)
    assert "manifest.jsonl line 4: prev_hash does not match line 3 (entry removed or " \
           "reordered)" in report.problems


def test_truncated_warc_detected(copy: Path) -> None:
    path = _warc(copy)
    path.write_bytes(path.read_bytes()[:-100])
    last = _entries(copy)[-1]
    report = verify_run(copy)
    assert any(p.startswith(f"{last['warc_file']} offset {last['offset']}: truncated")
               for p in report.problems), report.problems


def test_deleted_head_and_cut_line_is_a_failure(crawled: dict, copy: Path) -> None:
    """A missing head is no longer read as "crawl killed": every run signs one at start."""
    (copy / "manifest.head").unlink()
    text = (copy / "manifest.jsonl").read_text()
    lines = text.splitlines()
    (copy / "manifest.jsonl").write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:40])
    report = verify_run(copy, home=crawled["home"])
    assert report.status == "TAMPERED"
    assert any(p.startswith("manifest.head missing") for p in report.problems)
    assert "manifest.jsonl line 11: not valid JSON (truncated or edited)" in report.problems
    assert any("bytes after the last manifest record" in p for p in report.problems)


def test_cli_verify_exit_codes(crawled: dict, copy: Path) -> None:
    trawl = [*TRAWL, "evidence", "verify"]
    ok = subprocess.run(trawl + [str(crawled["run_dir"]), "--json"], capture_output=True,
                        text=True, cwd=REPO)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True
    lines = (copy / "manifest.jsonl").read_text().splitlines()
    (copy / "manifest.jsonl").write_text("\n".join(lines[:3] + lines[4:]) + "\n")
    env = {**os.environ, "TRAWL_HOME": str(crawled["home"])}
    bad = subprocess.run(trawl + [str(copy)], capture_output=True, text=True, cwd=REPO, env=env)
    assert bad.returncode == 1
    assert bad.stdout.startswith("TAMPERED") and "line 4: prev_hash" in bad.stdout


def test_sigkilled_crawl_leaves_a_valid_prefix(tmp_path: Path) -> None:
    """kill -9 in the middle of a crawl: what is on disk is a valid prefix of an open
    (interrupted) run, not tampering; recovery by the next writer makes it verify."""
    import signal
    import sys
    import time

    from tests.crawler.net_crawl import HERE
    from tests.crawler.net_servers import clear_site

    run_dir = tmp_path / "home" / "runs" / "killed-run"
    run_dir.mkdir(parents=True)
    with clear_site(pages=400, per_page=1) as site:
        config = {"start_urls": [f"http://127.0.0.1:{site.port}/"],
                  "follow_css": "a.page::attr(href)", "items_out": str(tmp_path / "items.jsonl"),
                  "settings": {"TRAWL_RUN_ID": "killed-run", "TRAWL_RUN_DIR": str(run_dir),
                               "TRAWL_HOME": str(tmp_path / "home"), "CONCURRENT_REQUESTS": 2,
                               "TRAWL_EVIDENCE_SYNC_INTERVAL": 0.2, "DOWNLOAD_DELAY": 0.01,
                               "DOWNLOADER_MIDDLEWARES": {
                                   "crawler.evidence.middleware.WarcEvidenceMiddleware": 950}}}
        (tmp_path / "config.json").write_text(json.dumps(config))
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRAWL_")}
        env["PYTHONPATH"] = str(REPO)
        proc = subprocess.Popen([sys.executable, str(HERE / "net_spider.py"), str(tmp_path / "config.json")],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        manifest = run_dir / "manifest.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if manifest.exists() and manifest.read_bytes().count(b"\n") >= 40:
                break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert json.loads((run_dir / "manifest.head").read_text())["state"] == "open"
    report = verify_run(run_dir)
    assert report.status == "INTERRUPTED", report.problems
    assert report.records >= 40 and any(w.startswith("run interrupted") for w in report.warnings)

    from tests.crawler.evidence_util import writer_for

    resumed = writer_for(tmp_path / "home", "killed-run")
    resumed.close()
    report = verify_run(run_dir)
    assert report.ok, report.problems
