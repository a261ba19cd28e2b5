"""The crawl's WARC records (crawler/evidence/records.py) against warcio's general path, the
plain reference: the same record headers in the same order and the same bytes, for the records
a crawl writes (requests with and without bodies, responses, redacted and non-ASCII headers)
and the ones that go to warcio unchanged (resources, warcinfo, a record without a length)."""
from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.recordbuilder import RecordBuilder
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser

from core.redact import redact_records
from crawler.evidence.records import Sha256WARCWriter, build_record, serialize_record

TRAWL_HEADERS = {"WARC-Trawl-Run": "run-1", "WARC-Trawl-Mirror": "http://m.onion/", "WARC-Trawl-Proxy": ""}


@pytest.fixture
def fixed_ids_and_dates(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Record ids and dates from a counter, so two builders' records can be compared byte for
    byte (call the returned function before each builder); both paths ask warcio's own
    functions for them.  Every third date has no microseconds, as warcio writes them."""
    def restart() -> None:
        numbers = count()
        monkeypatch.setattr(StatusAndHeadersParser, "make_warc_id",
                            staticmethod(lambda id_=None: f"<urn:uuid:00000000-0000-4000-8000-{next(numbers):012d}>"))
        dates = iter([f"2026-12-01T03:00:{n % 60:02d}.{n:06d}Z" if n % 3 else f"2026-12-01T03:00:{n % 60:02d}Z"
                      for n in range(10_000)])
        monkeypatch.setattr(RecordBuilder, "_make_warc_date", classmethod(
            lambda cls, use_micros=False: next(dates) if use_micros else re.sub(r"\.\d+Z$", "Z", next(dates))))

    restart()
    return restart


def warcio_bytes(record: Any) -> bytes:
    out = io.BytesIO()
    Sha256WARCWriter(None, gzip=False, warc_version="1.1")._write_warc_record(out, record)
    return out.getvalue()


def request_http(method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> StatusAndHeaders:
    http = StatusAndHeaders(f"{method} {path} HTTP/1.1", [("Host", "m.onion"), *headers], protocol="HTTP/1.1",
                            is_http_request=True)
    if body:
        http.replace_header("Content-Length", str(len(body)))
    return http


def response_http(status: str, headers: list[tuple[str, str]], body: bytes) -> StatusAndHeaders:
    return StatusAndHeaders(status, [*headers, ("Content-Length", str(len(body)))], protocol="HTTP/1.1")


PAGE = "<html><body><h1>4-MMC 5g</h1><p>€ 45,00 · ships from NL</p></body></html>".encode()
EXCHANGES = {
    "GET listing": ("GET", "/listing/42", [("User-Agent", "Mozilla/5.0"), ("Cookie", "[REDACTED]")], b"",
                    "200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Set-Cookie", "[REDACTED]")], PAGE),
    "POST login": ("POST", "/login", [("Content-Type", "application/x-www-form-urlencoded")],
                   b"user=analyst&password=%5BREDACTED%5D", "302 Found", [("Location", "/")], b""),
    "empty 204": ("GET", "/ping?x=1", [], b"", "204 No Content", [], b""),
    # header bytes reach the records decoded as latin-1 (middleware._header_pairs); URLs are percent-encoded
    "non-ASCII header": ("GET", "/c/caf%C3%A9", [("Referer", "http://m.onion/caf\u00c3\u00a9")], b"",
                         "200 OK", [("X-Title", "Stra\u00dfe \u00e2\u0080\u0094 5 g")], b"\x00\xff binary"),
    "gzip body": ("GET", "/g", [], b"", "200 OK", [("Content-Encoding", "gzip")], b"\x1f\x8b\x08\x00junk"),
    "big page": ("GET", "/big", [], b"", "200 OK", [("Content-Type", "text/html")], PAGE * 2000),
}


def build_pair(builder: str, exchange: tuple[Any, ...], url: str) -> tuple[Any, Any]:
    method, path, req_headers, req_body, status, resp_headers, resp_body = exchange
    req_http, resp_http = request_http(method, path, req_headers, req_body), response_http(status, resp_headers, resp_body)
    if builder == "ours":
        return (build_record(url, "request", req_body, http=req_http, warc_headers=dict(TRAWL_HEADERS)),
                build_record(url, "response", resp_body, http=resp_http, warc_headers=dict(TRAWL_HEADERS)))
    make = Sha256WARCWriter(None, gzip=False, warc_version="1.1").create_warc_record
    return (make(url, "request", payload=io.BytesIO(req_body), length=len(req_body), http_headers=req_http,
                 warc_headers_dict=dict(TRAWL_HEADERS)),
            make(url, "response", payload=io.BytesIO(resp_body), length=len(resp_body), http_headers=resp_http,
                 warc_headers_dict=dict(TRAWL_HEADERS)))


def written(builder: str, exchange: tuple[Any, ...], url: str) -> Iterator[bytes]:
    """The exchange as the evidence writer handles it: linked, redacted, then serialised."""
    request, response = build_pair(builder, exchange, url)
    request.rec_headers.add_header("WARC-Concurrent-To", response.rec_headers.get_header("WARC-Record-ID"))
    redact_records([request, response])
    for record in (request, response):
        yield serialize_record(record) if builder == "ours" else warcio_bytes(record)


@pytest.mark.parametrize("name", EXCHANGES, ids=str)
def test_exchange_bytes_equal_warcios(name: str, fixed_ids_and_dates: Callable[[], None]) -> None:
    url = f"http://m.onion{EXCHANGES[name][1]}"
    ours = list(written("ours", EXCHANGES[name], url))
    fixed_ids_and_dates()
    warcios = list(written("warcio", EXCHANGES[name], url))
    assert ours == warcios
    for blob in ours:  # and warcio reads them back, digests checked
        for record in ArchiveIterator(io.BytesIO(blob), check_digests=True):
            record.content_stream().read()
            assert record.digest_checker.passed is not False


def test_records_warcio_would_build_differently_go_to_warcio(fixed_ids_and_dates: Callable[[], None]) -> None:
    make = Sha256WARCWriter(None, gzip=False, warc_version="1.1").create_warc_record
    # a caller's WARC-Date is kept where warcio keeps it (in place), not appended
    dated = {**TRAWL_HEADERS, "WARC-Date": "2020-01-01T00:00:00Z"}
    ours = build_record("http://m.onion/", "response", PAGE, http=response_http("200 OK", [], PAGE),
                        warc_headers=dict(dated))
    fixed_ids_and_dates()
    reference = make("http://m.onion/", "response", payload=io.BytesIO(PAGE), length=len(PAGE),
                     http_headers=response_http("200 OK", [], PAGE), warc_headers_dict=dict(dated))
    assert ours.rec_headers.headers == reference.rec_headers.headers
    assert serialize_record(ours) == warcio_bytes(reference)
    assert serialize_record(ours).count(b"WARC-Date: ") == 1


@pytest.mark.parametrize("kind", ["resource", "warcinfo", "unknown length"])
def test_records_serialised_as_warcio_does(kind: str, fixed_ids_and_dates: Callable[[], None]) -> None:
    """Records the crawl builds with warcio (browser-rendered pages, screenshots, warcinfo) and
    one warcio's path must decide (no length: the stream read to its end)."""
    def build() -> Any:
        writer = Sha256WARCWriter(None, gzip=False, warc_version="1.1")
        if kind == "resource":
            return writer.create_warc_record("http://m.onion/x", "resource", payload=io.BytesIO(PAGE), length=len(PAGE),
                                             warc_content_type="text/html; charset=utf-8",
                                             warc_headers_dict={**TRAWL_HEADERS, "WARC-Trawl-Rendered": "chromium"})
        if kind == "warcinfo":
            return writer.create_warcinfo_record("a.warc.gz", {"software": "trawl", "format": "WARC 1.1"})
        record = writer.create_warc_record("http://m.onion/u", "response",
                                           payload=io.BytesIO(b"HTTP/1.1 200 OK\r\nX: y\r\n\r\nbody"))
        record.length = None
        return record

    ours = serialize_record(build())
    fixed_ids_and_dates()
    assert ours == warcio_bytes(build())
