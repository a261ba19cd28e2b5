"""Crawl throughput: a full trawl crawl vs a bare Scrapy spider on the same URLs.

    .venv/bin/python bench/crawl.py [--sites pillhub,chemtrade,vortex,nightshade] [--repeat 3]
                                    [--workers 0,1,2] [--latency-site pillhub] [--json]

trawl runs once per `--workers` count (0 = pages processed in the crawl process, N = N
processing worker processes, crawler/engine/workers.py; default 0,1 and 2 when the machine
has more than 2 cores): pages/s and CPU ms per page for each (CPU of the crawl process and
the workers it reaped, from wait4()'s rusage, start-up included).  The latency-bound run
puts a proxy in front of one clear-web site that answers each request after 0.3-3 s (as
Tor does) and compares trawl (default workers) with the bare spider at the same concurrency.

Starts the testbed with rate limiting and faults off. For each static site (clear-web
over HTTP, onion sites through the testbed's SOCKS5 gateway) it runs `trawl crawl SITE`
(evidence, parsing, enrichment, index: everything on, profile `bench` = the site's
concurrency but no download delay), takes the URLs the testbed served to it, and has a
bare Scrapy spider GET exactly those URLs with the same concurrency, network path (the
SOCKS handler for onion sites) and session cookies (trawl's saved session, so a site behind a
gate or login serves it the same pages; kB/page shows it did) and nothing else: no middlewares of ours, no
pipelines, no evidence. A third run, "net", is the bare spider plus the onion guard
and the WARC evidence middleware (fsync on): the cost of the network/evidence layer
alone, without parsing and enrichment. A fourth run, "fetch", is trawl itself with its
item pipeline switched off (spider, page objects, frontier, sessions and evidence on;
no parse, enrich or store): the share of the pipeline stages is trawl vs fetch, the share
of navigation and extraction fetch vs net. A fifth run, "crawl", is a bare Scrapy spider that
crawls like trawl must: from the site's start URLs, following the links it finds (Scrapy's
LinkExtractor) among the URLs trawl fetched, so it waits on discovery as trawl does; URLs no
fetched page links to (a login form's target) are requested when it runs out of links. Its
ratio (trawl / crawl) separates what trawl's processing costs from what discovering a site
costs any crawler; the target stays against "bare". trawl's crawl runs on uvloop (crawl.event_loop
= auto, uvloop installed) and every bare spider on Scrapy's default loop; a sixth run, "bare-uvloop",
is the bare spider on uvloop, so the reader sees what the loop alone is worth (it is reported, not
the baseline). Times are spider-open to spider-close inside each process
(interpreter start-up excluded; wall time including it is reported too). Peak RSS per
process comes from wait4()'s rusage of each child. The crawl process's own CPU per page (trawl:
without its workers) gives each run's one-core ceiling, 1000 / that figure in pages/s: every
fetch, response and link of a crawl goes through that one thread, so no worker count or idle
core lifts a crawl above it.  The run's processes together (crawl, workers, the testbed) give the
all-cores ceiling, cores x 1000 / their CPU ms per page: what the machine could do with every
core busy and nothing waiting (trawl with one worker on two cores is bound by this one).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# bench/ holds index.py, which would shadow the index package when run as a script
sys.path[:] = [str(REPO)] + [p for p in sys.path
                             if Path(p or ".").resolve() != Path(__file__).resolve().parent]
PYTHON = sys.executable  # whichever environment runs the benchmark has trawl installed
DEFAULT_SITES = ("pillhub", "chemtrade", "vortex", "nightshade")
TARGET_RATIO = 0.7
LATENCY_TARGET = 0.95
LATENCY_RANGE = (0.3, 3.0)  # seconds before each answer, like a Tor circuit


@dataclass
class Measure:
    pages: int = 0
    bytes: int = 0
    seconds: float = 0.0
    wall: float = 0.0
    peak_rss_mb: float = 0.0
    cpu_s: float = 0.0  # user + system of the process and the children it reaped (workers)
    work_cpu_s: float = 0.0  # the same from spider open to close only (start-up excluded)
    crawl_cpu_s: float = 0.0  # of work_cpu_s, the crawl process's own (trawl: without its workers)
    server_cpu_s: float = 0.0  # the testbed's (this process's) CPU while the child ran
    runs: list[dict[str, Any]] = field(default_factory=list)

    def add(self, pages: int, nbytes: int, seconds: float, wall: float, rss_mb: float, cpu_s: float = 0.0,
            server_cpu_s: float = 0.0) -> None:
        self.cpu_s += cpu_s
        self.server_cpu_s += server_cpu_s
        self.pages += pages
        self.bytes += nbytes
        self.seconds += seconds
        self.wall += wall
        self.peak_rss_mb = max(self.peak_rss_mb, rss_mb)

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000 * self.cpu_s / self.pages if self.pages else 0.0

    @property
    def work_cpu_ms_per_page(self) -> float:
        return 1000 * self.work_cpu_s / self.pages if self.pages else 0.0

    @property
    def crawl_cpu_ms_per_page(self) -> float:
        return 1000 * self.crawl_cpu_s / self.pages if self.pages else 0.0

    @property
    def server_cpu_ms_per_page(self) -> float:
        return 1000 * self.server_cpu_s / self.pages if self.pages else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 2**20 / self.seconds if self.seconds else 0.0


LAST_CPU: list[float] = [0.0, 0.0]  # CPU seconds of the last child run and of the testbed meanwhile (set by _run)


def _run(cmd: list[str], env: dict[str, str], timeout: float) -> tuple[str, str, float, float]:
    """Run a child; returns stdout, stderr, wall seconds and its own peak RSS (MB); its CPU
    seconds (with the workers it reaped) land in LAST_CPU."""
    started = time.monotonic()
    own_before = time.process_time()  # this process serves the testbed (its thread) and polls
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=out, stderr=err)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
        LAST_CPU[:] = [usage.ru_utime + usage.ru_stime, time.process_time() - own_before]
        wall = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed ({proc.returncode}): {stderr[-2000:]}")
    return stdout, stderr, wall, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def trawl_crawl(site: str, env: dict[str, str], timeout: float,
                workers: int | None = None) -> tuple[dict[str, Any], float, float]:
    extra = ["--workers", str(workers)] if workers is not None else []
    stdout, _, wall, rss = _run([PYTHON, "-m", "trawl.cli", "crawl", site, "--json", *extra],
                                env, timeout)
    summary = json.loads(stdout.strip().splitlines()[-1])
    record = json.loads((Path(summary["run_dir"]) / "stats.json").read_text())
    stats = record.get("stats", {})
    # CPU from spider open to close: the crawl process's own and what its workers spent on jobs
    summary["crawl_cpu_s"] = stats.get("trawl/crawl_cpu_ms", 0) / 1000
    summary["work_cpu_s"] = summary["crawl_cpu_s"] + stats.get("trawl/workers/cpu_ms", 0) / 1000
    summary["event_loop"] = record.get("event_loop", "")
    return summary, wall, rss


def fetch_crawl(site: str, env: dict[str, str], timeout: float) -> tuple[dict[str, Any], float, float]:
    """trawl with every item-pipeline stage switched off, in its own process."""
    stdout, _, wall, rss = _run([PYTHON, str(Path(__file__).resolve()), "--fetch-worker", site],
                                env, timeout)
    return json.loads(stdout.strip().splitlines()[-1]), wall, rss


def fetch_worker(site: str) -> None:
    import crawler.engine.settings as trawl_settings
    from crawler.engine.run import run_crawl

    # bench-only: items are extracted and then discarded, nothing reaches the index
    off = {stage: None for stage in trawl_settings.ITEM_PIPELINES}
    trawl_settings.PROFILES["bench"] = {**trawl_settings.PROFILES["bench"], "ITEM_PIPELINES": off}
    result = run_crawl(site)
    print(json.dumps({k: result.stats.get(k) for k in ("pages", "bytes", "crawl_s", "duration_s")}))


def bare_crawl(site: str, urls: list[str], network: str, env: dict[str, str], tmp: Path,
               timeout: float, evidence: bool = False,
               starts: list[str] | None = None, event_loop: str | None = None) -> tuple[dict[str, Any], float, float]:
    """The bare spider over `urls`; with `starts`, it discovers them by following links from there;
    `event_loop`: Scrapy's ASYNCIO_EVENT_LOOP (None: its default).
    It sends the cookies of the session trawl saved in `env`'s TRAWL_HOME (see session_cookie_headers)."""
    config = tmp / f"bare-{site}.json"
    run_dir = tmp / f"net-{site}-{time.monotonic_ns()}"
    config.write_text(json.dumps({"site": site, "urls": urls, "network": network,
                                  "out": str(tmp / f"bare-{site}-out.json"), "starts": starts,
                                  "event_loop": event_loop,
                                  "evidence_run_dir": str(run_dir) if evidence else None}))
    _, _, wall, rss = _run([PYTHON, str(Path(__file__).resolve()), "--bare-worker", str(config)],
                           env, timeout)
    return json.loads((tmp / f"bare-{site}-out.json").read_text()), wall, rss


