"""WARC records of the crawl's exchanges: built and serialised in one pass over bytes in memory.

warcio's general path (`RecordBuilder.create_warc_record`, `BaseWARCWriter._write_warc_record`)
handles streams of unknown length: it reads each payload through a generator twice (once per
digest), scans the header list for every header it sets, and base32-decodes what it just
encoded.  The crawl process writes a request and a response record for every page on the
thread that drives the crawl; that path cost ~0.33 ms an exchange (~10% of the crawl
process's CPU on the testbed).  Here the payload is bytes already in memory: each digest is
one `hashlib` call and the headers are built in order once.

The records are warcio's own `ArcWarcRecord`s (redaction, `write_exchange` and readers use
them as before) and the bytes are warcio's: `tests/crawler/test_evidence_records.py` checks
them equal byte for byte to warcio's output for requests, responses, resources, warcinfo,
redacted and non-ASCII headers.  Anything this path does not cover (a record without a length,
a non-`BytesIO` stream, a revisit, a caller's header that warcio would replace in place) goes
to warcio unchanged.
"""
from __future__ import annotations

import base64
import hashlib
import io
from functools import lru_cache
from typing import Any

from warcio.recordbuilder import RecordBuilder
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.warcwriter import WARCWriter

WARC_VERSION = "WARC/1.1"
# headers warcio's builder sets itself: a caller passing one of them gets warcio's in-place replace
_BUILDER_HEADERS = frozenset({"warc-type", "warc-record-id", "warc-target-uri", "warc-date",
                              "warc-payload-digest", "content-type"})


class Sha256WARCWriter(WARCWriter):
    """warcio's writer with sha256 digests (what the fast path writes, and its fallback)."""

    @staticmethod
    def _create_digester() -> Any:
        from warcio.utils import Digester

        return Digester("sha256")


_WARCIO = Sha256WARCWriter(None, gzip=False, warc_version="1.1")


@lru_cache(maxsize=64)  # the empty body of every GET request, among others
def sha256_label(data: bytes) -> str:
    """A digest in warcio's notation: `sha256:` and the RFC 4648 base32 of the raw digest.

    >>> sha256_label(b"")
    'sha256:4OYMIQUY7QOBJGX36TEJS35ZEQT24QPEMSNZGTFESWMRW6CSXBKQ===='
    """
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode("ascii")


def build_record(uri: str, rec_type: str, payload: bytes, *, http: StatusAndHeaders | None = None,
                 warc_headers: dict[str, str] | None = None, content_type: str = "") -> Any:
    """The record `create_warc_record(uri, rec_type, payload=BytesIO(payload), length=len(payload),
    http_headers=http, warc_headers_dict=warc_headers, warc_content_type=content_type)` of a
    sha256, WARC/1.1 writer returns, with the same headers in the same order."""
    extra = warc_headers or {}
    if http is None or any(name.lower() in _BUILDER_HEADERS for name in extra):
        return _WARCIO.create_warc_record(uri, rec_type, payload=io.BytesIO(payload), length=len(payload),
                                          warc_content_type=content_type, warc_headers_dict=extra,
                                          http_headers=http)
    headers = [*extra.items(), ("WARC-Type", rec_type), ("WARC-Record-ID", StatusAndHeadersParser.make_warc_id())]
    if uri:
        headers.append(("WARC-Target-URI", uri))
    headers.append(("WARC-Date", RecordBuilder._make_warc_date(use_micros=True)))
    if rec_type not in RecordBuilder.NO_PAYLOAD_DIGEST_TYPES:
        headers.append(("WARC-Payload-Digest", sha256_label(payload)))
    content_type = content_type or RecordBuilder.WARC_RECORDS.get(rec_type, "application/warc-record")
    record = ArcWarcRecord("warc", rec_type, StatusAndHeaders("", headers, protocol=WARC_VERSION),
                           io.BytesIO(payload), http, content_type, len(payload))
    record.payload_length = len(payload)
    return record


def serialize_record(record: Any) -> bytes:
    """The bytes warcio's `_write_warc_record` writes for `record` (uncompressed), setting the
    same headers on it (block and payload digests, Content-Type, Content-Length)."""
    stream = record.raw_stream
    if record.length is None or record.rec_type == "revisit" or not isinstance(stream, io.BytesIO):
        out = io.BytesIO()
        _WARCIO._write_warc_record(out, record)
        return out.getvalue()
    http = record.http_headers
    head = b""
    if http:
        http.compute_headers_buffer(None)
        head = http.headers_buff
    payload = stream.read()  # warcio writes the stream from where it is to its end
    rec_headers = record.rec_headers
    headers = rec_headers.headers
    # one pass for what warcio's get_header (first match) and replace_header (last match) scan for
    first: dict[str, str] = {}
    last: dict[str, int] = {}
    for index, (name, value) in enumerate(headers):
        lowered = name.lower()
        first.setdefault(lowered, value)
        last[lowered] = index
    if not first.get("warc-payload-digest") and record.rec_type not in RecordBuilder.NO_PAYLOAD_DIGEST_TYPES:
        headers.append(("WARC-Payload-Digest", sha256_label(payload)))
    if not first.get("warc-block-digest"):
        headers.append(("WARC-Block-Digest", sha256_label(head + payload if http else payload)))
    if record.content_type is not None:
        _replace(headers, last, "Content-Type", record.content_type)
    if http and record.payload_length >= 0:
        record.length = len(head) + record.payload_length
    _replace(headers, last, "Content-Length", str(record.length))
    return b"".join((rec_headers.to_bytes(encoding="utf-8"), head, payload, b"\r\n\r\n"))


def _replace(headers: list[tuple[str, str]], last: dict[str, int], name: str, value: str) -> None:
    """warcio's `replace_header`: the last header of that name gets the value, else one is added."""
    index = last.get(name.lower())
    if index is None:
        headers.append((name, value))
    else:
        headers[index] = (headers[index][0], value)
