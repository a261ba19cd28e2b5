"""Kill-and-resume: `trawl crawl nightshade` SIGKILLed mid-crawl, then `--resume`.

Every truth listing must end up stored exactly once (one listing row, one snapshot), no
page finished before the kill may be requested again, and pages downloaded but not yet
stored are replayed from the frontier instead of being downloaded again."""
from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.crawler.conftest import REPO, crawl_env, trawl

LISTING = re.compile(r"^/listing/\d+$")
KILL_AFTER = 20


def _stored_listings(home: Path) -> int:
    db = home / "index.sqlite"
    if not db.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM listings").fetchone()[0]
    except sqlite3.Error:
        return 0


def _frontier_status(home: Path) -> dict[str, str]:
    (run_dir,) = list((home / "runs").glob("nightshade-*"))
    with sqlite3.connect(run_dir / "frontier.sqlite") as conn:
        return dict(conn.execute("SELECT key, status FROM frontier").fetchall())


def _listing_fetches(log: list[tuple[str, str, str, int]]) -> Counter[str]:
    return Counter(path for site, method, path, status in log
                   if site == "nightshade" and method == "GET" and status == 200 and LISTING.match(path))


def test_sigkill_then_resume_stores_every_listing_once(testbed: Any, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = crawl_env(home, testbed.env())
    log_start = len(testbed.request_log)
    proc = subprocess.Popen([sys.executable, "-m", "trawl.cli", "crawl", "nightshade", "--clock", "2026-08-03T12:00:00Z"],
                            env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    try:
        while _stored_listings(home) < KILL_AFTER:
            assert proc.poll() is None, "crawl ended before it could be killed"
            assert time.monotonic() < deadline, "crawl stored too few listings in time"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    stored_at_kill = _stored_listings(home)
    status_at_kill = _frontier_status(home)
    first_log = testbed.request_log[log_start:]
    assert proc.returncode == -signal.SIGKILL
    assert stored_at_kill < len(testbed.truth("nightshade")), "killed too late to test anything"

    runs = json.loads(trawl(["runs", "--json"], env).stdout)
    assert runs[0]["status"] == "interrupted"

    resume_start = len(testbed.request_log)
    resumed = trawl(["crawl", "nightshade", "--resume", "--json"], env, timeout=180)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads(resumed.stdout.strip().splitlines()[-1])
    second_log = testbed.request_log[resume_start:]

    # every truth listing stored exactly once, with exactly one snapshot
    truth_ids = {f"nightshade:{t['native_id']}" for t in testbed.truth("nightshade")}
    with sqlite3.connect(home / "index.sqlite") as conn:
        ids = [row[0] for row in conn.execute("SELECT listing_id FROM listings")]
    assert sorted(ids) == sorted(truth_ids)
    from index.sqlite_backend import SqliteBackend

    backend = SqliteBackend(home / "index.sqlite")
    snapshots = Counter(s.listing_id for s in backend.iter_snapshots())
    backend.close()
    assert set(snapshots) == truth_ids and set(snapshots.values()) == {1}, snapshots.most_common(3)

    # nothing finished before the kill is requested again; bodies already downloaded are replayed
    before, after = _listing_fetches(first_log), _listing_fetches(second_log)
    done_before = {k for k, v in status_at_kill.items() if v == "done" and LISTING.match(k)}
    fetched_before = {k for k, v in status_at_kill.items() if v == "fetched"}
    assert not done_before & set(after), sorted(done_before & set(after))
    assert not fetched_before & set(after), sorted(fetched_before & set(after))
    twice = {path for path in after if before[path] + after[path] > 1}
    # only requests in flight at the moment of SIGKILL (response never received) can repeat
    assert len(twice) <= 4, sorted(twice)
    assert summary["replayed"] == len(fetched_before)
    assert summary["resumed"] == 1 and summary["status"] == "finished"
    print(f"\nkilled after {stored_at_kill} listings; done before kill: {len(done_before)}; replayed from frontier: "
          f"{len(fetched_before)}; listing pages fetched twice (in flight at SIGKILL): {len(twice)}")


def test_resume_without_interrupted_run_is_a_clear_error(testbed: Any, tmp_path: Path) -> None:
    run = trawl(["crawl", "pillhub", "--resume"], crawl_env(tmp_path / "home", testbed.env()))
    assert run.returncode == 2
    assert "no interrupted run to resume" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def _preserve(run_dir: Path, url: str, body: bytes) -> dict[str, Any]:
    """Write `url`'s exchange into the run's evidence as a crawl does; its frontier reference."""
    import io
    import os
    from urllib.parse import urlsplit

    from warcio.statusandheaders import StatusAndHeaders

    from crawler.evidence.writer import EvidenceWriter

    writer = EvidenceWriter(run_dir, run_dir.name)
    parts = urlsplit(url)
    request = writer.writer.create_warc_record(
        url, "request", payload=io.BytesIO(b""), length=0,
        http_headers=StatusAndHeaders(f"GET {parts.path} HTTP/1.1", [("Host", parts.netloc)],
                                      protocol="HTTP/1.1", is_http_request=True))
    response = writer.writer.create_warc_record(
        url, "response", payload=io.BytesIO(body), length=len(body),
        http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                                 ("Content-Length", str(len(body)))], protocol="HTTP/1.1"))
    written = writer.write_exchange(url, request, response, [])[1]
    writer.close()
    return {"run_id": run_dir.name, "warc_file": os.path.relpath(written.warc_file, run_dir.parent.parent),
            "warc_offset": written.offset}


