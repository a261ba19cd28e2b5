"""Tor networking for `network: tor` sites: SOCKS5 (remote DNS) download handler,
the onion guard, and circuit renewal.

Security contract: for a tor site EVERY request goes through the configured SOCKS5
proxy with the hostname sent to the proxy (ATYP=domain); nothing is resolved locally
and there is no clear-net fallback: an unreachable proxy fails the request.

The SOCKS5 client itself (proxy URL parsing, RFC 1928/1929 handshake) is in
`crawler.net.socks`.

Default proxy when neither the caller nor `TRAWL_TOR_SOCKS` names one:
`socks5h://127.0.0.1:9050`, Tor's own default SocksPort, so a stock local tor works
and a missing tor fails closed (connection refused) rather than going direct.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler, _ScrapyAgent
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils._download_handlers import wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import load_object
from twisted.web.client import URI, Agent

from core.config import load_config
from core.defaults import SCRAPY_DEFAULTS, TOR_SOCKS_URL
from core.errors import TrawlError
from crawler.net.socks import Socks5ClientEndpoint, SocksProxy, parse_socks_url

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

DEFAULT_SOCKS_URL = TOR_SOCKS_URL  # core.defaults: the one place
HANDLER_PATH = "crawler.net.tor.TorDownloadHandler"
GUARD_PATH = "crawler.net.tor.OnionGuardMiddleware"
GUARD_STAT = "trawl/onion_guard/refused"


def resolve_socks_url(socks_url: str | None) -> str:
    return socks_url or load_config().tor_socks or DEFAULT_SOCKS_URL


def tor_settings(socks_url: str | None, isolation: str | None = None) -> dict[str, Any]:
    """Scrapy settings for a `network: tor` site (merge at 'project' priority or higher).

    `isolation`: SOCKS username for Tor stream isolation, normally the site name."""
    url = resolve_socks_url(socks_url)
    proxy = parse_socks_url(url, isolation)  # validate now: a typo fails before crawling
    return {
        "DOWNLOAD_HANDLERS": {"http": HANDLER_PATH, "https": HANDLER_PATH},
        "TRAWL_NETWORK": "tor",
        "TRAWL_TOR_SOCKS_URL": url,
        "TRAWL_TOR_ISOLATION": isolation or "",
        "TRAWL_PROXY": proxy.public_url,
        # env http(s)_proxy must never add a second, clear-net hop
        "HTTPPROXY_ENABLED": False,
    }


class _SocksEndpointFactory:
    def __init__(self, reactor: Any, proxy: SocksProxy, context_factory: Any, timeout: float):
        self._reactor, self._proxy = reactor, proxy
        self._context_factory, self._timeout = context_factory, timeout

    def endpointForURI(self, uri: URI) -> Socks5ClientEndpoint:  # Twisted's method name
        tls = None
        if uri.scheme == b"https":
            tls = self._context_factory.creatorForNetloc(uri.host, uri.port)
        return Socks5ClientEndpoint(self._reactor, self._proxy, uri.host.decode("ascii"),
                                    uri.port, tls, self._timeout)


class _SocksScrapyAgent(_ScrapyAgent):
    """Scrapy's agent (body reading, size limits, timeouts) with a SOCKS-only route."""

    def __init__(self, *, proxy: SocksProxy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._socks = proxy

    def _get_agent(self, request: Request, timeout: float) -> Agent:
        from twisted.internet import reactor

        factory = _SocksEndpointFactory(reactor, self._socks, self._contextFactory, timeout)
        return Agent.usingEndpointFactory(reactor, factory, pool=self._pool)


class TorDownloadHandler(HTTP11DownloadHandler):
    """http/https handler that can only reach the network through the SOCKS5 proxy."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        url = settings.get("TRAWL_TOR_SOCKS_URL") or resolve_socks_url(None)
        self._socks = parse_socks_url(url, settings.get("TRAWL_TOR_ISOLATION") or None)
        instance = settings.get("TRAWL_TOR_INSTANCE") or ""
        if instance:  # pinned to one client of the Tor pool (crawler.net.torpool)
            crawler.stats.set_value("trawl/tor/instance", instance)
        logger.info("tor: all requests via SOCKS5 %s (remote DNS)%s", self._socks.public_url,
                    f", pool instance {instance}" if instance else "")

    async def download_request(self, request: Request) -> Response:
        agent = _SocksScrapyAgent(
            proxy=self._socks, contextFactory=self._contextFactory, pool=self._pool,
            maxsize=self._default_maxsize, warnsize=self._default_warnsize,
            fail_on_dataloss=self._fail_on_dataloss, crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
        )
        with wrap_twisted_exceptions():
            response = await maybe_deferred_to_future(agent.download_request(request))
        request.meta["trawl_proxy"] = self._socks.public_url
        return response


# --- onion guard -------------------------------------------------------------------

def _handler_class(crawler: Crawler, scheme: str) -> type | None:
    path = crawler.settings.getwithbase("DOWNLOAD_HANDLERS").get(scheme)
    if not path:
        return None
    return path if isinstance(path, type) else load_object(path)


@dataclass(frozen=True)
class _GuardConfig:
    network: str
    tor_handler_active: bool
    browser_proxied: bool  # Chromium launched with a SOCKS5 proxy and no local DNS


def _browser_proxied(crawler: Crawler) -> bool:
    options = crawler.settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS") or {}
    server = str((options.get("proxy") or {}).get("server", ""))
    args = [str(a) for a in options.get("args", [])]
    return server.startswith("socks5://") and any(
        a.startswith("--host-resolver-rules=MAP * ~NOTFOUND") for a in args)


class OnionGuardMiddleware:
    """Refuses any .onion request unless the crawl is a tor crawl on the tor handler."""

    def __init__(self, config: _GuardConfig, stats: Any) -> None:
        self.config, self.stats = config, stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OnionGuardMiddleware:
        handlers = [_handler_class(crawler, s) for s in ("http", "https")]
        active = all(h is not None and issubclass(h, TorDownloadHandler) for h in handlers)
        config = _GuardConfig(crawler.settings.get("TRAWL_NETWORK") or "clearnet", active,
                              _browser_proxied(crawler))
        return cls(config, crawler.stats)

    def refusal(self, request: Request) -> str | None:
        host = (urlparse_cached(request).hostname or "").rstrip(".").lower()
        if not host.endswith(".onion"):
            return None
        if self.config.network != "tor":
            return "site_not_tor"
        if not self.config.tor_handler_active:
            return "tor_handler_inactive"
        if request.meta.get("playwright") and not self.config.browser_proxied:
            return "browser_not_proxied"
        return None

    def process_request(self, request: Request, spider: Any = None) -> None:
        reason = self.refusal(request)
        if reason:
            self.stats.inc_value(GUARD_STAT)
            self.stats.inc_value(f"{GUARD_STAT}/{reason}")
            raise IgnoreRequest(f"onion guard: {request.url} refused ({reason})")


# --- circuit renewal ----------------------------------------------------------------

def _controller(control: str) -> Any:
    from stem.control import Controller

    if control.startswith("unix:") or control.startswith("/"):
        return Controller.from_socket_file(control.removeprefix("unix:"))
    host, _, port = control.rpartition(":")
    if not port.isdigit():
        raise TrawlError(f"TRAWL_TOR_CONTROL={control!r}: expected host:port or unix:/path")
    return Controller.from_port(address=host or "127.0.0.1", port=int(port))


def renew_circuit(control: str, password: str | None = None,
                  cookie_path: str | os.PathLike[str] | None = None) -> float:
    """Send NEWNYM through Tor's control port; returns seconds until Tor allows the next.

    Raises TrawlError when the control port is unreachable or refuses to authenticate
    (the message never contains the password)."""
    import stem
    import stem.connection
    from stem import Signal

    try:
        with _controller(control) as controller:
            # an explicit method only: stem's auto mode would fall back to the cookie
            # and hide a wrong password
            if cookie_path is not None:
                stem.connection.authenticate_cookie(controller, str(cookie_path))
            elif password is not None:
                stem.connection.authenticate_password(controller, password)
            else:
                controller.authenticate()
            controller.signal(Signal.NEWNYM)
            return float(controller.get_newnym_wait())
    except (stem.SocketError, stem.connection.AuthenticationFailure,
            stem.ControllerError) as exc:
        raise TrawlError(f"tor control port {control}: {type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''}") from None


@dataclass(frozen=True)
class _RenewalConfig:
    control: str
    password: str | None
    cookie_path: str | None
    after_failures: int
    min_interval: float


class CircuitRenewalExtension:
    """NEWNYM after N consecutive download failures (never more often than Tor allows)."""

    def __init__(self, config: _RenewalConfig, crawler: Crawler) -> None:
        self.config, self.stats = config, crawler.stats
        self.consecutive = 0
        self.last_renewal = float("-inf")
        self._succeeded: set[int] = set()
        crawler.signals.connect(self.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(self.request_left, signal=signals.request_left_downloader)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CircuitRenewalExtension:
        s = crawler.settings
        configured = load_config()
        pooled = bool(s.get("TRAWL_TOR_INSTANCE"))  # a pool instance: its own control port or none, never tor.control
        control = s.get("TRAWL_TOR_CONTROL") or ("" if pooled else configured.tor_control)
        if not control:
            raise NotConfigured  # off unless TRAWL_TOR_CONTROL is set (no warning: normal)
        password = s.get("TRAWL_TOR_CONTROL_PASSWORD") or (None if pooled else configured.tor_control_password or None)
        cookie = s.get("TRAWL_TOR_CONTROL_COOKIE") or (None if pooled else configured.tor_control_cookie or None)
        config = _RenewalConfig(control, password, cookie,
                                s.getint("TRAWL_TOR_RENEW_AFTER_FAILURES",
                                         SCRAPY_DEFAULTS["TRAWL_TOR_RENEW_AFTER_FAILURES"]),
                                s.getfloat("TRAWL_TOR_NEWNYM_INTERVAL", SCRAPY_DEFAULTS["TRAWL_TOR_NEWNYM_INTERVAL"]))
        return cls(config, crawler)

    def response_downloaded(self, response: Any, request: Request, spider: Any) -> None:
        # Site errors (5xx) come through a working circuit; only transport failures count.
        self._succeeded.add(id(request))
        self.consecutive = 0

    def request_left(self, request: Request, spider: Any) -> None:
        if id(request) in self._succeeded:
            self._succeeded.discard(id(request))
            return
        self.consecutive += 1
        if self.consecutive >= self.config.after_failures:
            self.maybe_renew()

    def maybe_renew(self) -> bool:
        now = time.monotonic()
        if now - self.last_renewal < self.config.min_interval:
            self.stats.inc_value("trawl/tor/newnym_rate_limited")
            return False
        self.last_renewal = now
        self.consecutive = 0
        try:
            renew_circuit(self.config.control, self.config.password, self.config.cookie_path)
        except TrawlError as exc:
            logger.warning("tor: circuit renewal failed: %s", exc)
            self.stats.inc_value("trawl/tor/newnym_failed")
            return False
        logger.info("tor: NEWNYM sent after repeated failures")
        self.stats.inc_value("trawl/tor/newnym")
        return True
