"""Reading pages back out of WARCs (crawler.evidence.reader), the snippet expression of
`trawl sites test`, and that a crawl's --resume never picks an ingest or reprocess run."""
from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from core.errors import TrawlError
from crawler.evidence.reader import FIRST_READ, EvidenceReadError, iter_warc_pages, read_member, read_record
from crawler.sitedef.selectors import Expression

PAGES = {
    "http://m.example/listing/1": ("<html><h1>One</h1></html>", "text/html; charset=utf-8", ""),
    "http://m.example/listing/2": ("<html><h1>Zwei – 2</h1></html>", "text/html; charset=utf-8", "gzip"),
    "http://m.example/logo.png": ("\x89PNG", "image/png", ""),
}


def write_warc(path: Path) -> None:
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for url, (text, content_type, encoding) in PAGES.items():
            body = text.encode("utf-8")
            headers = [("Content-Type", content_type)]
            if encoding == "gzip":
                body = gzip.compress(body)
                headers.append(("Content-Encoding", "gzip"))
            request = writer.create_warc_record(url, "request", payload=io.BytesIO(b""),
                                                http_headers=StatusAndHeaders("GET / HTTP/1.1", [], is_http_request=True))
            writer.write_record(request)
            response = writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                 http_headers=StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1"))
            writer.write_record(response)


def test_every_response_of_a_warc_comes_back_with_its_body_and_a_readable_offset(tmp_path: Path) -> None:
    warc = tmp_path / "capture.warc.gz"
    write_warc(warc)

    pages = list(iter_warc_pages(warc))

    assert [p.url for p in pages] == list(PAGES)
    assert [p.text for p in pages if p.is_page] == ["<html><h1>One</h1></html>", "<html><h1>Zwei – 2</h1></html>"]
    assert [p.is_page for p in pages] == [True, True, False]
    assert pages[0].captured_at.endswith("Z") and pages[0].status == 200
    for page in pages:  # the offset is where that record starts: read alone, it is the same page
        again = read_record(warc, page.offset)
        assert (again.url, again.body) == (page.url, page.body)
    with pytest.raises(EvidenceReadError, match="not the start of a gzip record"):
        read_record(warc, pages[1].offset + 3)


def test_a_member_read_in_several_steps_is_the_bytes_written(tmp_path: Path) -> None:
    """Records smaller and larger than one read step (incompressible bodies, so a member is
    about as long as its body), each followed by another: read_member gives exactly the
    member's bytes, however many reads it took."""
    sizes = [10, FIRST_READ - 700, FIRST_READ, 3 * FIRST_READ + 5, 9 * FIRST_READ, 20]
    warc = tmp_path / "sizes.warc.gz"
    offsets = []
    with warc.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for number, size in enumerate(sizes):
            offsets.append(handle.tell())
            record = writer.create_warc_record(f"http://m.example/p/{number}", "resource",
                                               payload=io.BytesIO(os.urandom(size)), warc_content_type="application/octet-stream")
            writer.write_record(record)
        offsets.append(handle.tell())
    data = warc.read_bytes()
    for number, size in enumerate(sizes):
        member = read_member(warc, offsets[number])
        assert member == data[offsets[number]:offsets[number + 1]], size
        assert len(read_record(warc, offsets[number]).body) == size


@pytest.mark.parametrize(("expr", "element"), [
    ("//div[@class='x']/p[1]//text()", "//div[@class='x']/p[1]"),
    ("//h1/text()", "//h1"),
    ("//a/@href", "//a"),
    ("//td[2]", "//td[2]"),
], ids=lambda v: str(v))
def test_the_element_a_value_came_from(expr: str, element: str) -> None:
    assert Expression("xpath", expr).element_expr.expr == element


def test_resume_never_picks_an_ingest_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crawler.engine.run import resumable_run

    monkeypatch.setenv("TRAWL_HOME", str(tmp_path))
    run = tmp_path / "runs" / "hansa-20261130T000000Z-ab12"
    run.mkdir(parents=True)
    (run / "stats.json").write_text(json.dumps({"kind": "ingest", "status": "running", "pid": 4194000}))
    (run / "manifest.head").write_text(json.dumps({"state": "open"}))  # killed mid-ingest: left open
    with pytest.raises(TrawlError, match="no interrupted run to resume"):
        resumable_run("hansa")
