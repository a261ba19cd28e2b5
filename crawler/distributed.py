"""Scale-out: several crawler processes share one frontier (queue + dupefilter) in Redis.

With `TRAWL_REDIS_URL` set, `redis_settings()` swaps in scrapy-redis's scheduler and
dupefilter (checked against Scrapy 2.19: the 0.9.1 classes work unchanged). Keys are
namespaced per site AND per frontier id, `trawl:<site>:<frontier>:{requests,dupefilter}`:
the dupefilter must not outlive a crawl round, or tomorrow's recrawl of the same site
would see every URL as already fetched. Workers of one round share a frontier id
(`TRAWL_REDIS_FRONTIER`, e.g. the scheduled job's id; default "default" - call
`reset_frontier()` before a new round when using the default).

SCHEDULER_PERSIST is on: the first worker to finish must not flush the queue the
others are still working on. `FrontierIdleExtension` keeps an idle worker alive while
the shared queue has requests or another worker is busy, so work that a busy worker
discovers later is shared rather than left to it alone.

Requests are pickled into Redis (scrapy-redis's serializer): the Redis server must be
one you trust (loopback or ACL-protected), as anyone who can write the queue can make
a worker unpickle data.
"""
from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured

from index.errors import TrawlError

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

EXTENSION_PATH = "crawler.distributed.FrontierIdleExtension"
KEY_TTL_SECONDS = 7 * 24 * 3600  # leftovers of an abandoned round expire on their own


def frontier_prefix(site: str, frontier: str | None = None) -> str:
    frontier = frontier or os.environ.get("TRAWL_REDIS_FRONTIER") or "default"
    return f"trawl:{site}:{frontier}"


def redis_settings(url: str, site: str = "%(spider)s", frontier: str | None = None) -> dict[str, Any]:
    """Scrapy settings putting the scheduler queue and dupefilter of `site` in Redis."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise TrawlError(f"TRAWL_REDIS_URL={_safe(url)!r}: expected redis://host:port/db")
    prefix = frontier_prefix(site, frontier)
    return {
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
        "SCHEDULER_QUEUE_KEY": f"{prefix}:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"{prefix}:dupefilter",
        "SCHEDULER_PERSIST": True,
        # 0 = non-blocking pop: a blocking BRPOP would freeze the whole reactor
        "SCHEDULER_IDLE_BEFORE_CLOSE": 0,
        "REDIS_URL": url,
        "TRAWL_REDIS_PREFIX": prefix,
        "EXTENSIONS": {EXTENSION_PATH: 500},
    }


def _safe(url: str) -> str:
    parts = urlsplit(url)
    return url.replace(parts.password, "***") if parts.password else url


def reset_frontier(url: str, site: str, frontier: str | None = None) -> int:
    """Delete a round's queue, dupefilter and worker registry; returns keys removed."""
    import redis

    prefix = frontier_prefix(site, frontier)
    client = redis.Redis.from_url(url)
    keys = [f"{prefix}:requests", f"{prefix}:dupefilter", f"{prefix}:workers"]
    return int(client.delete(*keys))


@dataclass(frozen=True)
class _FrontierConfig:
    url: str
    prefix: str
    linger: float  # seconds an idle worker waits for busy peers before closing
    heartbeat_timeout: float  # a peer silent this long counts as gone


class FrontierIdleExtension:
    """Keeps idle workers of a shared frontier alive while there is or may be work."""

    def __init__(self, config: _FrontierConfig, crawler: Crawler) -> None:
        import redis

        self.config = config
        self.client = redis.Redis.from_url(config.url)
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.prefix = config.prefix
        self.idle_since: float | None = None
        crawler.signals.connect(self.busy, signal=signals.request_reached_downloader)
        crawler.signals.connect(self.idle, signal=signals.spider_idle)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)
        crawler.signals.connect(self.opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierIdleExtension:
        s = crawler.settings
        prefix = s.get("TRAWL_REDIS_PREFIX")
        if not prefix or "scrapy_redis" not in str(s.get("SCHEDULER")):
            raise NotConfigured("no shared Redis frontier")
        config = _FrontierConfig(s.get("REDIS_URL"), prefix,
                                 s.getfloat("TRAWL_REDIS_LINGER", 30.0),
                                 s.getfloat("TRAWL_REDIS_HEARTBEAT_TIMEOUT", 60.0))
        return cls(config, crawler)

    @property
    def workers_key(self) -> str:
        return f"{self.prefix}:workers"

    def opened(self, spider: Any) -> None:
        # the default site part is scrapy-redis's "%(spider)s" placeholder
        self.prefix = self.config.prefix % {"spider": spider.name}
        self.busy()

    def _mark(self, state: str) -> None:
        self.client.hset(self.workers_key, self.worker, f"{state}:{time.time():.3f}")
        self.client.expire(self.workers_key, KEY_TTL_SECONDS)

    def busy(self, *args: Any, **kwargs: Any) -> None:
        self.idle_since = None
        self._mark("busy")

    def _busy_peers(self) -> list[str]:
        now, busy = time.time(), []
        for name, value in self.client.hgetall(self.workers_key).items():
            state, _, stamp = value.decode().partition(":")
            if name.decode() != self.worker and state == "busy" \
                    and now - float(stamp) < self.config.heartbeat_timeout:
                busy.append(name.decode())
        return busy

    def idle(self, spider: Any = None) -> None:
        self._mark("idle")
        now = time.monotonic()
        self.idle_since = self.idle_since or now
        queued = int(self.client.zcard(f"{self.prefix}:requests"))
        if queued:
            raise DontCloseSpider
        if self._busy_peers() and now - self.idle_since < self.config.linger:
            raise DontCloseSpider

    def closed(self, spider: Any = None, reason: str = "") -> None:
        self.client.hdel(self.workers_key, self.worker)
        for suffix in ("requests", "dupefilter", "workers"):
            self.client.expire(f"{self.prefix}:{suffix}", KEY_TTL_SECONDS)
