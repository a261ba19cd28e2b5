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

Taking a page is the reliable-queue pattern: one Lua script moves it from the shared queue
to the worker's processing list `<prefix>:processing:<worker id>` (the id is stored in the
worker's frontier, so it survives a restart); the worker then claims it in its own frontier
and only then drops it from that list. A worker killed in between finds the page there on
`--resume` and claims it then: no page is lost between the queue and the claim. Offering
a page (dupefilter SADD + queue ZADD) is one script too, so no page is marked seen but left
unqueued.

Requests are pickled into Redis (scrapy-redis's serializer): the Redis server must be
one you trust (loopback or ACL-protected), as anyone who can write the queue can make
a worker unpickle data.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.utils.misc import load_object
from scrapy_redis.scheduler import Scheduler

from core.config import load_config
from core.errors import TrawlError
from crawler.engine.frontier import PENDING

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

EXTENSION_PATH = "crawler.engine.distributed.FrontierIdleExtension"
KEY_TTL_SECONDS = 7 * 24 * 3600  # leftovers of an abandoned round expire on their own


def frontier_prefix(site: str, frontier: str | None = None) -> str:
    frontier = frontier or load_config().redis_frontier or "default"
    return f"trawl:{site}:{frontier}"


def redis_settings(url: str, site: str = "%(spider)s", frontier: str | None = None) -> dict[str, Any]:
    """Scrapy settings putting the scheduler queue and dupefilter of `site` in Redis."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise TrawlError(f"TRAWL_REDIS_URL={_safe(url)!r}: expected redis://host:port/db")
    prefix = frontier_prefix(site, frontier)
    return {
        "SCHEDULER": "crawler.engine.distributed.SharedFrontierScheduler",
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
    keys = [f"{prefix}:requests", f"{prefix}:dupefilter", f"{prefix}:workers",
            *client.scan_iter(match=f"{prefix}:processing:*")]
    return int(client.delete(*keys))


# meta keys that mark a repeat of a request on purpose (retry, rate-limit wait, other
# mirror): those must pass even though their trawl_key was already admitted
_RETRY_MARKERS = ("retry_times", "trawl_rate_limited", "trawl_mirror_tries")

# KEYS: queue, processing list; ARGV: ttl of the processing list. Returns the request or nil.
_TAKE_SCRIPT = """
local taken = redis.call('ZRANGE', KEYS[1], 0, 0)
if #taken == 0 then return false end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
redis.call('RPUSH', KEYS[2], taken[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return taken[1]
"""
# KEYS: dupefilter, queue; ARGV: member, score, request. Returns 1 if queued, 0 if seen before.
_OFFER_SCRIPT = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
"""
# test hook: SIGKILL this worker right after its Nth take, before the claim (the window
# the processing list covers); tests/crawler/test_redis_frontier.py
KILL_AFTER_TAKE_ENV = "TRAWL_TEST_KILL_AFTER_TAKE"


class SharedFrontierScheduler(Scheduler):
    """scrapy-redis's scheduler, deduplicating on trawl's page key across workers.

    trawl's spider keeps its own per-run frontier and sends every request with
    dont_filter=True, which would bypass a shared dupefilter and let every worker fetch
    every page. Here a request with meta["trawl_key"] is admitted once per frontier
    (SADD on the dupefilter set, prefixed "key:"), unless it is a deliberate repeat
    (_RETRY_MARKERS). Requests without a key (login, gates) keep Scrapy's rules: each
    worker logs in for its own session.

    Keys left with scrapy-redis's "%(spider)s" placeholder are filled with the site
    name (setting TRAWL_SITE) rather than the spider name: trawl's one spider class
    serves every site, and sites must not share a frontier."""

    site: str | None = None
    # set by scrapy_redis's Scheduler (untyped); declared so the overrides below are checked
    queue_key: str
    dupefilter_key: str
    df: Any
    local: deque[Any]
    processing_key: str  # this worker's taken-but-not-yet-claimed pages
    _recovered_keys: set[str]
    _takes: int
    _kill_after_take: int
    _take: Any  # redis-py Script objects
    _offer: Any

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedFrontierScheduler:
        instance = super().from_crawler(crawler)
        instance.site = crawler.settings.get("TRAWL_SITE") or None
        # a resumed worker's own unfinished pages: it holds their bodies and claims, so it
        # redoes them itself instead of offering them to the shared queue
        instance.local = deque()
        instance._recovered_keys = set()  # taken pages found in the processing list at open
        instance._takes = 0
        instance._kill_after_take = int(os.environ.get(KILL_AFTER_TAKE_ENV) or 0)
        return instance

    def __len__(self) -> int:
        return len(self.local) + len(self.queue)

    def open(self, spider: Any) -> Any:
        name = self.site or spider.name
        self.queue_key = self.queue_key.replace("%(spider)s", name)
        self.dupefilter_key = self.dupefilter_key.replace("%(spider)s", name)
        if not self.df:
            self.df = load_object(self.dupefilter_cls)(
                server=self.server, key=self.dupefilter_key,
                debug=spider.settings.getbool("DUPEFILTER_DEBUG"))
        opened = super().open(spider)
        frontier = getattr(spider, "frontier", None)
        worker = frontier.worker_id if frontier is not None else uuid.uuid4().hex
        self.processing_key = f"{self.queue_key.rsplit(':', 1)[0]}:processing:{worker}"
        self._take = self.server.register_script(_TAKE_SCRIPT)
        self._offer = self.server.register_script(_OFFER_SCRIPT)
        self._recover_taken()
        return opened

    def _recover_taken(self) -> None:
        """Pages this worker took but had not claimed when it was killed: claim them now
        and redo them here (the shared dupefilter would drop them if offered again)."""
        frontier = getattr(self.spider, "frontier", None)
        for data in self.server.lrange(self.processing_key, 0, -1):
            request = self.queue._decode_request(data)
            key = request.meta.get("trawl_key")
            # claimed already (killed after the claim): the spider's resume redoes it
            if frontier is not None and key is not None and frontier.status(key) in (None, PENDING):
                self._claim(request)
                request.meta["trawl_resumed"] = True
                self.local.append(request)
                self._recovered_keys.add(key)
                self._count("scheduler/recovered/processing")
            self.server.lrem(self.processing_key, 1, data)

    def _claim(self, request: Any) -> None:
        frontier = getattr(self.spider, "frontier", None)
        key = request.meta.get("trawl_key")
        if frontier is not None and key is not None:
            frontier.claim(key, request.meta.get("trawl_kind", "nav"), request.meta.get("trawl_depth", 0))

    def enqueue_request(self, request: Any) -> bool:
        key = request.meta.get("trawl_key")
        repeat = any(request.meta.get(marker) for marker in _RETRY_MARKERS)
        if request.meta.get("trawl_resumed"):
            if key in self._recovered_keys and not repeat:
                self._recovered_keys.discard(key)
                return False  # the spider's resume of a page already queued from the processing list
            self.local.append(request)
            self._count("scheduler/enqueued/local")
            return True
        if key is not None and not repeat:
            # seen-mark and queueing in one step: a kill in between must not leave the
            # page marked seen but queued nowhere
            data = self.queue._encode_request(request)
            if not self._offer(keys=[self.df.key, self.queue.key],
                               args=[f"key:{key}", -request.priority, data]):
                self._count("trawl/redis/duplicate_key")
                return False
            self._count("scheduler/enqueued/redis")
            return True
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        self.queue.push(request)
        self._count("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Any:
        if self.local:
            self._count("scheduler/dequeued/local")
            return self.local.popleft()
        data = self._take(keys=[self.queue.key, self.processing_key], args=[KEY_TTL_SECONDS])
        if data is None:
            return None
        request = self.queue._decode_request(data)
        self._count("scheduler/dequeued/redis")
        self._takes += 1
        if self._takes == self._kill_after_take:
            os.kill(os.getpid(), signal.SIGKILL)
        # record the page as this worker's before it leaves the processing list: killed
        # at any point, the page is either there or claimed, and --resume redoes it
        self._claim(request)
        self.server.lrem(self.processing_key, 1, data)
        return request

    def _count(self, stat: str) -> None:
        # (scrapy-redis passes spider= to inc_value, deprecated in Scrapy 2.19)
        if self.stats:
            self.stats.inc_value(stat)


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
        self.crawler = crawler
        self.idle_since: float | None = None
        self._wake_call: Any = None
        crawler.signals.connect(self.busy, signal=signals.request_reached_downloader)
        crawler.signals.connect(self.idle, signal=signals.spider_idle)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)
        crawler.signals.connect(self.opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierIdleExtension:
        s = crawler.settings
        prefix = s.get("TRAWL_REDIS_PREFIX")
        if not prefix:
            raise NotConfigured  # no shared Redis frontier: nothing to keep alive
        site = s.get("TRAWL_SITE")
        if site:
            prefix = prefix.replace("%(spider)s", site)
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
        frontier = getattr(spider, "frontier", None)
        if frontier is not None:
            # the id survives --resume: a restarted worker takes over its killed self's
            # entry instead of waiting `linger` for that dead "busy" peer
            self.worker = f"{socket.gethostname()}:{frontier.worker_id}"
        self.busy()

    def _mark(self, state: str) -> None:
        self.client.hset(self.workers_key, self.worker, f"{state}:{time.time():.3f}")
        self.client.expire(self.workers_key, KEY_TTL_SECONDS)

    def busy(self, *args: Any, **kwargs: Any) -> None:
        self.idle_since = None
        self._mark("busy")

    def _busy_peers(self) -> list[str]:
        now, busy = time.time(), []
        for raw_name, raw_value in self.client.hgetall(self.workers_key).items():
            name, value = _text(raw_name), _text(raw_value)
            state, _, stamp = value.partition(":")
            if name != self.worker and state == "busy" \
                    and now - float(stamp) < self.config.heartbeat_timeout:
                busy.append(name)
        return busy

    def idle(self, spider: Any = None) -> None:
        self._mark("idle")
        now = time.monotonic()
        self.idle_since = self.idle_since or now
        queued = int(self.client.zcard(f"{self.prefix}:requests"))
        if queued or (self._busy_peers() and now - self.idle_since < self.config.linger):
            self._schedule_wake()
            raise DontCloseSpider

    def _schedule_wake(self) -> None:
        # Scrapy re-checks an idle spider only every 5 s; a worker waiting for peers
        # looks at the shared queue more often so it joins in while there is work.
        from twisted.internet import reactor

        if self._wake_call is None or not self._wake_call.active():
            # zope's interface stubs type callLater with `self`: mypy misreads the arguments
            self._wake_call = reactor.callLater(0.3, self._wake)  # type: ignore[arg-type]

    def _wake(self) -> None:
        if not int(self.client.zcard(f"{self.prefix}:requests")):
            if self.idle_since is not None:
                self._schedule_wake()
            return
        slot = getattr(self.crawler.engine, "_slot", None)  # private: no public "poll now"
        nextcall = getattr(slot, "nextcall", None)
        if nextcall is not None:
            nextcall.schedule()

    def closed(self, spider: Any = None, reason: str = "") -> None:
        if self._wake_call is not None and self._wake_call.active():
            self._wake_call.cancel()
        self.client.hdel(self.workers_key, self.worker)
        for suffix in ("requests", "dupefilter", "workers"):
            self.client.expire(f"{self.prefix}:{suffix}", KEY_TTL_SECONDS)


def _text(value: bytes | str) -> str:
    """A Redis reply as text (the client returns bytes unless decode_responses is set)."""
    return value.decode() if isinstance(value, bytes) else value
