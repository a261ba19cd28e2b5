"""`trawl reprocess`: a real testbed crawl, a site YAML change, then a re-extraction from the
run's WARCs with no network: values change, the testbed sees zero requests, both extraction
versions stay visible (snapshot export, the listing's history), trends count each capture once,
and `trawl runs` shows both runs with their versions (crawler/engine/reprocess.py).

The crawl test (make test-slow) runs the crawl, the changing reprocess, the export and `trawl
runs` as real subprocesses and the checks around them in this process (each `trawl` process
loads the substance lists again, seconds on a busy machine); the default suite re-reads an
ingest run of one saved testbed grid page, all in this process."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.records import Records
from testbed.catalogue import catalogue
from testbed.sites.pillhub_grid import grid_truth
from tests.crawler.conftest import REPO, crawl_env, trawl

SHIPPED = (REPO / "crawler" / "sites" / "pillhub-grid.yaml").read_text().replace("follow_listings: new",
                                                                                 "follow_listings: never")
SITE = "pillhub-grid"
TRUTH = {card["native_id"]: card for card in grid_truth(catalogue(1, 0))}
CURRENCY_USD = "    currency: {default: USD}"
CURRENCY_EUR = "    currency: {default: EUR}"


@pytest.fixture(scope="module")
def quiet_testbed() -> Iterator[Any]:
    from testbed.server import run_testbed

    with run_testbed(port=0, day=0, seed=1, rate_limit=False, faults=False) as tb:
        yield tb


def ok(args: list[str], env: dict[str, str]) -> str:
    run = trawl(args, env)
    assert run.returncode == 0, (args, run.stdout[-2000:], run.stderr[-3000:])
    return run.stdout


def stored(home: Path) -> tuple[dict[str, dict[str, Any]], int]:
    """The listings as stored and the count of current snapshots (what trends read)."""
    from core.records import to_dict
    from index.sqlite_backend import SqliteBackend

    backend = SqliteBackend(home / "index.sqlite")
    try:
        return {x.listing_id: to_dict(x) for x in backend.iter_listings()}, backend.counts()["snapshots"]
    finally:
        backend.close()


def reprocess_here(home: Path, *, run_id: str | None = None, dry_run: bool = False) -> dict[str, Any]:
    """The library call `trawl reprocess` makes, in this process (the env points at `home`)."""
    from crawler.engine.reprocess import find_source_runs, reprocess
    from crawler.sitedef.siteconfig import load_site
    from index import open_index

    site = load_site(SITE)  # loaded afresh: the YAML as it is now
    sources = find_source_runs(home / "runs", SITE, run_id=run_id)
    with open_index() as index:
        return reprocess(site, sources, index, home=home.resolve(), runs_dir=home / "runs", dry_run=dry_run).to_dict()


@pytest.mark.slow  # a real crawl plus three trawl processes: ~25 s idle, a minute on a busy machine
def test_yaml_change_then_reprocess_changes_values_without_fetching(quiet_testbed: Any, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    sites, home = tmp_path / "sites", tmp_path / "home"
    sites.mkdir()
    yaml = sites / f"{SITE}.yaml"
    assert CURRENCY_USD in SHIPPED
    yaml.write_text(SHIPPED)
    env = crawl_env(home, {**quiet_testbed.env(), "TRAWL_SITES_DIR": str(sites)})
    for name in ("TRAWL_HOME", "TRAWL_SITES_DIR", "TRAWL_PROFILE"):
        monkeypatch.setenv(name, env[name])

    crawled = json.loads(ok(["crawl", SITE, "--json"], env).strip().splitlines()[-1])
    crawl_id, n = crawled["run_id"], len(TRUTH)
    assert crawled["listings"] == n >= 10
    before, snapshots_before = stored(home)
    assert snapshots_before == n and len(before) == n
    (v1,) = {row["extraction_version"] for row in before.values()}
    assert v1 and all(row["price_currency"] == "USD" for row in before.values())

    # the same YAML re-read from the WARCs gives exactly the values the crawl stored: nothing written
    same = reprocess_here(home, run_id=crawl_id)
    assert (same["listings"], same["unchanged"], same["changed"], same["new"]) == (n, n, 0, 0)
    assert same["extraction_version"] == v1 and same["source_runs"] == [crawl_id]
    assert stored(home) == (before, n)

    # a YAML change: the cards' bare prices are read as EUR
    yaml.write_text(SHIPPED.replace(CURRENCY_USD, CURRENCY_EUR))
    dry = reprocess_here(home, run_id=crawl_id, dry_run=True)
    assert dry["dry_run"] and dry["run_id"] == "" and dry["changed"] == n and dry["extraction_version"] != v1
    assert dry["fields_changed"]["price_currency"] == n
    assert stored(home) == (before, n)  # a dry run writes nothing

    requests_before = len(quiet_testbed.request_log)
    done = json.loads(ok(["reprocess", crawl_id, "--json"], env).strip().splitlines()[-1])
    assert len(quiet_testbed.request_log) == requests_before  # zero requests: evidence only
    v2 = done["extraction_version"]
    assert v2 == dry["extraction_version"] and (done["changed"], done["unchanged"]) == (n, 0)
    assert done["superseded_versions"] == {v1: n} and done["fields_changed"]["price_currency"] == n

    # search: the current values only, stamped with the new version, still dated at the capture
    after, current_snapshots = stored(home)
    assert sorted(after) == sorted(before) and current_snapshots == n  # trends count each capture once
    for listing_id, row in after.items():
        assert (row["price_currency"], row["extraction_version"]) == ("EUR", v2)
        assert row["title"] == before[listing_id]["title"] and row["crawled_at"] == before[listing_id]["crawled_at"]

    # export and history: both extractions of the one capture, the old one superseded
    out = ok(["export", "snapshots", "--site", SITE, "--format", "jsonl", "--out", "-"], env)
    snapshots = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(snapshots) == 2 * n
    by_listing: dict[str, list[dict[str, Any]]] = {}
    for snap in snapshots:
        by_listing.setdefault(snap["listing_id"], []).append(snap)
    for listing_id, pair in by_listing.items():
        old, new = sorted(pair, key=lambda s: not s["superseded"])
        assert (old["superseded"], old["extraction_version"], old["price_currency"]) == (True, v1, "USD")
        assert (new["superseded"], new["extraction_version"], new["price_currency"]) == (False, v2, "EUR")
        assert old["crawled_at"] == new["crawled_at"] == before[listing_id]["crawled_at"]
        assert old["run_id"] == new["run_id"] == crawl_id  # both cite the capture's run
        assert old["snapshot_id"] != new["snapshot_id"]

    from index.history import listing_snapshots
    from index.sqlite_backend import SqliteBackend

    backend = SqliteBackend(home / "index.sqlite")
    try:
        history = listing_snapshots(backend, sorted(after)[0])
        assert [(s.extraction_version, s.superseded) for s in history] == [(v1, True), (v2, False)]
    finally:
        backend.close()

    # again: already at the current version, nothing changes or is written
    again = reprocess_here(home)
    assert (again["changed"], again["unchanged"]) == (0, n) and again["source_runs"] == [crawl_id]
    assert stored(home) == (after, n)

    runs = {r["run_id"]: r for r in json.loads(ok(["runs", "--json"], env))}
    assert runs[crawl_id]["extraction_versions"] == {v1: n}
    reprocessed = runs[done["run_id"]]
    assert reprocessed["kind"] == "reprocess" and reprocessed["source_runs"] == [crawl_id]
    assert reprocessed["extraction_versions"] == {v2: n} and reprocessed["status"] == "finished"
    assert runs[again["run_id"]]["extraction_versions"] == {}  # wrote nothing
    from click.testing import CliRunner

    from crawler.engine.cli import runs as runs_command

    text = CliRunner().invoke(runs_command, []).output
    assert v1 in text and f"{v2} (from {crawl_id})" in text


def test_reprocess_of_an_ingest_run_supersedes_and_dates_at_capture(quiet_testbed: Any, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from urllib.request import urlopen

    from crawler.engine.ingest import IngestOptions, ingest
    from crawler.sitedef.siteconfig import load_site
    from index.sqlite_backend import SqliteBackend

    category = sorted({c["category"] for c in TRUTH.values()})[0]
    cards = [c for c in grid_truth(catalogue(1, 0)) if c["category"] == category][:4]
    url = f"{quiet_testbed.env()['TRAWL_TESTBED_PILLHUB_URL'].rstrip('/')}/grid/{category}"
    saved = tmp_path / "grid.html"
    with urlopen(url, timeout=30) as response:
        saved.write_bytes(response.read())
    sites, home = tmp_path / "sites", tmp_path / "home"
    sites.mkdir()
    (sites / f"{SITE}.yaml").write_text(SHIPPED)
    for name, value in crawl_env(home, {"TRAWL_SITES_DIR": str(sites)}).items():
        if name.startswith("TRAWL_"):
            monkeypatch.setenv(name, value)
    requests_before = len(quiet_testbed.request_log)
    report = ingest(load_site(SITE), [saved], IngestOptions(url=url, clock="2026-03-01T10:00:00Z"))
    assert report.listings == len(cards) >= 2, report.summary_lines()

    (sites / f"{SITE}.yaml").write_text(SHIPPED.replace(CURRENCY_USD, CURRENCY_EUR))
    done = reprocess_here(home, run_id=report.run_id)
    assert len(quiet_testbed.request_log) == requests_before  # neither ingest nor reprocess fetched
    assert (done["changed"], done["unchanged"], done["new"]) == (len(cards), 0, 0)
    assert done["fields_changed"]["price_currency"] == len(cards)
    (v1,) = done["superseded_versions"]
    assert v1 and v1 != done["extraction_version"]
    backend = SqliteBackend(home / "index.sqlite")
    try:
        listings = {x.listing_id: x for x in backend.iter_listings()}
        assert {x.price_currency for x in listings.values()} == {"EUR"} and len(listings) == len(cards)
        assert {x.extraction_version for x in listings.values()} == {done["extraction_version"]}
        history = list(backend.iter_snapshots())
        assert backend.counts()["snapshots"] == len(cards) and len(history) == 2 * len(cards)
        assert {s.crawled_at for s in history} == {"2026-03-01T10:00:00Z"}  # the capture's time, not now
        assert sorted((s.superseded, s.price_currency) for s in history) == (
            [(False, "EUR")] * len(cards) + [(True, "USD")] * len(cards))
    finally:
        backend.close()

    # a listing page of a non-grid site, re-read with its unchanged YAML: no noise at all
    product = tmp_path / "product.html"
    product_url = url.rsplit("/grid/", 1)[0] + cards[0]["url"]
    with urlopen(product_url, timeout=30) as response:
        product.write_bytes(response.read())
    (sites / "pillhub.yaml").write_text((REPO / "crawler" / "sites" / "pillhub.yaml").read_text())
    page_run = ingest(load_site("pillhub"), [product], IngestOptions(url=product_url, clock="2026-03-02T10:00:00Z"))
    assert page_run.listings == 1, page_run.summary_lines()
    import dataclasses

    from crawler.engine.reprocess import find_source_runs, reprocess
    from index import open_index

    with open_index() as index:  # stored as a crawl stores a non-grid listing: no grid memory
        (listing,) = [x for x in index.iter_listings() if x.site == "pillhub"]
        index.write(Records([dataclasses.replace(listing, page_fields={}, page_crawled_at="")]))

    with open_index() as index:
        again = reprocess(load_site("pillhub"), find_source_runs(home / "runs", "pillhub"), index, home=home.resolve(),
                          runs_dir=home / "runs").to_dict()
    assert (again["listings"], again["unchanged"], again["changed"]) == (1, 1, 0), again


def test_reprocess_errors_are_one_line(tmp_path: Path) -> None:
    env = crawl_env(tmp_path / "home")
    missing = trawl(["reprocess", "nosuch-20260101T000000Z-abcd"], env)
    assert missing.returncode == 2 and "no such run" in missing.stderr and len(missing.stderr.splitlines()) == 1
    from click.testing import CliRunner

    from crawler.engine.reprocess_cli import reprocess

    neither = CliRunner().invoke(reprocess, [])
    assert neither.exit_code == 2 and "RUN_ID or --site" in neither.output
