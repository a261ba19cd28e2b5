"""The Scrapy side of evidence: a downloader middleware that hands every response (and its
request, login secrets redacted) to the run's `EvidenceWriter` (crawler.evidence.writer).

Kept apart from the writer so that the WARC and manifest code has no Scrapy in it: verify,
recover and (later) offline ingest use the writer and the chain without a crawl."""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http.headers import Headers
from warcio.statusandheaders import StatusAndHeaders

from core.defaults import SCRAPY_DEFAULTS
from core.errors import TrawlError
from core.home import configured_home
from core.items import EvidenceRef
from crawler.evidence.anchor import AnchorConfig
from crawler.evidence.records import build_record
from crawler.evidence.writer import (
    REDACTED,
    RENDERED_CONTENT_TYPE,
    EvidenceWriter,
    evidence_barrier,
    evidence_barrier_background,
)

if TYPE_CHECKING:
    from concurrent.futures import Future

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

# Session tokens are credentials too (imported cookies come from secret files): their
# values are never stored, on any request, nor the session cookies a site sets.  Lower case:
# header names are compared case-insensitively.
SECRET_REQUEST_HEADERS = frozenset({b"authorization", b"cookie", b"proxy-authorization"})
SECRET_RESPONSE_HEADERS = frozenset({b"set-cookie"})

MIDDLEWARE_PATH = "crawler.evidence.middleware.WarcEvidenceMiddleware"
MIDDLEWARE_ORDER = 950  # after compression/redirect/retry: sees responses as received


@dataclass(frozen=True)
class EvidenceConfig:
    run_id: str
    run_dir: Path
    home: Path
    max_bytes: int
    fsync: bool
    sync_interval: float
    proxy: str
    anchor: AnchorConfig | None = None


