"""Rewriting a run's evidence is detectable: a cut with the head deleted fails, and a full
forgery (price changed, digests, offsets, chain and head recomputed) is caught by the
signature, by the published heads log and by the index cross-check — each on its own."""
from __future__ import annotations

import gzip
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from core.records import Evidence, Listing, Records
from crawler.evidence.anchor import AnchorConfig, HeadAnchor
from crawler.evidence.keys import load_signing_key, rotate_signing_key
from crawler.evidence.records import Sha256WARCWriter
from crawler.evidence.verify import verify_run
from crawler.evidence.writer import canonical_entry_hash, genesis_hash, sha256_hex
from tests.crawler.conftest import REPO
from tests.crawler.evidence_util import make_run

RUN_ID = "shop-20261123T100000Z-abcd"


def _entries(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "manifest.jsonl").read_text().splitlines()]


def _prefixes(report_problems: list[str]) -> set[str]:
    return {p.split(":", 1)[0] for p in report_problems}


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("TRAWL_HOME", str(home))
    monkeypatch.delenv("TRAWL_EVIDENCE_HEADS_LOG", raising=False)
    monkeypatch.delenv("TRAWL_INDEX_URL", raising=False)
    return make_run(home, RUN_ID, pages=5)  # warcinfo + 5 x (request, response) = 11 records


def _store_listing(home: Path, run: Path, page: int) -> None:
    """What the crawl's store stage writes: a listing whose evidence cites the response."""
    from index.sqlite_backend import SqliteBackend

    entry = [e for e in _entries(run) if e["type"] == "response"][page]
    evidence = Evidence(run_id=run.name, warc_file=f"runs/{run.name}/{entry['warc_file']}",
                        warc_offset=entry["offset"], payload_sha256=entry["payload_sha256"])
    listing = Listing(listing_id=f"shop:{page}", site="shop", market_kind="clearweb",
                      url=entry["target_uri"], title=f"page {page}", price_amount=10.0 + page,
                      price_currency="USD", crawled_at="2026-11-23T10:00:00Z", evidence=evidence)
    backend = SqliteBackend(home / "index.sqlite")
    backend.write(Records(listings=[listing]))
    backend.close()


def test_key_is_private_and_rotation_keeps_old_heads_verifiable(run: Path) -> None:
    home = run.parent.parent
    key_file = home / "keys" / "evidence-ed25519.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    signed_by = json.loads((run / "manifest.head").read_text())["key_id"]
    old, new = rotate_signing_key(home)
    assert old == signed_by and new != old and load_signing_key(home).key_id == new
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert verify_run(run).ok  # signed by the retired key, whose public key is kept
    later = make_run(home, "shop-20261124T100000Z-beef", pages=1)
    assert json.loads((later / "manifest.head").read_text())["key_id"] == new
    assert verify_run(later).ok


