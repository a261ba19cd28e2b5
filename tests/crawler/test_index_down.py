"""Issue 16: a crawl never loses an item because the index is unavailable.

A real testbed crawl through the real `trawl` executable with TRAWL_INDEX_URL at a dead
loopback port: every listing the testbed serves ends up in the spool, the run says
"degraded" (exit 5, `trawl runs`), and the spooled records equal what an uninterrupted
crawl of the same site at the same clock stores in SQLite; `trawl index flush` into a
SQLite index then reproduces that crawl's index.  No Elasticsearch server is needed."""
from __future__ import annotations

import functools
import http.server
import json
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from core.records import Listing, Records, Snapshot, to_dict
from tests.crawler.conftest import crawl_env, trawl

SITE = "chemtrade"
CLOCK = "2026-08-03T12:00:00Z"
# per-run fields: where the evidence is and which run wrote it differ between two crawls
RUN_FIELDS = ("evidence", "run_id", "snapshot_id")


def dead_port() -> int:
    """A loopback port nothing listens on (bound by the kernel, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spooled(home: Path) -> Records:
    """Every batch in $TRAWL_HOME/spool, read back as the backend-neutral Records format."""
    batches = Records()
    for path in sorted((home / "spool").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            batches.extend(Records.from_json(json.loads(line)))
    return batches


def comparable(record: Listing | Snapshot) -> dict[str, Any]:
    return {k: v for k, v in to_dict(record).items() if k not in RUN_FIELDS}


def stored(index_path: Path) -> tuple[list[Listing], list[Snapshot]]:
    from index.sqlite_backend import SqliteBackend

    backend = SqliteBackend(index_path)
    try:
        return list(backend.iter_listings()), list(backend.iter_snapshots())
    finally:
        backend.close()


@pytest.fixture(scope="module")
def crawls(testbed: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same site at the same clock: once into SQLite, once with the index down."""
    sqlite_home, down_home = tmp_path_factory.mktemp("index-up"), tmp_path_factory.mktemp("index-down")
    up = trawl(["crawl", SITE, "--json", "--clock", CLOCK], crawl_env(sqlite_home, testbed.env()), timeout=240)
    assert up.returncode == 0, up.stderr[-3000:]
    url = f"http://127.0.0.1:{dead_port()}"
    down_env = crawl_env(down_home, {**testbed.env(), "TRAWL_INDEX_URL": url})
    down = trawl(["crawl", SITE, "--json", "--clock", CLOCK], down_env, timeout=240)
    return {"sqlite_home": sqlite_home, "down_home": down_home, "down": down, "down_env": down_env, "url": url,
            "down_summary": json.loads(down.stdout.strip().splitlines()[-1]) if down.stdout.strip() else {}}


def test_nothing_lost_run_degraded_exit_5(crawls: dict[str, Any], testbed: Any) -> None:
    down, summary = crawls["down"], crawls["down_summary"]
    assert down.returncode == 5, f"exit {down.returncode}\n{down.stderr[-3000:]}"
    assert summary["status"] == "degraded" and summary["exit_code"] == 5
    truth_ids = {f"{SITE}:{t['native_id']}" for t in testbed.truth(SITE)}
    batches = spooled(crawls["down_home"])
    spooled_ids = [x.listing_id for x in batches.listings]
    assert len(spooled_ids) == len(truth_ids) == 27 and set(spooled_ids) == truth_ids
    assert {s.listing_id for s in batches.snapshots} == truth_ids
    assert summary["degraded"].startswith("index unavailable: ")
    assert f"{len(batches)} records spooled" in summary["degraded"]  # every record of the run, none dropped
    assert summary["drops"] == 0 and summary["errors"] == 0
    # the unchanged check could not read the index: counted, and the pages were parsed as changed
    raw = json.loads((Path(summary["run_dir"]) / "stats.json").read_text())["stats"]
    assert raw["trawl/index/degraded_reads"] >= 27  # one per listing page at least: none was read, none dropped
    assert raw["trawl/listings/changed"] == 27 and raw["trawl/stored/spooled"] == len(batches)
    runs = trawl(["runs", "--json"], crawls["down_env"])
    assert [r["status"] for r in json.loads(runs.stdout)] == ["degraded"]
    table = trawl(["runs"], crawls["down_env"]).stdout
    assert "degraded" in table.splitlines()[1]