@pytest.mark.parametrize("kept", ["body", "record", "unreadable record"])
def test_downloaded_but_unstored_page_is_replayed_not_refetched(testbed: Any, tmp_path: Path, kept: str) -> None:
    """The state a SIGKILL between download and index commit leaves. With evidence on the
    frontier keeps where the page's WARC record is, not a second copy of its body (kept as
    such with evidence off, or by an older trawl); a record that cannot be read back means
    the page is fetched again."""
    import urllib.request

    from crawler.engine.frontier import Frontier

    home = tmp_path / "home"
    item = testbed.truth("pillhub")[0]
    url = testbed.sites["pillhub"].base_url.rstrip("/") + item["url"]
    body = urllib.request.urlopen(url, timeout=10).read()
    run_dir = home / "runs" / "pillhub-20260803T120000Z-abcd"
    run_dir.mkdir(parents=True)
    ref = _preserve(run_dir, url, body) if kept != "body" else None
    if ref is not None and kept == "unreadable record":
        ref["warc_offset"] += 1  # inside the record: not the start of one
    frontier = Frontier(run_dir / "frontier.sqlite")
    frontier.add(item["url"], "listing", 1)
    frontier.store_body(item["url"], url, body, ref=ref)
    stored = frontier.stored_page(item["url"])
    assert stored is not None and stored.ref == ref
    assert (stored.body is None) == (ref is not None)  # a reference, no second copy
    frontier.close()
    start = len(testbed.request_log)
    # with the body: the whole resumed crawl (the replayed page's links lead on to the rest of
    # the site, as in a real resume); with a record, the page itself is what is tested
    budget = [] if kept == "body" else ["--budget", "1"]
    run = trawl(["crawl", "pillhub", "--resume", "--json", *budget], crawl_env(home, testbed.env()))
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    stats = json.loads((run_dir / "stats.json").read_text())["stats"]
    assert summary["listings"] == (len(testbed.truth("pillhub")) if kept == "body" else 1)
    fetched = [entry for entry in testbed.request_log[start:] if entry[2] == item["url"]]
    if kept == "unreadable record":
        assert summary["replayed"] == 0 and len(fetched) == 1
        assert stats.get("trawl/frontier/replay_unreadable") == 1
        assert "is fetched again: its preserved copy cannot be read" in run.stderr
    else:
        assert summary["replayed"] == 1 and not fetched
    frontier = Frontier(run_dir / "frontier.sqlite")
    assert frontier.status(item["url"]) == "done"
    assert kept != "body" or set(frontier.counts()) == {"done"}


def _catches_sigterm(pid: int) -> bool:
    """The process has a handler for SIGTERM (bit 15 of SigCgt in /proc/PID/status)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(caught & (1 << (signal.SIGTERM - 1)))


@pytest.mark.timeout(120)
def test_sigterm_during_start_up_exits_130_with_a_line(tmp_path: Path) -> None:
    """A crawl stopped while still importing Scrapy (a scheduler's time budget on a slow
    machine) says so and exits 130 instead of dying without a word."""
    env = crawl_env(tmp_path / "home")
    proc = subprocess.Popen([sys.executable, "-m", "trawl.cli", "crawl", "nightshade"], env=env, cwd=REPO,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _catches_sigterm(proc.pid):  # the earliest moment our handler can be there
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.005)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, out + err
    assert "terminated (SIGTERM)" in err, out + err
