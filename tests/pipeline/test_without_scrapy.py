"""The pipeline runs without Scrapy: a testbed page fetched over loopback, read by the site's
page object (crawler.sitedef.pages.read_item), processed and stored by pipeline.Pipeline into
a real SQLite index, in a subprocess where importing Scrapy or Twisted raises.  The stored
listing is compared with the testbed's ground truth for that page."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from index.sqlite_backend import SqliteBackend

REPO = Path(__file__).resolve().parents[2]
CLOCK = "2026-11-30T00:00:00Z"


@pytest.fixture(scope="module")
def testbed() -> Iterator[Any]:
    from testbed.server import run_testbed

    with run_testbed(port=0, day=0, seed=1, rate_limit=False, faults=False) as tb:
        yield tb


def run_scrapyless(site: str, url: str, index: Path, env: dict[str, str], *mode: str) -> dict[str, Any]:
    proc_env = {k: v for k, v in os.environ.items() if not k.startswith("TRAWL_")}
    proc_env.update(env, PYTHONPATH=str(REPO), TRAWL_HOME=str(index.parent))
    proc = subprocess.run([sys.executable, "-m", "tests.pipeline.scrapyless", *mode, site, url, str(index), CLOCK],
                          env=proc_env, cwd=REPO, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_a_saved_page_is_stored_through_page_object_and_pipeline_without_scrapy(testbed: Any, tmp_path: Path) -> None:
    truth = next(t for t in testbed.truth("pillhub") if t["native_id"] == "ph001")
    url = testbed.sites["pillhub"].base_url.rstrip("/") + truth["url"]
    index_path = tmp_path / "index.sqlite"

    out = run_scrapyless("pillhub", url, index_path, testbed.env())

    assert out["loaded"] == []  # nothing of Scrapy or Twisted was imported on the way
    first, second = out["passes"]
    assert (first["novelty"], second["novelty"]) == ("new", "unchanged") and first["drop"] is None
    assert first["parse_errors"] == []
    assert out["done"] == [truth["url"], truth["url"]]  # the page key, handed on after each written batch
    stats = out["stats"]
    assert stats["trawl/listings/new"] == 1 and stats["trawl/listings/unchanged"] == 1
    assert stats["trawl/stored/listings"] == 2 and stats["trawl/store/batches"] == 2

    backend = SqliteBackend(index_path)
    try:
        listing = backend.get_listing("pillhub:ph001")
        snapshots = [s for s in backend.iter_snapshots() if s.listing_id == "pillhub:ph001"]
    finally:
        backend.close()
    assert listing is not None
    assert (listing.title, listing.vendor, listing.url) == (truth["title"], truth["vendor"], url)
    assert (listing.price_amount, listing.price_currency) == (truth["price_amount"], "EUR")
    # converted at the rate table's EUR rate (the testbed's own rate differs): the same for offer and tier
    assert listing.price_usd is not None and listing.rate_source
    assert listing.price_usd == listing.price_tiers[0]["price_usd"]
    assert (listing.quantity_amount, listing.quantity_unit, listing.dose_mg) == (30.0, "unit", 40.0)
    assert (listing.origin, listing.ships_worldwide) == (truth["origin"], True)
    assert [s.name for s in listing.substances] == [truth["substance"]]
    assert [(t["quantity_amount"], t["price_amount"]) for t in listing.price_tiers] == [
        (t["quantity_amount"], t["price_amount"]) for t in truth["price_tiers"]]
    # the method without its "(10-21 days)", which is read into days_min/days_max
    assert [(o.method, o.cost, o.days_min, o.days_max) for o in listing.shipping_options] == [
        (o["method"].split(" (")[0], o["cost"], o["days_min"], o["days_max"]) for o in truth["shipping_options"]]
    assert listing.crawled_at == CLOCK and listing.first_seen == CLOCK
    assert listing.evidence.run_id == "ingest-1" and len(listing.evidence.payload_sha256) == 64
    assert listing.evidence.mirror == testbed.sites["pillhub"].base_url.rstrip("/")
    assert len(snapshots) == 1 and snapshots[0].price_usd == listing.price_usd  # same clock: one snapshot id


def test_a_processing_worker_needs_no_scrapy(testbed: Any, tmp_path: Path) -> None:
    """A worker process (and reprocess, ingest) extracts, checks gates and stores without
    Scrapy or Twisted: importing them cost every worker ~0.35 s of CPU at start."""
    truth = next(t for t in testbed.truth("pillhub") if t["native_id"] == "ph001")
    url = testbed.sites["pillhub"].base_url.rstrip("/") + truth["url"]
    index_path = tmp_path / "index.sqlite"

    out = run_scrapyless("pillhub", url, index_path, testbed.env(), "--worker")

    assert out["loaded"] == []
    assert out["seqs"] == [1] and out["keys"] == [truth["url"]]
    assert out["counters"]["trawl/listings/new"] == 1 and out["counters"]["trawl/workers/jobs"] == 1
    backend = SqliteBackend(index_path)
    try:
        listing = backend.get_listing("pillhub:ph001")
    finally:
        backend.close()
    assert listing is not None and (listing.title, listing.vendor) == (truth["title"], truth["vendor"])
