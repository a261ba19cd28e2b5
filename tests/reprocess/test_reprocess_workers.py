"""`trawl reprocess --workers N` stores exactly what a one-process reprocess stores.

Two testbed days of a grid site (pillhub-grid: day 1's known cards are laid over the page
fields day 0 stored, `follow_listings: new`, and each listing's two captures must stay in
order) and one of a listing-page site with vendors (chemtrade) are crawled into one home; after a YAML change that alters values on both, one
copy of the home is reprocessed in this process and another by two worker processes
(crawler/engine/reprocess_pool.py).  The summaries, every listing, every snapshot (the
superseded ones too) and every vendor must be equal (a vendor's evidence: the same run), and
the change must have happened."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.crawler.conftest import REPO, crawl_env, trawl

SITES = ("pillhub-grid", "chemtrade")
CHANGES = {  # site -> (shipped text, changed text): each alters stored values of every listing
    "pillhub-grid": ("    currency: {default: USD}", "    currency: {default: EUR}"),
    "chemtrade": ('    purity: "dd.spec-purity"', '    purity: "dd.no-such-purity"'),
}


def _index_state(home: Path) -> dict[str, Any]:
    from core.records import to_dict
    from index.sqlite_backend import SqliteBackend

    backend = SqliteBackend(home / "index.sqlite")
    try:
        return {"listings": sorted((to_dict(x) for x in backend.iter_listings()), key=lambda d: d["listing_id"]),
                "snapshots": sorted((to_dict(s) for s in backend.iter_snapshots()),
                                    key=lambda d: (d["listing_id"], d["crawled_at"], d["superseded"])),
                "vendors": sorted((to_dict(v) for v in backend.vendors()), key=lambda d: d["vendor_id"]),
                "counts": backend.counts()}
    finally:
        backend.close()


def _reprocess(home: Path, site_name: str, workers: int) -> dict[str, Any]:
    from crawler.engine.reprocess import find_source_runs, reprocess
    from crawler.sitedef.siteconfig import load_site
    from index import open_index

    site = load_site(site_name)
    with open_index() as index:
        done = reprocess(site, find_source_runs(home / "runs", site_name), index, home=home.resolve(),
                         runs_dir=home / "runs", workers=workers).to_dict()
    return {k: v for k, v in done.items() if k not in ("run_id", "duration_s")}


def test_two_workers_store_what_one_process_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from testbed.server import run_testbed

    crawled = tmp_path / "crawled"
    for day, sites_of_the_day in ((0, SITES), (1, ("pillhub-grid",))):  # a crawl less: each costs seconds
        with run_testbed(port=0, day=day, seed=1, rate_limit=False, faults=False) as tb:
            env = crawl_env(crawled, tb.env())
            for site in sites_of_the_day:
                run = trawl(["crawl", site, "--json"], env, timeout=300)
                assert run.returncode == 0, run.stderr[-3000:]
    sites = tmp_path / "sites"
    sites.mkdir()
    for site, (shipped, changed) in CHANGES.items():
        text = (REPO / "crawler" / "sites" / f"{site}.yaml").read_text()
        assert shipped in text, site
        (sites / f"{site}.yaml").write_text(text.replace(shipped, changed))

    summaries: dict[int, dict[str, Any]] = {}
    states: dict[int, dict[str, Any]] = {}
    for workers in (0, 2):
        home = tmp_path / f"home-w{workers}"
        shutil.copytree(crawled, home)
        for name, value in crawl_env(home, {"TRAWL_SITES_DIR": str(sites)}).items():
            if name.startswith("TRAWL_"):
                monkeypatch.setenv(name, value)  # the pool's processes inherit it
        summaries[workers] = {site: _reprocess(home, site, workers) for site in SITES}
        states[workers] = _index_state(home)

    one, two = summaries[0], summaries[2]
    assert one["pillhub-grid"]["changed"] > 0 and one["pillhub-grid"]["fields_changed"].get("price_currency")
    assert one["chemtrade"]["changed"] > 0 and one["chemtrade"]["fields_changed"]
    assert (len(one["pillhub-grid"]["source_runs"]), len(one["chemtrade"]["source_runs"])) == (2, 1)
    assert one == two
    assert states[0]["counts"] == states[2]["counts"]
    assert states[0]["snapshots"] == states[2]["snapshots"]
    assert states[0]["listings"] == states[2]["listings"]
    # a vendor seen on several pages of one run cites one of them: the last written, which two
    # processes may order differently (as a crawl's two workers do); the run is the same
    assert _cited_runs(states[0]["vendors"]) == _cited_runs(states[2]["vendors"])


def _cited_runs(vendors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**v, "evidence": (v["evidence"] or {}).get("run_id")} for v in vendors]


def test_a_worker_that_cannot_start_fails_the_reprocess_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The YAML edited between the command's load and a worker's: the worker would stamp another
    version, so it refuses; the reprocess fails naming why and its run is marked failed."""
    import json

    from core.errors import TrawlError
    from crawler.engine.reprocess import reprocess
    from crawler.sitedef.siteconfig import load_site
    from index import open_index
    from pipeline.version import extraction_version

    sites, home = tmp_path / "sites", tmp_path / "home"
    sites.mkdir()
    shipped, changed = CHANGES["chemtrade"]
    yaml_file = sites / "chemtrade.yaml"
    yaml_file.write_text((REPO / "crawler" / "sites" / "chemtrade.yaml").read_text())
    for name, value in crawl_env(home, {"TRAWL_SITES_DIR": str(sites)}).items():
        if name.startswith("TRAWL_"):
            monkeypatch.setenv(name, value)
    site = load_site("chemtrade")
    extraction_version(site)  # hashed at load, as the command's first step does
    yaml_file.write_text(yaml_file.read_text().replace(shipped, changed))
    (home / "runs").mkdir(parents=True)
    with open_index() as index, pytest.raises(TrawlError) as failed:
        reprocess(site, [], index, home=home, runs_dir=home / "runs", workers=1)
    assert "reprocess worker 0 failed" in str(failed.value) and "changed after the reprocess started" in str(failed.value)
    (run_dir,) = (home / "runs").iterdir()
    assert json.loads((run_dir / "stats.json").read_text())["status"] == "failed"


def test_a_killed_worker_fails_the_reprocess_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """kill -9 of a worker: the next request to it (or answer awaited from it) fails with its
    exit code named instead of hanging; the pool's other processes are stopped."""
    from core.errors import TrawlError
    from crawler.engine.reprocess_pool import PoolSpec, ReprocessPool, site_source
    from crawler.evidence.reader import RecordRef
    from crawler.sitedef.siteconfig import load_site
    from pipeline.version import extraction_version

    for name, value in crawl_env(tmp_path / "home").items():
        if name.startswith("TRAWL_"):
            monkeypatch.setenv(name, value)
    site = load_site("chemtrade")
    pool = ReprocessPool(PoolSpec(site_source(site), site.name, extraction_version(site), dry_run=True), 2)
    with pool:
        processes = [p for p, _, _ in pool.workers]
        process = processes[1]
        process.kill()
        process.join(timeout=30)
        refs = [RecordRef(tmp_path, tmp_path / "none.warc.gz", 0, "none.warc.gz", "") for _ in range(40)]
        with pytest.raises(TrawlError, match=r"reprocess worker 1 died \(exit code -9\)"):
            pool.read(refs)
    assert len(processes) == 2 and not any(p.is_alive() for p in processes)
