"""Kill at random, resume to completion: real `trawl crawl SITE` subprocesses SIGKILLed at
random moments (one right after the run dir appears, before the first page), each run
then `--resume`d until it finishes.  The index must equal an uninterrupted crawl's,
`trawl evidence verify` must say OK for every run, and the run's stats must count all
of its segments.  The default suite kills 3 times on one site; the slow variant kills
11 times across two sites."""
from __future__ import annotations

import dataclasses
import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.crawler.conftest import REPO, crawl_env, trawl

CLOCK = "2026-08-03T12:00:00Z"
_baselines: dict[str, tuple[dict, dict]] = {}


def _index_rows(home: Path, site: str) -> tuple[dict[str, dict], dict[str, dict]]:
    """Listings (without their evidence reference) and snapshots (without run id) of a site."""
    from index.sqlite_backend import SqliteBackend

    backend = SqliteBackend(home / "index.sqlite")
    try:
        listings = {x.listing_id: {k: v for k, v in dataclasses.asdict(x).items() if k != "evidence"}
                    for x in backend.iter_listings() if x.site == site}
        snapshots = {s.snapshot_id: {k: v for k, v in dataclasses.asdict(s).items() if k != "run_id"}
                     for s in backend.iter_snapshots() if s.site == site}
    finally:
        backend.close()
    return listings, snapshots


def _stored(home: Path, site: str) -> int:
    db = home / "index.sqlite"
    if not db.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM listings WHERE site = ?", (site,)).fetchone()[0]
    except sqlite3.Error:
        return 0


def _runs(home: Path, site: str) -> list[Path]:
    return sorted((home / "runs").glob(f"{site}-*")) if (home / "runs").is_dir() else []


def _env(testbed: Any, home: Path) -> dict[str, str]:
    # the production profile: manifest lines group-committed with fsync, so a kill leaves
    # records the manifest does not hold yet (the test profile writes each line at once)
    return crawl_env(home, testbed.env() | {"TRAWL_PROFILE": "default"})


def _baseline(testbed: Any, tmp_root: Path, site: str) -> tuple[dict, dict]:
    if site not in _baselines:
        home = tmp_root / f"baseline-{site}"
        run = trawl(["crawl", site, "--clock", CLOCK], _env(testbed, home), timeout=300)
        assert run.returncode == 0, run.stderr[-3000:]
        _baselines[site] = _index_rows(home, site)
    return _baselines[site]


def _segment(env: dict[str, str], home: Path, site: str, mode: str, rng: random.Random,
             max_new: int, max_delay: float) -> bool:
    """One crawl process, SIGKILLed per `mode`; True if it was killed, False if it ended."""
    fresh = not _runs(home, site)
    args = ["crawl", site, "--clock", CLOCK] if fresh else ["crawl", site, "--resume"]
    log = home / f"segment-{time.monotonic_ns()}.log"
    with log.open("wb") as sink:  # a file, not a pipe: a chatty crawl must never block on it
        proc = subprocess.Popen([sys.executable, "-m", "trawl.cli", *args], env=env, cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=sink)
    start, stored_before = time.monotonic(), _stored(home, site)
    delay = rng.uniform(0.2, max_delay)
    wanted = rng.randint(1, max_new)
    try:
        while proc.poll() is None:
            elapsed = time.monotonic() - start
            assert elapsed < 120, "a crawl segment neither progressed nor ended in 120 s"
            if mode == "before-first-page" and _runs(home, site) and fresh:
                break
            if mode == "time" and elapsed >= delay:
                break
            if mode == "progress" and _stored(home, site) - stored_before >= wanted:
                time.sleep(rng.uniform(0, 0.3))
                break
            time.sleep(0.02)
        if proc.poll() is not None:
            assert proc.returncode == 0, log.read_text(errors="replace")[-3000:]
            return False
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        return True
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def _check_interrupted(home: Path, site: str, run_dir: Path) -> None:
    """What `trawl runs` and `trawl evidence verify` say of a run killed before its first page."""
    import os

    from crawler.engine.run import list_runs
    from crawler.evidence.verify import verify_run

    saved = os.environ.get("TRAWL_HOME")
    os.environ["TRAWL_HOME"] = str(home)
    try:
        assert [r["status"] for r in list_runs(site)] == ["interrupted"]
    finally:
        if saved is None:
            os.environ.pop("TRAWL_HOME")
        else:
            os.environ["TRAWL_HOME"] = saved
    report = verify_run(run_dir)
    assert report.status == "INTERRUPTED" and not report.problems, report.problems