def session_cookie_headers(site: str, urls: list[str]) -> dict[str, dict[str, str]]:
    """url -> the Cookie header trawl's saved session for `site` sends to it (the session file
    of the trawl run in $TRAWL_HOME): with it the bare spiders read the pages trawl read.
    Without it a site behind a gate or login answers them with that gate (nightshade: its
    DDoS page, ~40% of trawl's bytes), and the baseline measures something else."""
    import http.cookiejar
    import urllib.request

    from crawler.engine.session import load_cookies

    jar = http.cookiejar.CookieJar()
    for cookie in load_cookies(site):
        jar.set_cookie(cookie)
    headers: dict[str, dict[str, str]] = {}
    for url in urls:  # computed before the crawl: nothing of this is on the bare spider's clock
        probe = urllib.request.Request(url)  # noqa: S310 (never opened: the jar only reads its URL)
        jar.add_cookie_header(probe)
        header = probe.get_header("Cookie")
        if header:
            headers[url] = {"Cookie": header}
    return headers


def bare_worker(config_path: str) -> None:
    """The bare spider (runs in its own process): GET every URL, keep nothing."""
    import scrapy
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from scrapy.exceptions import DontCloseSpider
    from scrapy.linkextractors import LinkExtractor

    from crawler.engine.settings import site_settings
    from crawler.net.tor import tor_settings
    from crawler.sitedef.siteconfig import load_site

    config = json.loads(Path(config_path).read_text())
    site = load_site(config["site"])
    cookie_headers = session_cookie_headers(site.name, [*config["urls"], *(config.get("starts") or [])])

    def get(url: str) -> scrapy.Request:  # every request of the bare spiders: trawl's session, no filter
        return scrapy.Request(url, dont_filter=True, headers=cookie_headers.get(url))

    throttle = site_settings(site)
    settings: dict[str, Any] = {
        "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False, "ROBOTSTXT_OBEY": False,
        "COOKIES_ENABLED": False, "RETRY_ENABLED": False, "HTTPERROR_ALLOW_ALL": True,
        "REDIRECT_ENABLED": False, "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": throttle["CONCURRENT_REQUESTS"],
        "CONCURRENT_REQUESTS_PER_DOMAIN": throttle["CONCURRENT_REQUESTS_PER_DOMAIN"],
        "ASYNCIO_EVENT_LOOP": config.get("event_loop"),
    }
    if config["network"] == "tor":
        settings |= tor_settings(os.environ.get("TRAWL_TOR_SOCKS"), isolation=site.name)
    if config.get("evidence_run_dir"):  # "net": our downloader parts, no pipelines
        run_dir = Path(config["evidence_run_dir"])
        run_dir.mkdir(parents=True)
        settings |= {"TRAWL_RUN_ID": run_dir.name, "TRAWL_RUN_DIR": str(run_dir),
                     "TRAWL_HOME": str(run_dir.parent),
                     "DOWNLOADER_MIDDLEWARES": {"crawler.net.tor.OnionGuardMiddleware": 10,
                                                "crawler.evidence.middleware.WarcEvidenceMiddleware": 950}}
    times: dict[str, float] = {}

    class Bare(scrapy.Spider):
        name = "bare"

        async def start(self) -> Any:
            for url in config["urls"]:
                yield get(url)

        def parse(self, response: scrapy.http.Response) -> None:
            return None

    wanted, requested = set(config["urls"]), set()
    links = LinkExtractor()

    class BareFollow(scrapy.Spider):
        """Discovers trawl's URLs as a crawler must: links of each page, from the start URLs."""
        name = "bare-follow"

        async def start(self) -> Any:
            for url in config["starts"]:
                requested.add(url)
                yield get(url)

        def parse(self, response: scrapy.http.Response) -> Any:
            if not isinstance(response, scrapy.http.TextResponse):
                return
            for link in links.extract_links(response):
                if link.url in wanted and link.url not in requested:
                    requested.add(link.url)
                    yield get(link.url)

    def idle(**_: Any) -> None:
        # pages no fetched page links to (a form's target): fetched last, as trawl does too
        rest = sorted(wanted - requested)
        if rest:
            times["unlinked"] = times.get("unlinked", 0) + len(rest)
            requested.update(rest)
            for url in rest:
                crawler.engine.crawl(get(url))
            raise DontCloseSpider

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(BareFollow if config.get("starts") else Bare)
    if config.get("starts"):
        crawler.signals.connect(idle, signal=signals.spider_idle)
    def opened(**_: Any) -> None:
        times["open"] = time.monotonic()
        times["cpu_open"] = time.process_time()

    def closed(**_: Any) -> None:
        times["close"] = time.monotonic()
        times["cpu_close"] = time.process_time()

    # signal receivers are weak references: keep named functions alive in this scope
    crawler.signals.connect(opened, signal=signals.spider_opened)
    crawler.signals.connect(closed, signal=signals.spider_closed)
    process.crawl(crawler)
    process.start()
    stats = crawler.stats.get_stats()
    Path(config["out"]).write_text(json.dumps({
        "pages": stats.get("downloader/response_count", 0),
        "bytes": stats.get("downloader/response_bytes", 0),
        "duration_s": times["close"] - times["open"], "cpu_s": times["cpu_close"] - times["cpu_open"],
        "unlinked": int(times.get("unlinked", 0))}))


