"""Processing throughput over stored evidence: 1 and 2 worker processes (crawler/engine/workers.py).

    .venv/bin/python bench/reprocess.py [--sites pillhub,chemtrade,vortex,nightshade] [--workers 1,2]
                                        [--repeat 3] [--days 3] [--home PATH] [--command 0,2] [--json]

Crawls the testbed sites once per testbed day (`--days`, default 3: listings appear, change
and vanish between days; rate limits and faults off, `--workers 0`) into a scratch
$TRAWL_HOME, or takes the runs already in `--home`; then, for each worker count, starts a
pool per site, warms it up (every worker started and answering), hands it one job per page
the runs preserved (read back from the WARCs by the workers, extracted, parsed, enriched
and stored into a fresh SQLite index), and times the jobs from hand-out to the last commit.
Reports pages/s, the scaling of 2 workers over 1 (target >= 1.7x on 2 idle cores) and the
peak RSS of the workers (VmHWM).  The listings stored as new differ between the counts: a
listing's pages from different days may go to different workers, and the later one is read
before the earlier one is committed (a crawl is one run, where this does not arise).

Then `trawl reprocess --site SITE --workers N` itself, for each `--command` count (default 0
and 2), on a copy of the home: pages/s over every site's reprocess, the start-up of its worker
processes included (each loads the substance lists, so small homes favour 0; `--days` grows
the archive).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# bench/ holds index.py, which would shadow the index package when run as a script
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
DEFAULT_SITES = ("pillhub", "chemtrade", "vortex", "nightshade")
CLOCK = "2026-08-03T12:00:00Z"
TARGET_SCALING = 1.7


def crawl_sites(sites: list[str], home: Path, days: int = 1) -> None:
    """Crawl each site once per testbed day (listings appear, change and vanish between days),
    as a monitor's runs pile up: what `trawl reprocess --site` goes through."""
    from datetime import datetime, timedelta

    from testbed.server import run_testbed

    first = datetime.fromisoformat(CLOCK.replace("Z", "+00:00"))
    for day in range(days):
        clock = (first + timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ")
        with run_testbed(rate_limit=False, faults=False, day=day) as tb:
            env = {k: v for k, v in os.environ.items() if not k.startswith("TRAWL_")}
            env |= tb.env() | {"TRAWL_HOME": str(home), "TRAWL_PROFILE": "bench"}
            for site in sites:
                subprocess.run([sys.executable, "-m", "trawl.cli", "crawl", site, "--workers", "0", "--json",
                                "--clock", clock], env=env, cwd=REPO, check=True, capture_output=True, timeout=600)


def jobs_by_site(home: Path) -> dict[str, list[Any]]:
    """One job per preserved page of every run under `home`, by site."""
    from crawler.engine.offline import classify
    from crawler.engine.workers_job import PageJob
    from crawler.evidence.reader import run_pages
    from crawler.sitedef.siteconfig import load_site

    out: dict[str, list[Any]] = {}
    for run_dir in sorted(p for p in (home / "runs").iterdir() if p.is_dir() and not p.name.startswith(".")):
        site_name = json.loads((run_dir / "stats.json").read_text())["site"]
        site = load_site(site_name)
        jobs = out.setdefault(site_name, [])
        for page, evidence in run_pages(run_dir, home):
            kind = classify(site, page.url)
            jobs.append(PageJob(key="", kind=kind if kind in ("listing", "vendor") else "page", evidence=evidence))
    return out


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def sample_peaks(pool: Any, peaks: list[float], stop: threading.Event) -> None:
    """VmHWM of each worker while it lives (it is gone once the pool has closed)."""
    while not stop.is_set():
        peaks.extend(peak_rss_mb(pid) for pid in pool.pids)
        time.sleep(0.05)


def measure(workers: int, jobs: dict[str, list[Any]], home: Path, scratch: Path) -> dict[str, Any]:
    from crawler.engine.workers import PoolHooks, WorkerPool
    from crawler.engine.workers_job import PageJob, WorkerSpec

    scratch.mkdir(parents=True, exist_ok=True)
    os.environ["TRAWL_INDEX_URL"] = f"sqlite://{scratch / f'index-w{workers}.sqlite'}"  # inherited by spawn
    counters: Counter[str] = Counter()
    hooks = PoolHooks(pages_done=lambda keys: None, counters=counters.update)
    pages, seconds, rss = 0, 0.0, 0.0
    for site, site_jobs in jobs.items():
        spec = WorkerSpec(site_name=site, site_source="", run_id="bench", clock=CLOCK, home=str(home),
                          batch_size=50, batch_seconds=0.2)
        pool = WorkerPool(spec, workers, hooks)
        pool.start()
        peaks: list[float] = []
        sampling = threading.Event()

        sampler = threading.Thread(target=sample_peaks, args=(pool, peaks, sampling), daemon=True)
        sampler.start()
        try:
            # warm-up: each worker reads and processes a real page first (lazy caches, matchers,
            # selectors built), as it has long done in a crawl (those pages then count as
            # unchanged in the timed pass: one or two per site)
            for number in range(workers):
                pool.submit(PageJob(key="", kind=site_jobs[number % len(site_jobs)].kind,
                                    evidence=site_jobs[number % len(site_jobs)].evidence))
            pool.drain()
            started = time.monotonic()
            for job in site_jobs:
                pool.submit(PageJob(key="", kind=job.kind, evidence=job.evidence))
            pool.close()  # hands everything out, then STOP: each worker writes its last batch at once
            seconds += time.monotonic() - started
            pages += len(site_jobs)
        finally:
            pool.close()
            sampling.set()
            sampler.join()
        rss = max([rss, *peaks])
    return {"workers": workers, "pages": pages, "seconds": round(seconds, 2),
            "pages_per_s": round(pages / seconds, 1) if seconds else 0.0, "peak_worker_rss_mb": round(rss),
            "stored_listings": counters.get("trawl/stored/listings", 0),
            "new": counters.get("trawl/listings/new", 0), "unreadable": counters.get("trawl/workers/evidence_unreadable", 0)}


def command_runs(home: Path, sites: list[str], counts: tuple[int, ...], scratch: Path) -> list[dict[str, Any]]:
    """`trawl reprocess --site SITE --workers N --json` for every site and count, each count on
    its own copy of `home` (a reprocess may rewrite vendors): what the command itself does with
    worker processes (crawler/engine/reprocess_pool.py), start-up of its workers included."""
    import shutil

    out = []
    for workers in counts:
        copy = scratch / f"command-w{workers}"
        shutil.copytree(home, copy)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRAWL_")} | {"TRAWL_HOME": str(copy)}
        pages, seconds = 0, 0.0
        for site in sites:
            done = subprocess.run([sys.executable, "-m", "trawl.cli", "reprocess", "--site", site, "--workers",
                                   str(workers), "--json"], env=env, cwd=REPO, check=True, capture_output=True,
                                  text=True, timeout=1800)
            summary = json.loads(done.stdout.strip().splitlines()[-1])
            pages, seconds = pages + summary["pages"], seconds + summary["duration_s"]
        out.append({"workers": workers, "pages": pages, "seconds": round(seconds, 2),
                    "pages_per_s": round(pages / seconds, 1) if seconds else 0.0})
    return out


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median pages/s (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda r: r["pages_per_s"])
    return ordered[(len(ordered) - 1) // 2] | {"pages_per_s_rounds": [r["pages_per_s"] for r in runs]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sites", default=",".join(DEFAULT_SITES))
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--home", type=Path, help="a TRAWL_HOME whose runs to process (default: crawl the testbed)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of every worker count (median reported)")
    parser.add_argument("--days", type=int, default=3, help="testbed days crawled per site (one run each; "
                        "a pool per site takes all its runs, as `trawl reprocess --site` does)")
    parser.add_argument("--command", default="0,2", help="worker counts of the `trawl reprocess` runs ('' = none)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    command: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        scratch = Path(tmpdir)
        home = args.home.resolve() if args.home else scratch / "home"
        if not args.home:
            crawl_sites([s for s in args.sites.split(",") if s], home, args.days)
        os.environ["TRAWL_HOME"] = str(home)
        jobs = jobs_by_site(home)
        counts = [int(n) for n in args.workers.split(",")]
        # rounds alternate the worker counts, so a busy spell on the machine hits both alike;
        # each count reports its median round
        rounds = [[measure(n, jobs, home, scratch / f"round{r}") for n in counts] for r in range(args.repeat)]
        if args.command:
            command = command_runs(home, sorted(jobs), tuple(int(n) for n in args.command.split(",")), scratch)
    results = [_median_run([rnd[i] for rnd in rounds]) for i in range(len(counts))]
    by_count = {r["workers"]: r for r in results}
    scaling = (by_count[2]["pages_per_s"] / by_count[1]["pages_per_s"]
               if 1 in by_count and 2 in by_count and by_count[1]["pages_per_s"] else None)
    per_round = [round(rnd[counts.index(2)]["pages_per_s"] / rnd[counts.index(1)]["pages_per_s"], 2)
                 for rnd in rounds if 1 in counts and 2 in counts and rnd[counts.index(1)]["pages_per_s"]]
    report = {"cpu_count": os.cpu_count(), "repeat": args.repeat, "runs": results,
              "scaling_2_over_1": round(scaling, 2) if scaling else None, "scaling_per_round": per_round,
              "target": TARGET_SCALING, "command": command}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for r in results:
        print(f"{r['workers']} worker(s): {r['pages']} pages in {r['seconds']:.2f}s -> {r['pages_per_s']} pages/s "
              f"(rounds: {', '.join(map(str, r['pages_per_s_rounds']))}), "
              f"peak worker RSS {r['peak_worker_rss_mb']} MB, {r['stored_listings']} listing writes, {r['new']} "
              f"stored as new")
    if scaling:
        print(f"scaling 2 over 1 worker: {scaling:.2f}x (medians of {args.repeat} rounds; per round "
              f"{', '.join(f'{x:.2f}' for x in per_round)}; target >= {TARGET_SCALING} on 2 idle cores; "
              f"cores here: {os.cpu_count()})")
    for r in command:
        print(f"trawl reprocess --workers {r['workers']}: {r['pages']} pages in {r['seconds']:.2f}s -> "
              f"{r['pages_per_s']} pages/s (one run per site, the workers' start-up included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