def test_cut_last_six_records_and_delete_head_fails(run: Path) -> None:
    entries = _entries(run)
    keep = entries[:-6]
    (run / "manifest.jsonl").write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in keep))
    warc = run / keep[-1]["warc_file"]
    with warc.open("r+b") as fh:
        fh.truncate(keep[-1]["offset"] + keep[-1]["length"])
    (run / "manifest.head").unlink()
    report = verify_run(run)
    assert not report.ok and report.status == "TAMPERED"
    assert any(p.startswith("manifest.head missing") for p in report.problems), report.problems
    env = {**os.environ, "TRAWL_HOME": str(run.parent.parent), "PYTHONPATH": str(REPO)}
    cli = subprocess.run([sys.executable, "-m", "trawl.cli", "evidence", "verify", RUN_ID],
                         env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 1 and cli.stdout.startswith("TAMPERED"), cli.stdout + cli.stderr
    assert "manifest.head missing" in cli.stdout

    # putting back the run's own earlier (open, 0 entries) signed head does not help either:
    # the heads log's last head for the run is the closed one
    opened = (run / "anchors" / "heads.jsonl").read_text().splitlines()[0]
    (run / "manifest.head").write_text(opened + "\n")
    report = verify_run(run)
    assert any(p.startswith("heads log: the last head published for this run (11 entries, closed")
               for p in report.problems), report.problems


def _forge(run: Path, page: int, find: bytes, replace: bytes) -> None:
    """Change one response body and recompute everything a manifest and head are made of."""
    entries = _entries(run)
    target = [e for e in entries if e["type"] == "response"][page]
    path = run / target["warc_file"]
    data = path.read_bytes()
    blobs = {e["seq"]: data[e["offset"]:e["offset"] + e["length"]] for e in entries}
    record = next(iter(ArchiveIterator(io.BytesIO(blobs[target["seq"]]))))
    body = record.content_stream().read()
    assert find in body
    body = body.replace(find, replace)
    http = record.http_headers
    http.replace_header("Content-Length", str(len(body)))
    writer = Sha256WARCWriter(None, gzip=False, warc_version="1.1")
    keep = {k: v for k, v in record.rec_headers.headers
            if k in ("WARC-Record-ID", "WARC-Date", "WARC-Trawl-Run", "WARC-Concurrent-To")}
    forged = writer.create_warc_record(target["target_uri"], "response", payload=io.BytesIO(body),
                                       length=len(body), http_headers=http, warc_headers_dict=keep)
    buf = io.BytesIO()
    writer._write_warc_record(buf, forged)
    blobs[target["seq"]] = gzip.compress(buf.getvalue())
    out, prev, offset = [], genesis_hash(run.name), 0
    for e in entries:
        blob = blobs[e["seq"]]
        e = dict(e, offset=offset, length=len(blob), record_sha256=sha256_hex(blob), prev_hash=prev)
        if e["seq"] == target["seq"]:
            e["payload_sha256"] = sha256_hex(body)
        e["entry_hash"] = canonical_entry_hash(e)
        prev, offset = e["entry_hash"], offset + len(blob)
        out.append(e)
    path.write_bytes(b"".join(blobs[e["seq"]] for e in entries))
    (run / "manifest.jsonl").write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in out))


def _resign(run: Path, key_home: Path, heads_log: Path) -> None:
    """The forger's new heads: signed with the key under key_home, logged to heads_log."""
    for name in ("manifest.head", "anchors/heads.jsonl"):
        (run / name).unlink()
    anchor = HeadAnchor(AnchorConfig(home=key_home, heads_log=heads_log), run, run.name)
    entries = _entries(run)
    anchor.publish(0, genesis_hash(run.name), "open")
    anchor.publish(len(entries), entries[-1]["entry_hash"], "closed")


def test_full_forgery_is_detected_by_each_check_on_its_own(run: Path, tmp_path: Path) -> None:
    home = run.parent.parent
    real_log = home / "evidence" / "heads.jsonl"
    _store_listing(home, run, page=2)
    assert verify_run(run).ok
    _forge(run, page=2, find=b"$12.00", replace=b"$999,999.00")
    forged_run = run

    # 1. no key: the forger signs with a key of their own and even controls the heads
    #    log, and the index is not consulted -> only the signature check can tell
    _resign(forged_run, tmp_path / "forger", real_log)
    report = verify_run(forged_run, check_index=False)
    assert report.problems and _prefixes(report.problems) == {"signature"}, report.problems
    assert "signed by unknown key" in report.problems[0]

    # 2. stolen key, heads log out of reach -> only the published heads log can tell
    _resign(forged_run, home, tmp_path / "forger-scratch.jsonl")
    report = verify_run(forged_run, check_index=False)
    assert report.problems and _prefixes(report.problems) == {"heads log"}, report.problems

    # 3. stolen key and the heads log rewritten too -> only the index cross-check can tell
    _resign(forged_run, home, real_log)
    assert _prefixes(verify_run(forged_run, check_index=False).problems) == set()
    report = verify_run(forged_run)
    assert report.problems and _prefixes(report.problems) == {"index"}, report.problems
    assert "listing shop:2 stored payload sha256" in report.problems[0]
    assert "record rewritten" in report.problems[0]


def test_index_reference_to_an_unchained_record_fails(run: Path) -> None:
    home = run.parent.parent
    _store_listing(home, run, page=1)
    assert verify_run(run).ok
    entries = _entries(run)
    last = entries[-1]
    from index.sqlite_backend import SqliteBackend

    backend = SqliteBackend(home / "index.sqlite")
    listing = backend.get_listing("shop:1")
    assert listing is not None
    listing.evidence.warc_offset = last["offset"] + last["length"]  # past the chain's end
    backend.write(Records(listings=[listing]))
    backend.close()
    report = verify_run(run)
    assert any(p.startswith("index: listing shop:1 cites") and "not a chained record" in p
               for p in report.problems), report.problems