def test_spooled_records_equal_an_uninterrupted_crawl(crawls: dict[str, Any]) -> None:
    listings, snapshots = stored(crawls["sqlite_home"] / "index.sqlite")
    batches = spooled(crawls["down_home"])
    assert len(listings) == 27
    by_id = {x.listing_id: comparable(x) for x in batches.listings}
    assert by_id == {x.listing_id: comparable(x) for x in listings}
    assert sorted(map(comparable, batches.snapshots), key=lambda s: s["listing_id"]) == \
        sorted(map(comparable, snapshots), key=lambda s: s["listing_id"])


def test_flush_reports_and_reproduces_the_index(crawls: dict[str, Any], tmp_path: Path) -> None:
    """The spool is backend-neutral: flushing it into a fresh SQLite index gives the uninterrupted crawl's index."""
    batches = spooled(crawls["down_home"])
    pending = sum(1 for p in (crawls["down_home"] / "spool").glob("*.jsonl") for _ in p.open())
    target = tmp_path / "flushed.sqlite"
    # a copy of the spool: the module's other tests read the original
    spool_copy = tmp_path / "spool"
    spool_copy.mkdir()
    for path in (crawls["down_home"] / "spool").glob("*.jsonl"):
        (spool_copy / path.name).write_bytes(path.read_bytes())
    flush = trawl(["index", "flush", "--spool-dir", str(spool_copy), "--index-url", f"sqlite:///{target}"],
                  crawls["down_env"])
    assert flush.returncode == 0, flush.stderr
    assert f"replayed {pending} batches ({len(batches)} records) from 1 files; 0 files left" in flush.stdout
    assert not list(spool_copy.glob("*.jsonl"))
    flushed_listings, flushed_snapshots = stored(target)
    listings, snapshots = stored(crawls["sqlite_home"] / "index.sqlite")
    assert sorted(map(comparable, flushed_listings), key=lambda x: x["listing_id"]) == \
        sorted(map(comparable, listings), key=lambda x: x["listing_id"])
    assert len(flushed_snapshots) == len(snapshots) == 27
    again = trawl(["index", "flush", "--spool-dir", str(spool_copy), "--index-url", f"sqlite:///{target}"],
                  crawls["down_env"])
    assert "replayed 0 batches (0 records) from 0 files" in again.stdout


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_not_elasticsearch_url_spools_everything(testbed: Any, tmp_path: Path) -> None:
    """`python -m http.server` as the index: one-line reason in the spool, every listing kept, exit 5."""
    (tmp_path / "www").mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(tmp_path / "www")))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        home = tmp_path / "home"
        run = trawl(["crawl", SITE, "--json", "--clock", CLOCK], crawl_env(home, {**testbed.env(), "TRAWL_INDEX_URL": url}),
                    timeout=240)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert run.returncode == 5, run.stderr[-3000:]
    assert json.loads(run.stdout.strip().splitlines()[-1])["status"] == "degraded"
    assert {x.listing_id for x in spooled(home).listings} == {f"{SITE}:{t['native_id']}" for t in testbed.truth(SITE)}
    reasons = {json.loads(line)["reason"] for p in (home / "spool").glob("*.jsonl") for line in p.open()}
    assert reasons == {f"{url} answered 200 text/html to GET /, not Elasticsearch (expected its JSON banner with "
                       "version.number; check TRAWL_INDEX_URL)"}


def test_degraded_is_settled_from_the_whole_run() -> None:
    """A finished run that spooled or skipped index reads is degraded (exit 5); failures and pauses keep their status."""
    from crawler.engine.runstatus import EXIT_DEGRADED, exit_code_for, settle_status

    ok = {"downloader/response_status_count/200": 3}
    spooled_run = {"status": "finished", "stats": {**ok, "trawl/stored/spooled": 12}}
    settle_status(spooled_run, segment=ok)  # a resumed run: this segment spooled nothing, an earlier one did
    assert spooled_run["status"] == "degraded" and exit_code_for("degraded") == EXIT_DEGRADED == 5
    assert spooled_run["degraded"] == "index unavailable: 12 records spooled (run `trawl index flush` once the index is back)"
    reads_only = {"status": "budget_reached", "stats": {**ok, "trawl/index/degraded_reads": 2}}
    settle_status(reads_only)
    assert reads_only["status"] == "degraded" and "2 index reads skipped" in reads_only["degraded"]
    paused = {"status": "paused", "stats": {**ok, "trawl/stored/spooled": 3}}
    settle_status(paused)
    assert paused["status"] == "paused"
    failed = {"status": "finished", "errors_by_kind": {"timeout": 2},
              "stats": {"trawl/errors/timeout": 2, "trawl/stored/spooled": 1}}
    settle_status(failed)
    assert failed["status"] == "failed" and "degraded" not in failed
    clean = {"status": "finished", "stats": ok}
    settle_status(clean)
    assert clean["status"] == "finished"
