"""Crawl throughput: a full trawl crawl vs a bare Scrapy spider on the same URLs.

    .venv/bin/python bench/crawl.py [--sites pillhub,chemtrade,vortex,nightshade] [--repeat 3] [--json]

Starts the testbed with rate limiting and faults off. For each static site (clear-web
over HTTP, onion sites through the testbed's SOCKS5 gateway) it runs `trawl crawl SITE`
(evidence, parsing, enrichment, index: everything on, profile `bench` = the site's
concurrency but no download delay), takes the URLs the testbed served to it, and has a
bare Scrapy spider GET exactly those URLs with the same concurrency and network path
(the SOCKS handler for onion sites) and nothing else: no middlewares of ours, no
pipelines, no evidence. A third run, "net", is the bare spider plus the onion guard
and the WARC evidence middleware (fsync on): the cost of the network/evidence layer
alone, without parsing and enrichment. A fourth run, "fetch", is trawl itself with its
item pipeline switched off (spider, page objects, frontier, sessions and evidence on;
no parse, enrich or store): the share of the pipeline stages is trawl vs fetch, the share
of navigation and extraction fetch vs net. Times are spider-open to spider-close inside each process
(interpreter start-up excluded; wall time including it is reported too). Peak RSS per
process comes from wait4()'s rusage of each child.
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


@dataclass
class Measure:
    pages: int = 0
    bytes: int = 0
    seconds: float = 0.0
    wall: float = 0.0
    peak_rss_mb: float = 0.0
    runs: list[dict[str, Any]] = field(default_factory=list)

    def add(self, pages: int, nbytes: int, seconds: float, wall: float, rss_mb: float) -> None:
        self.pages += pages
        self.bytes += nbytes
        self.seconds += seconds
        self.wall += wall
        self.peak_rss_mb = max(self.peak_rss_mb, rss_mb)

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 2**20 / self.seconds if self.seconds else 0.0


def _run(cmd: list[str], env: dict[str, str], timeout: float) -> tuple[str, str, float, float]:
    """Run a child; returns stdout, stderr, wall seconds and its own peak RSS (MB)."""
    started = time.monotonic()
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
        wall = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed ({proc.returncode}): {stderr[-2000:]}")
    return stdout, stderr, wall, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def trawl_crawl(site: str, env: dict[str, str], timeout: float) -> tuple[dict[str, Any], float, float]:
    stdout, _, wall, rss = _run([PYTHON, "-m", "trawl.cli", "crawl", site, "--json"],
                                env, timeout)
    return json.loads(stdout.strip().splitlines()[-1]), wall, rss


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
               timeout: float, evidence: bool = False) -> tuple[dict[str, Any], float, float]:
    config = tmp / f"bare-{site}.json"
    run_dir = tmp / f"net-{site}-{time.monotonic_ns()}"
    config.write_text(json.dumps({"site": site, "urls": urls, "network": network,
                                  "out": str(tmp / f"bare-{site}-out.json"),
                                  "evidence_run_dir": str(run_dir) if evidence else None}))
    _, _, wall, rss = _run([PYTHON, str(Path(__file__).resolve()), "--bare-worker", str(config)],
                           env, timeout)
    return json.loads((tmp / f"bare-{site}-out.json").read_text()), wall, rss


def bare_worker(config_path: str) -> None:
    """The bare spider (runs in its own process): GET every URL, keep nothing."""
    import scrapy
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from crawler.engine.settings import site_settings
    from crawler.net.tor import tor_settings
    from crawler.sitedef.siteconfig import load_site

    config = json.loads(Path(config_path).read_text())
    site = load_site(config["site"])
    throttle = site_settings(site)
    settings: dict[str, Any] = {
        "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False, "ROBOTSTXT_OBEY": False,
        "COOKIES_ENABLED": False, "RETRY_ENABLED": False, "HTTPERROR_ALLOW_ALL": True,
        "REDIRECT_ENABLED": False, "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": throttle["CONCURRENT_REQUESTS"],
        "CONCURRENT_REQUESTS_PER_DOMAIN": throttle["CONCURRENT_REQUESTS_PER_DOMAIN"],
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
                yield scrapy.Request(url, dont_filter=True)

        def parse(self, response: scrapy.http.Response) -> None:
            return None

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(Bare)
    def opened(**_: Any) -> None:
        times["open"] = time.monotonic()

    def closed(**_: Any) -> None:
        times["close"] = time.monotonic()

    # signal receivers are weak references: keep named functions alive in this scope
    crawler.signals.connect(opened, signal=signals.spider_opened)
    crawler.signals.connect(closed, signal=signals.spider_closed)
    process.crawl(crawler)
    process.start()
    stats = crawler.stats.get_stats()
    Path(config["out"]).write_text(json.dumps({
        "pages": stats.get("downloader/response_count", 0),
        "bytes": stats.get("downloader/response_bytes", 0),
        "duration_s": times["close"] - times["open"]}))


def bench(sites: list[str], repeat: int, timeout: float) -> dict[str, Any]:
    from crawler.sitedef.siteconfig import list_site_names
    from testbed.server import run_testbed

    known = list_site_names()
    trawl, fetch, net, bare = Measure(), Measure(), Measure(), Measure()
    skipped: list[str] = []
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
                env = base_env | {"TRAWL_HOME": str(tmp / f"home-{site}-{rep}")}
                before = len(tb.request_log)
                summary, wall, rss = trawl_crawl(site, env, timeout)
                log = tb.request_log[before:]
                urls = [base + path for name, method, path, _ in log
                        if name == site and method == "GET"]
                # spider open to close, as for the bare spider (start-up is in "wall")
                seconds = summary.get("crawl_s") or summary["duration_s"]
                trawl.add(summary["pages"], summary["bytes"], seconds, wall, rss)
                trawl.runs.append({"site": site, "pages": summary["pages"],
                                   "seconds": seconds,
                                   "items": summary.get("items")})
                summary, wall, rss = fetch_crawl(site, env | {"TRAWL_HOME": str(tmp / f"fetch-{site}-{rep}")},
                                                 timeout)
                fetch.add(summary["pages"], summary["bytes"], summary["crawl_s"], wall, rss)
                fetch.runs.append({"site": site, "pages": summary["pages"], "seconds": summary["crawl_s"]})
                for measure, evidence in ((bare, False), (net, True)):
                    result, wall, rss = bare_crawl(site, urls, handle.network, env, tmp,
                                                   timeout, evidence)
                    measure.add(result["pages"], result["bytes"], result["duration_s"], wall,
                                rss)
                    measure.runs.append({"site": site, "pages": result["pages"],
                                         "seconds": round(result["duration_s"], 3)})
    ratio = trawl.pages_per_s / bare.pages_per_s if bare.pages_per_s else 0.0
    net_ratio = net.pages_per_s / bare.pages_per_s if bare.pages_per_s else 0.0
    fetch_ratio = fetch.pages_per_s / bare.pages_per_s if bare.pages_per_s else 0.0
    return {"sites": [s for s in sites if s not in skipped], "skipped": skipped,
            "repeat": repeat, "ratio_pages_per_s": round(ratio, 3), "target": TARGET_RATIO,
            "net_ratio_pages_per_s": round(net_ratio, 3),
            "fetch_ratio_pages_per_s": round(fetch_ratio, 3),
            "ms_per_page": {kind: round(1000 * m.seconds / m.pages, 2) if m.pages else None
                            for kind, m in (("trawl", trawl), ("fetch", fetch), ("net", net), ("bare", bare))},
            "trawl": _report(trawl), "fetch": _report(fetch), "net": _report(net), "bare": _report(bare)}


def _report(m: Measure) -> dict[str, Any]:
    return asdict(m) | {"pages_per_s": round(m.pages_per_s, 1), "mb_per_s": round(m.mb_per_s, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", default=",".join(DEFAULT_SITES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--bare-worker", help=argparse.SUPPRESS)
    parser.add_argument("--fetch-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_worker:
        bare_worker(args.bare_worker)
        return 0
    if args.fetch_worker:
        fetch_worker(args.fetch_worker)
        return 0
    result = bench([s.strip() for s in args.sites.split(",") if s.strip()], args.repeat,
                   args.timeout)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for kind in ("trawl", "fetch", "net", "bare"):
            r = result[kind]
            print(f"{kind:>5}: {r['pages']:>5} pages in {r['seconds']:.2f}s -> "
                  f"{r['pages_per_s']:.1f} pages/s, {r['mb_per_s']:.2f} MB/s "
                  f"(wall incl. start-up {r['wall']:.1f}s), peak RSS {r['peak_rss_mb']:.0f} MB")
        print(f"net = bare spider + onion guard + WARC evidence (no parsing/pipelines): "
              f"net/bare {result['net_ratio_pages_per_s']:.2f}")
        print(f"fetch = trawl with its item pipeline off (navigation, extraction, evidence): "
              f"fetch/bare {result['fetch_ratio_pages_per_s']:.2f}")
        ms = result["ms_per_page"]
        print(f"ms per page: trawl {ms['trawl']}, fetch {ms['fetch']}, net {ms['net']}, bare {ms['bare']} "
              f"(pipeline stages {ms['trawl'] - ms['fetch']:.2f}, navigation+extraction "
              f"{ms['fetch'] - ms['net']:.2f}, evidence {ms['net'] - ms['bare']:.2f})")
        print(f"ratio trawl/bare pages/s: {result['ratio_pages_per_s']:.2f} "
              f"(target >= {TARGET_RATIO}); sites: {', '.join(result['sites'])}"
              + (f"; skipped (no site YAML): {', '.join(result['skipped'])}"
                 if result["skipped"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
