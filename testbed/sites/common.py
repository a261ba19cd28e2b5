"""Shared plumbing of the site apps: state, middlewares (log, onion-only Host, rate limit,
deterministic faults) and small HTML helpers."""
from __future__ import annotations

import collections
import hashlib
import html
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from testbed.catalogue import Catalogue, catalogue

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STATE_KEY = web.AppKey("testbed_state", object)
SITE_KEY = web.AppKey("testbed_site", object)


@dataclass
class TestbedState:
    """Mutable server-level state shared by all site apps (one per running testbed)."""

    seed: int
    day: int
    password: str
    rate_limit: bool = True
    rate_limit_rps: int = 10
    faults: bool = True
    fault_every: int = 5
    request_log: collections.deque = field(default_factory=lambda: collections.deque(maxlen=50_000))
    counters: collections.Counter = field(default_factory=collections.Counter)
    lifecycle: dict[str, Any] = field(default_factory=dict)  # market switches (testbed/lifecycle.py)

    def catalogue(self) -> Catalogue:
        return catalogue(self.seed, self.day)


@dataclass
class SiteConfig:
    name: str
    kind: str
    network: str  # "tor" | "clearnet"
    onion_hosts: tuple[str, ...] = ()  # primary first; empty for clear-web sites
    down_mirrors: tuple[str, ...] = ()
    # per-client request times for the rate limiter; per-(day, URL) hit counts for faults
    recent: dict[str, collections.deque] = field(default_factory=dict)
    url_hits: collections.Counter = field(default_factory=collections.Counter)


def state_of(request: web.Request) -> TestbedState:
    return request.app[STATE_KEY]  # type: ignore[return-value]


def site_of(request: web.Request) -> SiteConfig:
    return request.app[SITE_KEY]  # type: ignore[return-value]


@web.middleware
async def log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state, site = state_of(request), site_of(request)
    try:
        response = await handler(request)
        status = response.status
    except web.HTTPException as exc:
        status = exc.status
        state.request_log.append((site.name, request.method, request.path_qs, status))
        state.counters[f"{site.name}:{status}"] += 1
        raise
    state.request_log.append((site.name, request.method, request.path_qs, status))
    state.counters[f"{site.name}:{status}"] += 1
    return response


@web.middleware
async def onion_only_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Onion services only answer to their own names (what the SOCKS gateway delivers)."""
    site = site_of(request)
    host = (request.headers.get("Host") or "").split(":")[0].lower()
    if site.onion_hosts and host not in site.onion_hosts:
        return web.Response(status=421, text=f"421 Misdirected Request: {site.name} is an onion-only service\n")
    return await handler(request)


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """More than `rate_limit_rps` requests within one second from one client -> 429."""
    state, site = state_of(request), site_of(request)
    if state.rate_limit:
        client = request.remote or "?"
        window = site.recent.setdefault(client, collections.deque())
        now = time.monotonic()
        while window and now - window[0] > 1.0:
            window.popleft()
        if len(window) >= state.rate_limit_rps:
            return web.Response(status=429, headers={"Retry-After": "1"},
                                text="429 Too Many Requests. Slow down: max "
                                f"{state.rate_limit_rps} requests per second.\n")
        window.append(now)
    return await handler(request)


def fault_status(seed: int, day: int, path_qs: str, every: int) -> int | None:
    """Status a URL fails with on its first hit of a day, or None if it never fails."""
    digest = hashlib.sha256(f"fault|{seed}|{day}|{path_qs}".encode()).digest()
    if every <= 0 or digest[0] % every:
        return None
    return (500, 502, 503)[digest[1] % 3]


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every k-th URL (chosen by hash) fails once per day with a 5xx, then succeeds."""
    state, site = state_of(request), site_of(request)
    if state.faults and request.method == "GET":
        status = fault_status(state.seed, state.day, request.path_qs, state.fault_every)
        key = f"{state.day}|{request.path_qs}"
        site.url_hits[key] += 1
        if status is not None and site.url_hits[key] == 1:
            return web.Response(status=status, headers={"Retry-After": "0"} if status == 503 else {},
                                text=f"{status} upstream error, please retry\n")
    return await handler(request)


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, body: str, *, css: str = "", lang: str = "en") -> web.Response:
    doc = (
        f"<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{esc(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
    return web.Response(text=doc, content_type="text/html", charset="utf-8")


def paginate(items: list[Any], page_number: int, per_page: int) -> tuple[list[Any], int]:
    pages = max(1, (len(items) + per_page - 1) // per_page)
    page_number = min(max(1, page_number), pages)
    start = (page_number - 1) * per_page
    return items[start : start + per_page], pages


def int_param(request: web.Request, name: str, default: int = 1) -> int:
    try:
        return int(request.query.get(name, default))
    except ValueError:
        return default


CATEGORY_TITLES = {
    "stimulants": "Stimulants", "ecstasy": "Ecstasy", "psychedelics": "Psychedelics",
    "dissociatives": "Dissociatives", "cannabis": "Cannabis", "opioids": "Opioids", "benzos": "Benzos",
    "other": "Other", "digital": "Digital Goods",
}


def categories_of(items: list[dict[str, Any]]) -> list[tuple[str, int]]:
    counts = collections.Counter(item["category"] for item in items)
    return [(slug, counts[slug]) for slug in CATEGORY_TITLES if counts[slug]]


COUNTRY_NAMES = {code: name for name, code in __import__("testbed.vocab", fromlist=["COUNTRIES"]).COUNTRIES.items()}
COUNTRY_NAMES.update({"HK": "Hong Kong", "SG": "Singapore"})