class WarcEvidenceMiddleware:
    """Downloader middleware writing every response (and its request) to the run's WARC."""

    def __init__(self, config: EvidenceConfig, stats: Any = None) -> None:
        from crawler.evidence.anchor import HeadAnchor

        self.config, self.stats = config, stats
        self.anchor = (HeadAnchor(config.anchor, config.run_dir, config.run_id)
                       if config.anchor is not None else None)
        self.writer = EvidenceWriter(config.run_dir, config.run_id, config.max_bytes,
                                     config.fsync, config.sync_interval, anchor=self.anchor)
        self._sync_call: Any = None
        self._relative: tuple[Path | None, str] = (None, "")  # the WARC file, relative to home
        recovery = self.writer.recovery
        if stats is not None and recovery is not None:
            stats.inc_value("trawl/evidence/recovered_records", recovery.adopted)
            stats.inc_value("trawl/evidence/torn_tails", len(recovery.torn))
        self._count_publish_failures()

    def _count_publish_failures(self) -> None:
        if self.anchor is not None and self.anchor.failures and self.stats is not None:
            self.stats.inc_value("trawl/evidence/publish_failed", len(self.anchor.failures))
            self.anchor.failures.clear()

    def barrier(self) -> None:
        self.writer.sync()

    def barrier_in_background(self) -> Future[None] | None:
        return self.writer.sync_in_background()

    def _sync_in_background(self) -> None:
        future = self.writer.sync_in_background()
        if future is not None:  # nobody waits for this one: its failure is logged here
            future.add_done_callback(_log_sync_failure)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcEvidenceMiddleware:
        s = crawler.settings
        if not s.getbool("TRAWL_EVIDENCE_ENABLED", SCRAPY_DEFAULTS["TRAWL_EVIDENCE_ENABLED"]):
            raise NotConfigured("TRAWL_EVIDENCE_ENABLED is off")
        run_id, run_dir = s.get("TRAWL_RUN_ID"), s.get("TRAWL_RUN_DIR")
        if not run_id or not run_dir:
            raise TrawlError("evidence is enabled but TRAWL_RUN_ID / TRAWL_RUN_DIR are not "
                             "set (set TRAWL_EVIDENCE_ENABLED=False to crawl without it)")
        home = configured_home(s.get("TRAWL_HOME"))
        config = EvidenceConfig(run_id, Path(run_dir).resolve(), home,
                                s.getint("TRAWL_WARC_MAX_BYTES", SCRAPY_DEFAULTS["TRAWL_WARC_MAX_BYTES"]),
                                s.getbool("TRAWL_EVIDENCE_FSYNC", SCRAPY_DEFAULTS["TRAWL_EVIDENCE_FSYNC"]),
                                s.getfloat("TRAWL_EVIDENCE_SYNC_INTERVAL", SCRAPY_DEFAULTS["TRAWL_EVIDENCE_SYNC_INTERVAL"]),
                                s.get("TRAWL_PROXY") or "", AnchorConfig.from_env(home, s))
        middleware = cls(config, crawler.stats)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(middleware.barrier, signal=evidence_barrier)
        crawler.signals.connect(middleware.barrier_in_background, signal=evidence_barrier_background)
        return middleware

    def spider_closed(self, spider: Any = None) -> None:
        if self._sync_call is not None and self._sync_call.active():
            self._sync_call.cancel()
        head = self.writer.close()
        self._count_publish_failures()
        logger.info("evidence: %d WARC records, manifest head %s", self.writer.seq, head)

    def process_response(self, request: Request, response: Response,
                         spider: Any = None) -> Response:
        mirror = request.meta.get("trawl_mirror") or _origin(response.url)
        replayed = "replayed" in response.flags
        if replayed and response.url in self.writer.captured:
            # a resumed run replays a body this run already preserved: point at it
            warc_file, offset, payload = self.writer.captured[response.url]
            self._set_meta(request, warc_file, offset, payload, mirror)
            if self.stats is not None:
                self.stats.inc_value("trawl/evidence/replayed")
            return response
        trawl_headers = {"WARC-Trawl-Run": self.config.run_id, "WARC-Trawl-Mirror": mirror,
                         "WARC-Trawl-Proxy": self.config.proxy}
        if replayed:  # body from the frontier store, not from the network just now
            trawl_headers["WARC-Trawl-Replayed"] = "frontier"
        request_record = self._request_record(request, trawl_headers)
        extra: list[Any] = []
        if request.meta.get("playwright"):
            main = self.writer.writer.create_warc_record(
                response.url, "resource", payload=io.BytesIO(response.body),
                warc_content_type=RENDERED_CONTENT_TYPE,
                warc_headers_dict=trawl_headers | {"WARC-Trawl-Rendered": "chromium"})
            for shot in _screenshots(request):
                extra.append(self.writer.writer.create_warc_record(
                    response.url, "resource", payload=io.BytesIO(shot),
                    warc_content_type="image/png",
                    warc_headers_dict=trawl_headers | {"WARC-Trawl-Screenshot": "full-page"}))
        else:
            main = self._response_record(response, trawl_headers)
        written = self.writer.write_exchange(response.url, request_record, main, extra)
        self._schedule_sync()
        main_written = written[1]
        self._set_meta(request, main_written.warc_file, main_written.offset,
                       main_written.payload_sha256, mirror)
        if self.stats is not None:
            self.stats.inc_value("trawl/evidence/records", len(written))
        return response

    def _set_meta(self, request: Request, warc_file: Path, offset: int, payload: str,
                  mirror: str) -> None:
        # the one evidence shape (core.items.EvidenceRef): carried by the raw item, stored on the records
        if self._relative[0] != warc_file:  # one WARC file for many responses: computed once
            self._relative = (warc_file, os.path.relpath(warc_file, self.config.home))
        request.meta["trawl_evidence"] = EvidenceRef(
            run_id=self.config.run_id, warc_file=self._relative[1], warc_offset=offset,
            payload_sha256=payload, mirror=mirror, proxy=self.config.proxy)

    def _schedule_sync(self) -> None:
        # a quiet spell (slow onion, long delay) must not leave lines unsynced for long
        if self.writer.pending and (self._sync_call is None or not self._sync_call.active()):
            from twisted.internet import reactor

            # zope's interface stubs type callLater with `self`: mypy misreads the arguments
            self._sync_call = reactor.callLater(
                self.config.sync_interval, self._sync_in_background)  # type: ignore[arg-type]

    def _request_record(self, request: Request, trawl_headers: dict[str, str]) -> Any:
        secret_fields = list(request.meta.get("trawl_secret_fields") or [])
        parts = urlsplit(request.url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = [("Host", parts.netloc)] + _header_pairs(request.headers, SECRET_REQUEST_HEADERS)
        content_type = (request.headers.get(b"Content-Type") or b"").decode("latin-1")
        body = request.body
        if secret_fields:
            body = redact_body(body, secret_fields, content_type)
        elif request.meta.get("trawl_login") and body:  # a login without named fields
            body = REDACTED.encode()
        http = StatusAndHeaders(f"{request.method} {path} HTTP/1.1", headers,
                                protocol="HTTP/1.1", is_http_request=True)
        if body:
            http.replace_header("Content-Length", str(len(body)))
        return build_record(request.url, "request", body, http=http, warc_headers=dict(trawl_headers))

    def _response_record(self, response: Response, trawl_headers: dict[str, str]) -> Any:
        headers = [(k, v) for k, v in _header_pairs(response.headers, SECRET_RESPONSE_HEADERS)
                   if k.lower() not in ("transfer-encoding", "content-length")]
        headers.append(("Content-Length", str(len(response.body))))
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = "Unknown"
        http = StatusAndHeaders(f"{response.status} {reason}", headers, protocol="HTTP/1.1")
        return build_record(response.url, "response", response.body, http=http, warc_headers=dict(trawl_headers))


def received_sha256(response: Response, evidence: Any) -> str:
    """Hex sha256 of the page as received: the payload digest of the record this middleware just
    wrote from the same bytes (`evidence`, the response's `trawl_evidence`), else the body hashed.
    A replayed body is hashed: its record may be an earlier copy."""
    digest = getattr(evidence, "payload_sha256", "") if "replayed" not in response.flags else ""
    return digest or hashlib.sha256(response.body).hexdigest()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def _screenshots(request: Request) -> list[bytes]:
    shots: list[bytes] = []
    methods = request.meta.get("playwright_page_methods") or []
    for method in methods.values() if isinstance(methods, dict) else methods:
        if getattr(method, "method", "") == "screenshot" and isinstance(
                getattr(method, "result", None), bytes):
            shots.append(method.result)
    return shots


def _log_sync_failure(future: Future[None]) -> None:
    error = future.exception()
    if error is not None:  # the lines stay pending: the next sync (at the latest the close) retries
        logger.error("evidence: background sync failed: %s", error)


# --- redaction ---------------------------------------------------------------------

def redact_body(body: bytes, secret_fields: list[str], content_type: str) -> bytes:
    """Replace the values of secret form/JSON fields; unknown encodings go whole."""
    if not body or not secret_fields:
        return body
    secrets = set(secret_fields)
    if "json" in content_type:
        try:
            data = json.loads(body)
        except ValueError:
            return REDACTED.encode()
        if isinstance(data, dict):
            return json.dumps({k: REDACTED if k in secrets else v
                               for k, v in data.items()}).encode()
        return REDACTED.encode()
    if "x-www-form-urlencoded" in content_type or not content_type:
        pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
        return urlencode([(k, REDACTED if k in secrets else v) for k, v in pairs]).encode()
    # multipart or anything else we cannot field-redact: keep nothing of it
    return REDACTED.encode()


def _header_pairs(headers: Any, secret: frozenset[bytes]) -> list[tuple[str, str]]:
    """(name, value) strings in order; the values of `secret` names (lower case) `[REDACTED]`."""
    pairs: list[tuple[str, str]] = []
    # Scrapy's Headers keeps each name's value list as `.items()` would give it (its keys are
    # normalised already); reading the dict skips a normalising lookup per name
    items = dict.items(headers) if isinstance(headers, Headers) else headers.items()
    for name, values in items:
        hidden = name.lower() in secret
        for value in values:
            pairs.append((name.decode("latin-1"), REDACTED if hidden else value.decode("latin-1")))
    return pairs
