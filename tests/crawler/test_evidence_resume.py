"""A resumed run continues the manifest chain and finds bodies it already preserved."""
from __future__ import annotations

import io
import json
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders

from crawler.evidence.verify import verify_run
from crawler.evidence.writer import EvidenceWriter
from tests.crawler.evidence_util import anchor_for


def _exchange(writer: EvidenceWriter, url: str, body: bytes) -> None:
    build = writer.writer.create_warc_record
    request = build(url, "request", payload=io.BytesIO(b""), length=0,
                    http_headers=StatusAndHeaders("GET / HTTP/1.1", [("Host", "x")],
                                                  protocol="HTTP/1.1", is_http_request=True))
    response = build(url, "response", payload=io.BytesIO(body), length=len(body),
                     http_headers=StatusAndHeaders("200 OK", [("Content-Length", str(len(body)))],
                                                   protocol="HTTP/1.1"))
    writer.write_exchange(url, request, response, [])


def test_resume_continues_chain_and_rotation(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run = home / "runs" / "run-1"
    run.mkdir(parents=True)
    first = EvidenceWriter(run, "run-1", max_bytes=2000, fsync=True, sync_interval=0,
                           anchor=anchor_for(home, run))
    for i in range(5):
        _exchange(first, f"http://a.example/{i}", b"x" * 300 + str(i).encode())
    assert len(list((run / "warc").glob("*.warc.gz"))) >= 2  # rotated by size
    del first  # killed after its last sync: never closed

    second = EvidenceWriter(run, "run-1", max_bytes=2000, sync_interval=0,
                            anchor=anchor_for(home, run))
    assert second.recovery is not None and not second.recovery.changed
    warc_file, offset, payload = second.captured["http://a.example/3"]
    assert warc_file.exists() and len(payload) == 64 and offset > 0
    files_before = set((run / "warc").glob("*.warc.gz"))
    _exchange(second, "http://a.example/5", b"new body")
    second.close()
    assert set((run / "warc").glob("*.warc.gz")) > files_before  # new file, old untouched
    entries = [json.loads(x) for x in (run / "manifest.jsonl").read_text().splitlines()]
    assert [e["seq"] for e in entries] == list(range(len(entries)))
    report = verify_run(run)
    assert report.ok, report.problems
    assert report.records == len(entries)