def test_run_missing_from_the_heads_log_fails(run: Path, tmp_path: Path) -> None:
    other_log = tmp_path / "elsewhere.jsonl"
    other_log.write_text("")
    report = verify_run(run, heads_log=other_log)
    assert any(p == f"heads log: run {RUN_ID} was never published to {other_log}"
               for p in report.problems), report.problems


def test_heads_are_posted_to_the_webhook_with_an_hmac(tmp_path: Path) -> None:
    import hashlib
    import hmac
    import http.server
    import threading

    received: list[tuple[bytes, str]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append((self.rfile.read(int(self.headers["Content-Length"])),
                             self.headers.get("X-Trawl-Signature", "")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    home = tmp_path / "home"
    run_dir = home / "runs" / RUN_ID
    run_dir.mkdir(parents=True)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/heads"
        anchor = HeadAnchor(AnchorConfig(home=home, heads_log=home / "heads.jsonl", webhook_url=url,
                                         webhook_secret="s3cret-for-hmac"), run_dir, RUN_ID)
        signed = anchor.publish(0, genesis_hash(RUN_ID), "open")
    finally:
        server.shutdown()
        server.server_close()
    assert not anchor.failures
    ((body, signature),) = received
    assert json.loads(body) == signed and b"s3cret" not in body
    assert signature == "sha256=" + hmac.new(b"s3cret-for-hmac", body, hashlib.sha256).hexdigest()

    # a receiver that is down: logged, counted, kept for redelivery; the head still exists
    dead = HeadAnchor(AnchorConfig(home=home, heads_log=home / "heads.jsonl", webhook_url=url, timeout=2),
                      run_dir, RUN_ID)
    dead.publish(0, genesis_hash(RUN_ID), "closed")
    assert dead.failures and dead.failures[0].startswith("webhook: ")
    assert len((home / "evidence" / "undelivered.jsonl").read_text().splitlines()) == 1
    assert json.loads((run_dir / "manifest.head").read_text())["state"] == "closed"


def test_keys_cli_rotate_and_show(run: Path) -> None:
    home = run.parent.parent
    env = {**os.environ, "TRAWL_HOME": str(home), "PYTHONPATH": str(REPO)}
    old = json.loads((run / "manifest.head").read_text())["key_id"]
    rotated = subprocess.run([sys.executable, "-m", "trawl.cli", "evidence", "keys", "rotate"],
                             env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert rotated.returncode == 0, rotated.stderr
    new = load_signing_key(home).key_id
    assert rotated.stdout.strip().startswith(f"rotated: {old} -> {new}")
    shown = subprocess.run([sys.executable, "-m", "trawl.cli", "evidence", "keys", "show"],
                           env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and f"# current signing key: {new}" in shown.stdout
    assert f"# {old}\n" in shown.stdout and f"# {new}  (current)" in shown.stdout
    assert shown.stdout.count("BEGIN PUBLIC KEY") == 2 and "PRIVATE" not in shown.stdout


def test_head_missed_by_a_down_heads_log_is_published_later(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("TRAWL_HOME", str(home))
    monkeypatch.delenv("TRAWL_INDEX_URL", raising=False)
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the heads log's directory should be\n")
    monkeypatch.setenv("TRAWL_EVIDENCE_HEADS_LOG", str(blocked / "heads.jsonl"))
    run = make_run(home, RUN_ID, pages=1)  # the crawl goes on without its heads log
    assert (run / "manifest.head").is_file()
    good_log = tmp_path / "anchor" / "heads.jsonl"
    monkeypatch.setenv("TRAWL_EVIDENCE_HEADS_LOG", str(good_log))
    report = verify_run(run)
    assert any(p.startswith(f"heads log: run {RUN_ID} was never published") for p in report.problems)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    published = subprocess.run([sys.executable, "-m", "trawl.cli", "evidence", "publish", RUN_ID],
                               env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert published.returncode == 0, published.stderr
    assert verify_run(run).ok
    assert len(good_log.read_text().splitlines()) == 1