def default_worker_counts() -> list[int]:
    return [0, 1, 2] if (os.cpu_count() or 1) > 2 else [0, 1]


def bench(sites: list[str], repeat: int, timeout: float, worker_counts: list[int] | None = None,
          latency_site: str = "pillhub") -> dict[str, Any]:
    from crawler.engine.settings import event_loop_setting
    from crawler.sitedef.siteconfig import list_site_names, load_site
    from testbed.server import run_testbed

    counts = worker_counts if worker_counts is not None else default_worker_counts()
    known = list_site_names()
    runs = {f"trawl-w{n}": Measure() for n in counts}
    fetch, net, bare, follow, bare_uvloop = Measure(), Measure(), Measure(), Measure(), Measure()
    uvloop = event_loop_setting("auto")  # None: not installed, no bare-uvloop run
    trawl_loops: set[str] = set()
    skipped: list[str] = []
    latency: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmpdir, \
            run_testbed(rate_limit=False, faults=False) as tb:
        tmp = Path(tmpdir)
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("TRAWL_")}
        base_env |= tb.env() | {"TRAWL_PROFILE": "bench"}
        for site in sites:
            if site not in known or tb.sites[site].network not in ("tor", "clearnet"):
                skipped.append(site)
                continue
            handle = tb.sites[site]
            base = handle.base_url.rstrip("/")
            for rep in range(repeat):
                urls: list[str] = []
                for n in counts:
                    env = base_env | {"TRAWL_HOME": str(tmp / f"home-{site}-{rep}-w{n}")}
                    before = len(tb.request_log)
                    summary, wall, rss = trawl_crawl(site, env, timeout, workers=n)
                    log = tb.request_log[before:]
                    urls = urls or [base + path for name, method, path, _ in log if name == site and method == "GET"]
                    # spider open to close, as for the bare spider (start-up is in "wall")
                    seconds = summary.get("crawl_s") or summary["duration_s"]
                    runs[f"trawl-w{n}"].add(summary["pages"], summary["bytes"], seconds, wall, rss, *LAST_CPU)
                    runs[f"trawl-w{n}"].work_cpu_s += summary["work_cpu_s"]
                    runs[f"trawl-w{n}"].crawl_cpu_s += summary["crawl_cpu_s"]
                    trawl_loops.add(summary["event_loop"])
                    runs[f"trawl-w{n}"].runs.append({"site": site, "pages": summary["pages"], "seconds": seconds,
                                                     "listings": summary.get("listings")})
                env = base_env | {"TRAWL_HOME": str(tmp / f"fetch-{site}-{rep}")}
                summary, wall, rss = fetch_crawl(site, env, timeout)
                fetch.add(summary["pages"], summary["bytes"], summary["crawl_s"], wall, rss, *LAST_CPU)
                fetch.runs.append({"site": site, "pages": summary["pages"], "seconds": summary["crawl_s"]})
                starts = [u if "://" in u else base + "/" + u.lstrip("/") for u in load_site(site).start_urls]
                kinds: list[tuple[Measure, bool, list[str] | None, str | None]] = [
                    (bare, False, None, None), (net, True, None, None), (follow, False, starts, None)]
                kinds += [(bare_uvloop, False, None, uvloop)] if uvloop else []
                for measure, evidence, seeds, loop in kinds:
                    result, wall, rss = bare_crawl(site, urls, handle.network, env, tmp,
                                                   timeout, evidence, seeds, loop)
                    measure.add(result["pages"], result["bytes"], result["duration_s"], wall,
                                rss, *LAST_CPU)
                    measure.work_cpu_s += result["cpu_s"]
                    measure.crawl_cpu_s += result["cpu_s"]  # one process does everything
                    measure.runs.append({"site": site, "pages": result["pages"], "unlinked": result["unlinked"],
                                         "seconds": round(result["duration_s"], 3)})
        if latency_site and latency_site in known and tb.sites[latency_site].network == "clearnet":
            latency = latency_bench(tb, latency_site, base_env, tmp, timeout)

    def ratio(m: Measure) -> float:
        return round(m.pages_per_s / bare.pages_per_s, 3) if bare.pages_per_s else 0.0

    everything = {**runs, "fetch": fetch, "net": net, "crawl": follow, "bare": bare}
    if bare_uvloop.pages:
        everything["bare-uvloop"] = bare_uvloop
    return {"sites": [s for s in sites if s not in skipped], "skipped": skipped,
            "event_loop": ", ".join(sorted(trawl_loops)),
            "repeat": repeat, "target": TARGET_RATIO, "cpu_count": os.cpu_count(),
            "ratio_pages_per_s": {kind: ratio(m) for kind, m in everything.items() if kind != "bare"},
            # trawl against a bare crawler that discovers the same pages by their links
            "ratio_to_crawl": {kind: round(m.pages_per_s / follow.pages_per_s, 3)
                               for kind, m in runs.items() if follow.pages_per_s},
            "ms_per_page": {kind: round(1000 * m.seconds / m.pages, 2) if m.pages else None
                            for kind, m in everything.items()},
            "cpu_ms_per_page": {kind: round(m.work_cpu_ms_per_page, 2) if m.work_cpu_s else None
                                for kind, m in everything.items()},
            "cpu_ms_per_page_with_startup": {kind: round(m.cpu_ms_per_page, 2) for kind, m in everything.items()},
            # the crawl process drives every fetch from one thread: at 100% of a core it could not
            # go faster than 1000 / its CPU ms per page, whatever the workers and the testbed do
            "crawl_process_cpu_ms_per_page": {kind: round(m.crawl_cpu_ms_per_page, 2) if m.crawl_cpu_s else None
                                              for kind, m in everything.items()},
            "one_core_ceiling_pages_per_s": {kind: round(1000 / m.crawl_cpu_ms_per_page, 1) if m.crawl_cpu_s else None
                                             for kind, m in everything.items()},
            # the testbed runs in this process: what serving a page cost on the same two cores
            "testbed_cpu_ms_per_page": {kind: round(m.server_cpu_ms_per_page, 2) for kind, m in everything.items()},
            # every process of the run (crawl, workers, the testbed) shares the machine's cores: even
            # perfectly overlapped they give at most cores x 1000 / their CPU ms per page together
            "all_cores_ceiling_pages_per_s": {
                kind: round((os.cpu_count() or 1) * 1000 / (m.work_cpu_ms_per_page + m.server_cpu_ms_per_page), 1)
                if m.work_cpu_s else None for kind, m in everything.items()},
            "latency": latency,
            **{kind: _report(m) for kind, m in everything.items()}}


