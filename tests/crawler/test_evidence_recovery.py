"""What a SIGKILL leaves in a run's evidence, and the recovery a resumed writer does:
records written but not yet in the manifest are chained, torn bytes are quarantined and
hashed, the resumed segment writes a new WARC file, and the run then verifies."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from core.records import Evidence, Listing, Records
from crawler.evidence.recover import evidence_left_open
from crawler.evidence.verify import verify_run
from crawler.evidence.writer import EvidenceWriter
from tests.crawler.evidence_util import exchange, writer_for

RUN_ID = "shop-20261123T100000Z-0bad"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("TRAWL_HOME", str(home))
    monkeypatch.delenv("TRAWL_EVIDENCE_HEADS_LOG", raising=False)
    monkeypatch.delenv("TRAWL_INDEX_URL", raising=False)
    return home


def _killed_run(home: Path, pages: int = 3) -> EvidenceWriter:
    """A writer whose group commit has not run yet (all manifest lines held), then the
    kill's loose ends: half a gzip member after the records and half a manifest line."""
    writer = writer_for(home, RUN_ID, fsync=True)
    writer.sync_interval = 3600.0  # nothing reaches manifest.jsonl: all lines pending
    for i in range(pages):
        exchange(writer, f"http://shop.example/p/{i}", f"<p>item {i}: $1{i}.00</p>".encode())
    assert writer.pending == 1 + 2 * pages and writer.manifest_path.stat().st_size == 0
    member = gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\n" + b"x" * 400)
    with writer.warc_path.open("ab") as fh:
        fh.write(member[: len(member) // 2])
    with writer.manifest_path.open("ab") as fh:
        fh.write(b'{"seq": 0, "warc_file": "warc/')
    return writer  # dropped without close(), as SIGKILL drops it


def _listing_citing(home: Path, writer: EvidenceWriter, url: str) -> None:
    warc_file, offset, payload = writer.captured[url]
    evidence = Evidence(run_id=RUN_ID, warc_file=warc_file.relative_to(home).as_posix(),
                        warc_offset=offset, payload_sha256=payload)
    from index.sqlite_backend import SqliteBackend

    backend = SqliteBackend(home / "index.sqlite")
    backend.write(Records(listings=[Listing(listing_id="shop:1", site="shop", market_kind="clearweb", url=url,
                                    title="item 1", crawled_at="2026-11-23T10:00:00Z", evidence=evidence)]))
    backend.close()


def test_killed_run_is_interrupted_then_recovered_and_verifies(home: Path) -> None:
    killed = _killed_run(home)
    run = killed.run_dir
    # the item stored before the kill cites a record the manifest does not hold yet
    _listing_citing(home, killed, "http://shop.example/p/1")

    before = verify_run(run)
    assert before.status == "INTERRUPTED" and before.state == "open"
    assert any("no record chained yet" in w for w in before.warnings), before.warnings
    assert any("not a chained record yet" in w for w in before.warnings), before.warnings

    resumed = writer_for(home, RUN_ID)
    recovery = resumed.recovery
    assert recovery is not None and recovery.adopted == 7  # warcinfo + 3 x (request, response)
    assert [t.split("@")[0] for t in recovery.torn] == ["manifest.jsonl", f"warc/{RUN_ID}-00000.warc.gz"]
    assert set(resumed.captured) == {f"http://shop.example/p/{i}" for i in range(3)}
    exchange(resumed, "http://shop.example/p/3", b"<p>item 3: $13.00</p>")
    resumed.close()

    files = sorted(p.name for p in (run / "warc").glob("*.warc.gz"))
    assert files == [f"{RUN_ID}-00000.warc.gz", f"{RUN_ID}-00001.warc.gz"]  # new file per segment
    quarantined = sorted(p.name for p in (run / "quarantine").iterdir())
    assert len(quarantined) == 2 and all(name.endswith(".torn") for name in quarantined)
    report = verify_run(run)
    assert report.ok, report.problems
    assert report.recovered == 7 and report.torn == 2 and report.records == 7 + 2 + 3  # + warcinfo, request, response
    assert report.checks["index"] == "ok (1 listings/vendors cite this run)"
    heads = [json.loads(x) for x in (run / "anchors" / "heads.jsonl").read_text().splitlines()]
    assert [(h["state"], h["segment"]) for h in heads] == [("open", 0), ("open", 1), ("closed", 1)]

    # a quarantined tail is evidence too: changing it is detected
    torn = run / "quarantine" / quarantined[0]
    torn.write_bytes(torn.read_bytes() + b"!")
    assert any("quarantined bytes differ" in p for p in verify_run(run).problems)


def test_corrupt_record_in_the_tail_is_quarantined_not_chained(home: Path) -> None:
    killed = _killed_run(home, pages=2)
    data = bytearray(killed.warc_path.read_bytes())
    # records 0..4 intact; damage the payload of the last complete one (re-gzipped so
    # only its digests can tell)
    path = killed.warc_path
    members, start = [], 0
    import zlib

    while start < len(data):
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        try:
            inflater.decompress(bytes(data[start:]))
        except zlib.error:
            break
        if not inflater.eof:
            break
        end = len(data) - len(inflater.unused_data)
        members.append((start, end))
        start = end
    last_start, last_end = members[-1]
    plain = gzip.decompress(bytes(data[last_start:last_end])).replace(b"$11.00", b"$99.00")
    path.write_bytes(bytes(data[:last_start]) + gzip.compress(plain) + bytes(data[last_end:]))
    resumed = writer_for(home, RUN_ID)
    assert resumed.recovery is not None and resumed.recovery.adopted == 4
    resumed.close()
    assert verify_run(resumed.run_dir).ok


def test_kill_before_the_first_record_is_interrupted_not_tampered(home: Path) -> None:
    run = home / "runs" / RUN_ID
    run.mkdir(parents=True)  # killed before the evidence writer opened
    report = verify_run(run)
    assert report.status == "INTERRUPTED" and not report.problems
    assert "killed before it opened" in report.warnings[0]
    (run / "stats.json").write_text('{"status": "running", "pid": -1}')  # what run.py writes first
    (run / "warc").mkdir()
    (run / "manifest.jsonl").touch()  # killed while the writer opened, before its open head
    assert verify_run(run).status == "INTERRUPTED" and evidence_left_open(run)
    writer = writer_for(home, RUN_ID)  # opened (signed open head), killed before a record
    del writer
    report = verify_run(run)
    assert report.status == "INTERRUPTED" and not report.problems, report.problems
    assert evidence_left_open(run)  # `trawl crawl SITE --resume` picks it up
    resumed = writer_for(home, RUN_ID)
    exchange(resumed, "http://shop.example/p/0", b"<p>item 0</p>")
    resumed.close()
    assert verify_run(run).ok and not evidence_left_open(run)


def test_recovery_killed_after_quarantining_is_finished_by_the_next_one(home: Path) -> None:
    """Killed after a torn tail was moved aside but before its manifest entry was written."""
    killed = _killed_run(home, pages=1)
    run = killed.run_dir
    warc = killed.warc_path
    data = warc.read_bytes()
    cut = len(data) - 20  # the half member written by _killed_run ends here
    (run / "quarantine").mkdir()
    (run / "quarantine" / f"{warc.name}@{cut}.torn").write_bytes(data[cut:])
    warc.write_bytes(data[:cut])
    resumed = writer_for(home, RUN_ID)
    assert resumed.recovery is not None
    assert any("left by an interrupted recovery" in t for t in resumed.recovery.torn)
    resumed.close()
    report = verify_run(run)
    assert report.ok, report.problems
    entries = [json.loads(x) for x in (run / "manifest.jsonl").read_text().splitlines()]
    orphan = [e for e in entries if e["type"] == "torn-tail" and e["source_offset"] == cut]
    assert len(orphan) == 1 and orphan[0]["source_file"] == f"warc/{warc.name}"
