"""The end-to-end demo: testbed → crawls → parse/match → index → summary, searches, a trend.

Nothing here is canned: every figure printed is read back from the crawl runs and the
index that the crawls filled, and accuracy is measured against the testbed's ground truth.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from core.errors import TrawlError
from core.records import Listing
from crawler.engine.spawn import crawl_command
from index.api import SearchQuery, TrendQuery
from trawl.accuracy import compare, format_table

DEMO_SITES = ("nightshade", "vortex", "rcshop", "chemtrade", "pillhub")
# Later testbed days re-crawled on the darknet markets so that a monthly trend exists.
REVISIT_DAYS = (31, 62)
REVISIT_SITES = ("nightshade", "vortex")
# Testbed day 0 is this date; `--clock` stamps listings with the simulated day.
DAY_ZERO = datetime(2026, 8, 3, 12, 0, tzinfo=timezone.utc)
FILLED_FIELDS = ("title", "vendor", "price_usd", "quantity_amount", "origin", "substances")


@dataclass
class CrawlSummary:
    site: str
    day: int
    exit_code: int
    seconds: float
    stats: dict[str, Any] = field(default_factory=dict)
    error: str = ""


def clock_for(day: int) -> str:
    return (DAY_ZERO + timedelta(days=day)).isoformat().replace("+00:00", "Z")


def crawl_site(site: str, *, day: int, env: dict[str, str], timeout: int = 240,
               progress: bool = False) -> CrawlSummary:
    """Crawl one site in its own process (Twisted's reactor runs once per process).

    With `progress` (the demo runs on a terminal) the crawl inherits this stderr, so it
    shows the same live progress line as `trawl crawl`, and any warning it logs."""
    argv = crawl_command(site, clock=clock_for(day), json_summary=True, progress=progress)
    started = time.monotonic()
    try:
        proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=None if progress else subprocess.PIPE,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return CrawlSummary(site, day, 124, time.monotonic() - started, error=f"timed out after {timeout}s")
    summary = CrawlSummary(site, day, proc.returncode, time.monotonic() - started)
    try:
        summary.stats = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
    except (json.JSONDecodeError, IndexError):
        summary.stats = {}
    if proc.returncode != 0:
        lines = (proc.stderr or "").strip().splitlines()
        summary.error = lines[-1] if lines else str(summary.stats.get("failure") or summary.stats.get("paused_reason")
                                                     or "see the messages above")
    return summary


def crawl_sites(sites: tuple[str, ...], *, day: int, env: dict[str, str], progress: bool) -> list[CrawlSummary]:
    """On a terminal one site after another, each with its live progress line; otherwise all
    at once (the sites are independent, and their time is mostly politeness delays, retry
    back-offs and a browser): the demo's day 0 takes ~25 s instead of ~75 s."""
    if progress:
        return [crawl_site(site, day=day, env=env, progress=True) for site in sites]
    with ThreadPoolExecutor(len(sites)) as pool:
        return list(pool.map(lambda site: crawl_site(site, day=day, env=env), sites))


def _stat(stats: dict[str, Any], name: str) -> int:
    """A headline count from a run summary; per-kind breakdowns (dicts) are summed."""
    value = stats.get(name) or 0
    if isinstance(value, dict):
        return sum(int(v) for v in value.values() if isinstance(v, (int, float)))
    return int(value)


def fields_filled(listings: list[Listing]) -> float:
    if not listings:
        return 0.0
    filled = sum(1 for listing in listings for name in FILLED_FIELDS if getattr(listing, name))
    return filled / (len(listings) * len(FILLED_FIELDS))


def run_demo(home: Path, *, echo: Callable[[str], None] = print, revisit: bool = True,
             progress: bool | None = None, index_url: str | None = None) -> dict[str, Any]:
    """The whole demo.  `progress` (default: when stderr is a terminal) shows each crawl's
    live progress line on stderr, as `trawl crawl` does.  `index_url` (an Elasticsearch
    http(s):// URL): the crawls fill that index instead of $HOME/index.sqlite; the demo
    refuses to start when it is unavailable (a demo that spools shows nothing)."""
    from index import open_index  # deferred: keeps `trawl --help` fast
    from testbed.server import run_testbed

    if progress is None:
        progress = sys.stderr.isatty()
    home.mkdir(parents=True, exist_ok=True)
    index_path = home / "index.sqlite"
    target = index_url or f"sqlite:///{index_path}"
    if index_url:
        _check_index(index_url)
    report: dict[str, Any] = {"home": str(home), "crawls": [], "accuracy": {}}
    started = time.monotonic()
    with run_testbed(port=0, day=0) as testbed:
        env = {**os.environ, **testbed.env(), "TRAWL_HOME": str(home)}
        env.pop("TRAWL_INDEX_URL", None)  # the demo fills the embedded default, or the --index-url it was given
        if index_url:
            env["TRAWL_INDEX_URL"] = index_url
        echo(f"testbed up: {', '.join(f'{n} {s.base_url}' for n, s in testbed.sites.items())}")
        echo(f"onion gateway: {testbed.socks_url}\n")
        crawls = crawl_sites(DEMO_SITES, day=0, env=env, progress=progress)
        # accuracy is measured against day 0 before later days re-crawl (and re-price) the listings
        with open_index(target) as index:
            day0 = {site: list(index.iter_listings(SearchQuery(site=site))) for site in DEMO_SITES}
            tokens = [c.token for c in index.candidates()]
        accuracy = [compare(site, testbed.truth(site), day0[site], candidate_tokens=tokens) for site in DEMO_SITES]
        if revisit:
            for day in REVISIT_DAYS:
                testbed.set_day(day)
                crawls += crawl_sites(REVISIT_SITES, day=day, env=env, progress=progress)
        gateway_connects = len(testbed.gateway_log)
    report["crawls"] = [c.__dict__ for c in crawls]
    for crawl in crawls:
        if crawl.exit_code != 0:
            echo(f"warning: crawl of {crawl.site} (day {crawl.day}) exited {crawl.exit_code}: {crawl.error}")
    echo(_summary_table(crawls, day0))
    echo("\naccuracy against the testbed's ground truth (day 0 listings found / fields right):")
    echo(format_table(accuracy))
    report["accuracy"] = {a.site: {"found": a.found, "truth": a.truth_listings,
                                   **{n: round(s.accuracy, 4) for n, s in a.fields.items()}} for a in accuracy}
    echo(f"\nonion gateway CONNECTs: {gateway_connects} (darknet sites were reached only through it)")
    from enrich.vocabulary import default_vocabulary

    with open_index(target, vocabulary=default_vocabulary()) as index:
        report["searches"] = _example_searches(index, echo)
        report["trend"] = _example_trend(index, echo)
    report["seconds"] = round(time.monotonic() - started, 1)
    echo(f"\ndone in {report['seconds']}s; index: {index_url or index_path}")
    echo('try: ' + (f'TRAWL_INDEX_URL={index_url} ' if index_url else '') + 'trawl search "mephedrone" --json')
    return report


def _check_index(index_url: str) -> None:
    """Elasticsearch reachable and ready, before the testbed starts (a one-line TrawlError otherwise)."""
    from index import open_index

    if not index_url.startswith(("http://", "https://")):
        raise TrawlError(f"--index-url {index_url!r}: expected an Elasticsearch http(s)://host:9200 URL")
    with open_index(index_url) as index:
        index.counts()  # probes the server, creates the layout if missing


def _summary_table(crawls: list[CrawlSummary], listings: dict[str, list[Listing]]) -> str:
    header = (f"{'site':<12}{'day':>4}{'pages':>8}{'listings':>9}{'errors':>8}{'gates':>7}{'secs':>7}"
              "   listings stored  fields filled")
    lines = ["per crawl:", header, "-" * len(header)]
    for c in crawls:
        pages, items, errors, gates = (_stat(c.stats, k) for k in ("pages", "listings", "errors", "gate_hits"))
        stored = listings.get(c.site, [])
        tail = f"   {len(stored):>15}  {100 * fields_filled(stored):>12.1f}%" if c.day == 0 else ""
        lines.append(f"{c.site:<12}{c.day:>4}{pages:>8}{items:>9}{errors:>8}{gates:>7}{c.seconds:>7.1f}{tail}")
    return "\n".join(lines)


def _canonical(text: str) -> str | None:
    from enrich import match

    found = match(text)
    return found[0].canonical if found else None


def _example_searches(index: Any, echo: Callable[[str], None]) -> list[dict[str, Any]]:
    mmc = _canonical("3-MMC") or "3-mmc"
    cocaine = _canonical("cocaine") or "cocaine"
    searches = [
        ('full text "mephedrone"', SearchQuery(text="mephedrone", limit=5)),
        (f"who sells 3-MMC ({mmc}) to Germany",
         SearchQuery(substance=mmc, destination="DE", sort="usd_per_unit", limit=5)),
        (f"cheapest {cocaine} per gram shipping to GB",
         SearchQuery(substance=cocaine, destination="GB", sort="usd_per_unit", limit=5)),
    ]
    results = []
    for label, query in searches:
        result = index.search(query)
        echo(f"\nsearch: {label}: {result.total} listing(s)")
        for hit in result.hits:
            item = hit.listing
            ppu = f"${item.usd_per_unit:,.2f}/{item.quantity_unit}" if item.usd_per_unit is not None else "-"
            echo(f"  {item.site:<11} {str(item.vendor or '-')[:16]:<16} {ppu:>14}  {item.origin or '??'}  "
                 f"{item.title[:60]}")
        results.append({"label": label, "total": result.total, "ids": [h.listing.listing_id for h in result.hits]})
    return results


def _example_trend(index: Any, echo: Callable[[str], None]) -> list[dict[str, Any]]:
    query = TrendQuery(metric="usd_per_unit", interval="month", group_by=["substance"], unit="g")
    rows = [r for r in index.trends(query) if r.group.get("substance")]
    if not rows:
        raise TrawlError("the demo produced no trend rows: crawls stored no priced listings")
    months = sorted({r.period for r in rows})
    cells: dict[str, dict[str, Any]] = {}
    for row in rows:
        cells.setdefault(str(row.group["substance"]), {})[row.period] = row
    # the substances offered most often, seen in every month
    offered = sorted((s for s, by_month in cells.items() if len(by_month) == len(months)),
                     key=lambda s: -sum(r.count for r in cells[s].values()))[:10]
    echo("\ntrend: median USD per gram by substance and month (n offers), most-offered substances:")
    echo(f"  {'substance':<26}" + "".join(f"{m[:7]:>20}" for m in months))
    for substance in offered:
        cell_texts = (f"${cells[substance][m].median:.2f} (n={cells[substance][m].count})" for m in months)
        echo(f"  {substance[:26]:<26}" + "".join(f"{text:>20}" for text in cell_texts))
    return [r.__dict__ for r in rows]