def latency_bench(tb: Any, site: str, base_env: dict[str, str], tmp: Path, timeout: float) -> dict[str, Any]:
    """trawl (default workers) vs bare Scrapy through a proxy answering after 0.3-3 s."""
    from bench.latency_proxy import LatencyProxy

    handle = tb.sites[site]
    with LatencyProxy(handle.base_url, LATENCY_RANGE, seed=7) as proxy:
        env = base_env | {f"TRAWL_TESTBED_{site.upper()}_URL": proxy.base_url,
                          "TRAWL_HOME": str(tmp / f"latency-{site}")}
        before = len(tb.request_log)
        summary, _, _ = trawl_crawl(site, env, timeout)
        cpu = LAST_CPU[0]
        paths = [path for name, method, path, _ in tb.request_log[before:] if name == site and method == "GET"]
        seconds = summary.get("crawl_s") or summary["duration_s"]
        result, _, _ = bare_crawl(site, [proxy.base_url.rstrip("/") + p for p in paths], "clearnet", env, tmp, timeout)
    trawl_rate = summary["pages"] / seconds if seconds else 0.0
    bare_rate = result["pages"] / result["duration_s"] if result["duration_s"] else 0.0
    return {"site": site, "delay_s": list(LATENCY_RANGE), "target": LATENCY_TARGET,
            "trawl": {"pages": summary["pages"], "seconds": round(seconds, 2), "pages_per_s": round(trawl_rate, 2),
                      "cpu_ms_per_page": round(1000 * summary["work_cpu_s"] / summary["pages"], 2) if summary["pages"] else None,
                      "cpu_ms_per_page_with_startup": round(1000 * cpu / summary["pages"], 2) if summary["pages"] else None},
            "bare": {"pages": result["pages"], "seconds": round(result["duration_s"], 2),
                     "pages_per_s": round(bare_rate, 2)},
            "ratio_pages_per_s": round(trawl_rate / bare_rate, 3) if bare_rate else 0.0}


