"""Downloader middlewares of the engine: polite retries (backoff, 429 Retry-After),
gate waits, frontier replay (a page downloaded before a SIGKILL is not downloaded again)
and the redirect guard (redirects lead only to the site's own mirrors)."""
from __future__ import annotations

import email.utils
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.misc import load_object
from twisted.internet import task

from core.defaults import SCRAPY_DEFAULTS
from core.redact import redact_text
from crawler.net.offsite import OffsiteRedirect

logger = logging.getLogger(__name__)
ITEM_KINDS = ("listing", "vendor")


async def sleep(seconds: float) -> None:
    from twisted.internet import reactor

    if seconds > 0:
        await maybe_deferred_to_future(task.deferLater(reactor, seconds, lambda: None))


def retry_after_seconds(value: bytes | str | None, now: float | None = None) -> float | None:
    """Retry-After is delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now or time.time()))


@dataclass(frozen=True)
class RetryConfig:
    times: int
    http_codes: frozenset[int]
    backoff: float
    retry_after_max: float
    max_rate_limited: int
    exceptions: tuple[type[BaseException], ...]


class PoliteRetryMiddleware:
    """Scrapy's retry policy plus exponential backoff, and 429/503 honouring Retry-After.

    A 429 is the site asking us to slow down, not a failure: it is retried after the
    delay the site asked for (capped) without using up the normal retry budget."""

    def __init__(self, config: RetryConfig, crawler: Any) -> None:
        self.config, self.crawler = config, crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> PoliteRetryMiddleware:
        s = crawler.settings
        if not s.getbool("RETRY_ENABLED"):
            raise NotConfigured("RETRY_ENABLED is off")
        exceptions = tuple(load_object(x) if isinstance(x, str) else x for x in s.getlist("RETRY_EXCEPTIONS"))
        config = RetryConfig(
            times=s.getint("RETRY_TIMES"), http_codes=frozenset(int(c) for c in s.getlist("RETRY_HTTP_CODES")),
            backoff=s.getfloat("TRAWL_RETRY_BACKOFF", SCRAPY_DEFAULTS["TRAWL_RETRY_BACKOFF"]),
            retry_after_max=s.getfloat("TRAWL_RETRY_AFTER_MAX", SCRAPY_DEFAULTS["TRAWL_RETRY_AFTER_MAX"]),
            max_rate_limited=s.getint("TRAWL_MAX_RATE_LIMITED", SCRAPY_DEFAULTS["TRAWL_MAX_RATE_LIMITED"]),
            exceptions=exceptions,
        )
        return cls(config, crawler)

    def _retry(self, request: Request, reason: str) -> Request | None:
        return get_retry_request(request, spider=self.crawler.spider, reason=reason,
                                 max_retry_times=self.config.times)

    async def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        if request.meta.get("dont_retry"):
            return response
        stats = self.crawler.stats
        delay = retry_after_seconds(response.headers.get("Retry-After"))
        if response.status == 429 or (response.status == 503 and delay is not None):
            count = request.meta.get("trawl_rate_limited", 0) + 1
            stats.inc_value(f"trawl/rate_limited/{response.status}")
            if count > self.config.max_rate_limited:
                return response
            wait = min(delay if delay is not None else self.config.backoff * 2 ** min(count, 6), self.config.retry_after_max)
            stats.max_value("trawl/rate_limited/max_wait", wait)
            await sleep(wait)
            again = request.replace(dont_filter=True)
            again.meta["trawl_rate_limited"] = count
            return again
        if response.status in self.config.http_codes:
            retry = self._retry(request, f"http_{response.status}")
            if retry is not None:
                await sleep(self.config.backoff * 2 ** (retry.meta.get("retry_times", 1) - 1))
                return retry
        return response

    async def process_exception(self, request: Request, exception: BaseException, spider: Any = None) -> Request | None:
        if request.meta.get("dont_retry") or not isinstance(exception, self.config.exceptions):
            return None
        retry = self._retry(request, type(exception).__name__)
        if retry is not None:
            await sleep(self.config.backoff * 2 ** (retry.meta.get("retry_times", 1) - 1))
        return retry


class GateWaitMiddleware:
    """Waits before sending a request that passes a "please wait" gate (meta trawl_wait_before)."""

    async def process_request(self, request: Request, spider: Any = None) -> None:
        wait = request.meta.pop("trawl_wait_before", 0)
        if wait:
            await sleep(float(wait))


class FrontierReplayMiddleware:
    """Keeps each listing/vendor page in the frontier until its items are stored (where its
    evidence record is, or its body when the crawl keeps no evidence); a resumed crawl
    replays it from there instead of downloading the page a second time."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> FrontierReplayMiddleware:
        return cls(crawler)

    @property
    def frontier(self) -> Any:
        return getattr(self.crawler.spider, "frontier", None)

    def process_request(self, request: Request, spider: Any = None) -> Response | None:
        key = request.meta.get("trawl_key")
        if self.frontier is None or key is None or request.meta.get("trawl_kind") not in ITEM_KINDS or request.method != "GET":
            return None
        stored = self.frontier.stored_page(key)
        if stored is None:
            return None
        body = stored.body if stored.body is not None else self._evidence_body(key, stored.url, stored.ref or {})
        if body is None:
            return None  # fetched again (and its body kept again)
        self.crawler.stats.inc_value("trawl/frontier/replayed")
        return HtmlResponse(url=stored.url, body=body, encoding="utf-8", request=request, flags=["replayed"])

    def _evidence_body(self, key: str, url: str, ref: dict[str, Any]) -> bytes | None:
        """The body from the page's WARC record; None (and the page pending again) when that
        record is unreadable, e.g. torn by the kill this run resumes from."""
        from core.home import configured_home
        from core.records import Evidence
        from crawler.evidence.reader import EvidenceReadError, read_evidence

        home = configured_home(self.crawler.settings.get("TRAWL_HOME"))  # the evidence middleware's
        try:
            page = read_evidence(Evidence(run_id=str(ref.get("run_id", "")), warc_file=str(ref.get("warc_file", "")),
                                          warc_offset=int(ref.get("warc_offset", 0))), home)
            if page.url != url:
                raise EvidenceReadError(f"the record there is of {page.url}, not {url}")
        except EvidenceReadError as exc:
            logger.warning("page %s is fetched again: its preserved copy cannot be read (%s)", key, exc)
            self.crawler.stats.inc_value("trawl/frontier/replay_unreadable")
            self.frontier.forget_body(key)
            return None
        return page.body

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        key = request.meta.get("trawl_key")
        if (self.frontier is not None and key is not None and response.status == 200 and request.method == "GET"
                and request.meta.get("trawl_kind") in ITEM_KINDS and "replayed" not in response.flags
                and not request.meta.get("trawl_secret_fields")):  # a GET login's URL holds the password
            # with evidence on (its middleware saw the response first) the WARC record is the copy kept
            evidence = request.meta.get("trawl_evidence")
            ref = ({"run_id": evidence.run_id, "warc_file": evidence.warc_file, "warc_offset": evidence.warc_offset}
                   if evidence is not None and evidence.warc_file else None)
            self.frontier.store_body(key, response.url, response.body, request.meta.get("trawl_mirror", ""), ref=ref)
        return response


class SiteRedirectGuardMiddleware:
    """Refuses a redirected request that leaves the site.

    Scrapy's redirect middleware follows any Location; for a monitor that means one
    hostile or compromised onion can send the crawler (with the site's cookies and
    Referer) to any other onion or clear-web host.  A redirect is followed only to the
    site's mirrors or `redirect_domains`; the rest is counted as trawl/redirects/offsite
    and the page is finished without rotating mirrors (the mirror answered)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> SiteRedirectGuardMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider: Any = None) -> None:
        if not request.meta.get("redirect_urls"):
            return
        site = getattr(self.crawler.spider, "site", None)
        if site is None or site.redirect_allowed(request.url):
            return
        self.crawler.stats.inc_value("trawl/redirects/offsite")
        origin = redact_text(str(request.meta["redirect_urls"][-1]))
        host = urlsplit(request.url).netloc
        logger.warning("not following a redirect from %s to another host (%s): not a mirror of %s",
                       origin, host, site.name)
        raise OffsiteRedirect(f"redirect to {host} is off-site for {site.name}")