def _check_killed(run_dir: Path) -> None:
    """Right after a kill: nothing tampered, and every listing already stored cites a record
    the chain holds (the store stage syncs the manifest before it writes a batch)."""
    from crawler.evidence.verify import verify_run

    report = verify_run(run_dir)
    assert not report.problems, report.problems
    assert not [w for w in report.warnings if "not a chained record" in w], report.warnings


def _kill_and_resume(testbed: Any, home: Path, site: str, modes: list[str], seed: int,
                     max_delay: float = 6.0) -> dict[str, Any]:
    home.mkdir(parents=True, exist_ok=True)
    env = _env(testbed, home)
    rng = random.Random(seed)
    truth = len(testbed.truth(site))
    max_new = max(1, truth // (len(modes) + 2))  # killed segments never finish the site
    kills, finished, killed_stats = 0, False, None
    for mode in modes:
        if _segment(env, home, site, mode, rng, max_new, max_delay):
            kills += 1
            run_dirs = _runs(home, site)
            stats_file = run_dirs[0] / "stats.json" if run_dirs else None
            if stats_file is not None and stats_file.is_file():
                killed_stats = json.loads(stats_file.read_text())
            if mode == "before-first-page" and run_dirs:
                _check_interrupted(home, site, run_dirs[0])
            elif run_dirs:
                _check_killed(run_dirs[0])
        else:
            finished = True
            break
    stored_before = _stored(home, site)
    (run_dir,) = _runs(home, site)  # every kill was resumed, never restarted
    if not finished and json.loads((run_dir / "stats.json").read_text())["status"] == "finished" \
            and json.loads((run_dir / "manifest.head").read_text())["state"] == "closed":
        finished = True  # the last kill hit a crawl that had closed everything: it is done
    if not finished:
        final = trawl(["crawl", site, "--resume", "--json"], env, timeout=300)
        assert final.returncode == 0, final.stderr[-3000:]
    stats = json.loads((run_dir / "stats.json").read_text())
    assert stats["status"] == "finished"
    if killed_stats is not None and not finished:
        # the final segment's figures are added to what the killed segments counted
        assert stats["resumed"] == killed_stats.get("resumed", -1) + 1
        assert stats["listings"] >= killed_stats.get("listings", 0) + (_stored(home, site) - stored_before)
        assert stats["pages"] >= killed_stats.get("pages", 0)
    verify = trawl(["evidence", "verify", run_dir.name, "--json"], env)
    report = json.loads(verify.stdout)
    assert verify.returncode == 0 and report["status"] == "OK", json.dumps(report, indent=1)[-4000:]
    assert report["checks"]["index"].startswith("ok (")
    return {"kills": kills, "run": run_dir.name, "segments": stats["resumed"] + 1,
            "recovered": report["recovered"], "torn": report["torn"], "records": report["records"]}


def _check_index_equals_baseline(testbed: Any, tmp_path: Path, home: Path, site: str) -> None:
    listings, snapshots = _index_rows(home, site)
    base_listings, base_snapshots = _baseline(testbed, tmp_path.parent, site)
    assert len(listings) == len(testbed.truth(site))
    assert sorted(listings) == sorted(base_listings)
    differ = {(key, field): (row[field], base_listings[key][field])
              for key, row in listings.items() for field in row if row[field] != base_listings[key][field]}
    assert not differ, differ
    assert snapshots == base_snapshots


def test_three_kills_then_resume_verifies(testbed: Any, tmp_path: Path) -> None:
    _baseline(testbed, tmp_path.parent, "pillhub")
    home = tmp_path / "home"
    result = _kill_and_resume(testbed, home, "pillhub", ["before-first-page", "time", "progress"], seed=12,
                              max_delay=4.0)
    assert result["kills"] == 3, result
    _check_index_equals_baseline(testbed, tmp_path, home, "pillhub")
    print(f"\npillhub: {result}")


@pytest.mark.slow
def test_eleven_random_kills_across_two_sites(testbed: Any, tmp_path: Path) -> None:
    seed = int(time.time())
    rng = random.Random(seed)
    plans = {"nightshade": ["before-first-page"] + [rng.choice(["time", "progress"]) for _ in range(5)],
             "pillhub": [rng.choice(["time", "progress"]) for _ in range(5)]}
    for site in plans:
        _baseline(testbed, tmp_path.parent, site)
    home = tmp_path / "home"
    results = {site: _kill_and_resume(testbed, home, site, modes, seed + i, max_delay=5.0)
               for i, (site, modes) in enumerate(plans.items())}
    print(f"\nseed {seed}: {results}")
    assert sum(r["kills"] for r in results.values()) >= 10, (seed, results)
    for site in plans:
        _check_index_equals_baseline(testbed, tmp_path, home, site)