def _report(m: Measure) -> dict[str, Any]:
    return asdict(m) | {"pages_per_s": round(m.pages_per_s, 1), "mb_per_s": round(m.mb_per_s, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", default=",".join(DEFAULT_SITES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--workers", default="", help="comma-separated worker counts (default 0,1[,2])")
    parser.add_argument("--latency-site", default="pillhub", help="clear-web site of the latency run ('' = none)")
    parser.add_argument("--bare-worker", help=argparse.SUPPRESS)
    parser.add_argument("--fetch-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_worker:
        bare_worker(args.bare_worker)
        return 0
    if args.fetch_worker:
        fetch_worker(args.fetch_worker)
        return 0
    counts = [int(n) for n in args.workers.split(",")] if args.workers else None
    result = bench([s.strip() for s in args.sites.split(",") if s.strip()], args.repeat,
                   args.timeout, counts, args.latency_site)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    kinds = [k for k in result if k.startswith("trawl-w")] + ["fetch", "net", "crawl", "bare"]
    kinds += ["bare-uvloop"] if "bare-uvloop" in result else []
    for kind in kinds:
        r = result[kind]
        print(f"{kind:>11}: {r['pages']:>5} pages in {r['seconds']:.2f}s -> "
              f"{r['pages_per_s']:.1f} pages/s ({result['ratio_pages_per_s'].get(kind, 1.0):.2f}x bare), "
              f"CPU {result['cpu_ms_per_page'][kind] or 0:.1f} ms/page "
              f"({result['cpu_ms_per_page_with_startup'][kind]:.0f} with start-up), "
              f"testbed {result['testbed_cpu_ms_per_page'][kind]:.1f} ms/page, "
              f"{r['bytes'] / r['pages'] / 1000 if r['pages'] else 0:.1f} kB/page, "
              f"wall incl. start-up {r['wall']:.1f}s, peak RSS {r['peak_rss_mb']:.0f} MB")
    print("trawl-wN = trawl with N processing workers (0: in the crawl process); fetch = trawl with its "
          "item pipeline off; net = bare spider + onion guard + WARC evidence; crawl = bare spider discovering "
          "the same pages by following links; CPU = spider open to close, crawl process + workers (fetch: not measured)")
    print(f"trawl's event loop: {result['event_loop']} (crawl.event_loop); the bare spiders run on Scrapy's default"
          + ("; bare-uvloop = the bare spider on uvloop (reported, not the baseline)" if "bare-uvloop" in result else ""))
    print("trawl vs the bare discovering crawl: " + ", ".join(
        f"{kind} {ratio:.2f}x" for kind, ratio in result["ratio_to_crawl"].items()))
    ceiling, crawl_cpu = result["one_core_ceiling_pages_per_s"], result["crawl_process_cpu_ms_per_page"]
    bare_rate = result["bare"]["pages_per_s"]
    print("crawl process alone (the one thread every fetch waits on; 100% of a core = the ceiling): " + ", ".join(
        f"{kind} {crawl_cpu[kind]:.2f} ms/page -> at most {ceiling[kind]:.0f} pages/s"
        + (f" ({ceiling[kind] / bare_rate:.2f}x bare)" if bare_rate and kind != "bare" else "")
        for kind in kinds if ceiling.get(kind)))
    shared = result["all_cores_ceiling_pages_per_s"]
    print(f"all processes on {result['cpu_count']} cores (crawl, workers and the testbed, perfectly overlapped): " + ", ".join(
        f"{kind} at most {shared[kind]:.0f} pages/s"
        + (f" ({shared[kind] / bare_rate:.2f}x bare)" if bare_rate and kind != "bare" else "")
        for kind in kinds if shared.get(kind)))
    print(f"target: trawl >= {TARGET_RATIO}x bare pages/s with all processing on; cores: {result['cpu_count']}; "
          f"sites: {', '.join(result['sites'])}"
          + (f"; skipped (no site YAML): {', '.join(result['skipped'])}" if result["skipped"] else ""))
    lat = result["latency"]
    if lat:
        print(f"latency-bound ({lat['site']}, answers after {lat['delay_s'][0]}-{lat['delay_s'][1]} s): "
              f"trawl {lat['trawl']['pages_per_s']} pages/s, bare {lat['bare']['pages_per_s']} pages/s, "
              f"ratio {lat['ratio_pages_per_s']:.2f} (target >= {LATENCY_TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
