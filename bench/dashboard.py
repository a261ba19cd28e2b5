"""Latency of the search page's API call: p50/p95 of GET /api/search with facets, through the real app.

    .venv/bin/python bench/dashboard.py                          # demo crawl + 1M synthetic snapshots
    .venv/bin/python bench/dashboard.py --demo-home trawl-data   # reuse an existing `trawl demo` index
    .venv/bin/python bench/dashboard.py --no-demo --snapshots 100000 --repeat 5

What it does:
1. fills a SQLite index in a fresh $TRAWL_HOME: the demo data (by default the real demo,
   `trawl demo` without revisits: the testbed crawled by trawl; or a copy of the index of
   --demo-home), then --snapshots synthetic snapshots (testbed.synthetic_index, with the
   listings they belong to, written through the index's batched write());
2. starts `trawl serve --port 0` on 127.0.0.1 over that home (a real uvicorn in its own
   process, as an analyst runs it);
3. asks each typical search (TYPICAL_QUERIES, with the parameters search.js sends: limit 25,
   facet_size 10, every facet) --repeat times over one keep-alive connection after one
   warm-up round, timing request to last byte of the JSON;
4. prints p50/p95/max per query and overall.  Target: p95 < 150 ms at 1M snapshots.

Timings depend on the machine and what else runs on it; a shared machine gives noisy,
pessimistic figures.  A full run takes ~4 min on 2 cores (demo crawl ~100 s, 1M synthetic
snapshots ~2 min, 240 requests); `--dir D` keeps the index so `--dir D --measure-only`
times it again in ~20 s.  Not a test: tests/dashboards/test_bench_dashboard.py only runs a tiny
size to check the script works.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index import open_index
from testbed.synthetic_index import iter_snapshot_batches

READ_TOKEN = "bench-read-token-0123456789abcdef"  # noqa: S105 - a throwaway token of a throwaway server
ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"  # noqa: S105
TARGET_P95_MS = 150.0
PAGE = {"limit": "25", "facet_size": "10"}  # what dashboards/static/search.js adds to every search
# what analysts type and click: free text, a facet narrowed, ranges, a sort, the next page
TYPICAL_QUERIES: list[dict[str, str]] = [
    {},
    {"q": "mephedrone"},
    {"q": "mephedrone", "destination": "DE"},
    {"q": "3-MMC crystal"},
    {"substance": "cocaine", "sort": "usd_per_unit"},
    {"q": "xanax bars", "site": "pillhub"},
    {"class": "synthetic cathinone", "origin": "NL"},
    {"site": "nightshade", "ppu_max": "50"},
    {"control": "1971", "sort": "-last_seen"},
    {"q": "lsd", "last_seen_from": "2025-06-01"},
    {"q": "ketamine", "price_min": "50", "price_max": "500"},
    {"substance": "mdma", "offset": "25"},
]


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered) + 0.5) - 1))]  # nearest rank


def load_demo(home: Path, demo_home: Path | None) -> str:
    """The demo data into home/index.sqlite: a copy of --demo-home's index, or the real demo crawl."""
    if demo_home is not None:
        source = demo_home / "index.sqlite"
        if not source.is_file():
            raise SystemExit(f"--demo-home {demo_home}: no index.sqlite there (run `trawl demo` first)")
        with open_index(f"sqlite:///{source}") as index:  # a consistent copy even if WAL files sit beside it
            index.conn.execute("VACUUM INTO ?", (str(home / "index.sqlite"),))  # type: ignore[attr-defined]
        return f"copied {source}"
    from trawl.demo import run_demo

    started = time.monotonic()
    report = run_demo(home, echo=lambda line: None, revisit=False, progress=False)
    failed = [c["site"] for c in report["crawls"] if c.get("exit_code")]
    return f"demo crawl in {time.monotonic() - started:.0f} s" + (f" (failed: {', '.join(failed)})" if failed else "")


def load_synthetic(home: Path, snapshots: int) -> float:
    started = time.monotonic()
    with open_index(f"sqlite:///{home / 'index.sqlite'}") as index:
        for batch in iter_snapshot_batches(snapshots, batch=5000):
            index.write(batch)
    return time.monotonic() - started


class Server:
    """`trawl serve --port 0` over `home`, as a separate process."""

    def __init__(self, home: Path) -> None:
        env = {**os.environ, "TRAWL_HOME": str(home), "TRAWL_DASHBOARD_TOKEN": ADMIN_TOKEN,
               "TRAWL_DASHBOARD_READ_TOKEN": READ_TOKEN, "PYTHONUNBUFFERED": "1"}
        env.pop("TRAWL_INDEX_URL", None)
        repo = Path(__file__).resolve().parents[1]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen([sys.executable, "-m", "trawl.cli", "serve", "--port", "0"], cwd=repo,
                                        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        if "dashboard on http://127.0.0.1:" not in first:
            self.stop()
            raise SystemExit(f"trawl serve did not start: {first}")
        self.port = int(first.split("127.0.0.1:", 1)[1].split("/", 1)[0])
        stream = self.process.stdout
        threading.Thread(target=lambda: [None for _ in stream], daemon=True).start()  # drain its output

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def measure(port: int, repeat: int) -> dict[str, list[float]]:
    """Milliseconds per query (request sent to the whole JSON read), after one warm-up round."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {READ_TOKEN}", "Host": f"127.0.0.1:{port}"}
    samples: dict[str, list[float]] = {}
    for round_number in range(repeat + 1):
        for query in TYPICAL_QUERIES:
            path = "/api/search?" + urlencode({**query, **PAGE})
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 200:
                raise SystemExit(f"{path}: HTTP {response.status}: {body[:300]!r}")
            answer = json.loads(body)
            assert "facets" in answer and len(answer["facets"]) == 7, path
            if round_number:  # round 0 warms the page cache and the server's imports
                samples.setdefault(urlencode(query) or "(no filter)", []).append(elapsed)
    connection.close()
    return samples


def report(samples: dict[str, list[float]], counts: dict[str, int]) -> float:
    every = [s for values in samples.values() for s in values]
    print(f"index: {counts.get('listings', 0):,} listings, {counts.get('snapshots', 0):,} snapshots, "
          f"{counts.get('vendors', 0):,} vendors")
    width = max(len(k) for k in samples)
    print(f"{'query (+ limit=25&facet_size=10, 7 facets)':<{width}}  {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, values in samples.items():
        print(f"{name:<{width}}  {percentile(values, 0.5):>8.1f} {percentile(values, 0.95):>8.1f} {max(values):>8.1f}")
    p50, p95 = percentile(every, 0.5), percentile(every, 0.95)
    print(f"{'all ' + str(len(every)) + ' requests':<{width}}  {p50:>8.1f} {p95:>8.1f} {max(every):>8.1f}")
    print(f"target p95 < {TARGET_P95_MS:.0f} ms: {'met' if p95 < TARGET_P95_MS else 'NOT met'} ({p95:.1f} ms)")
    return p95


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--snapshots", type=int, default=1_000_000, help="synthetic snapshots to add (default 1M)")
    parser.add_argument("--repeat", type=int, default=20, help="timed rounds over the typical queries")
    demo = parser.add_mutually_exclusive_group()
    demo.add_argument("--demo-home", type=Path, default=None, help="copy the index of an existing `trawl demo` home")
    demo.add_argument("--no-demo", action="store_true", help="synthetic data only")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one, removed)")
    parser.add_argument("--measure-only", action="store_true",
                        help="time the index already in --dir (a previous run's) without loading anything")
    parser.add_argument("--json", dest="as_json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args(argv)
    if args.measure_only and args.dir is None:
        parser.error("--measure-only needs --dir (the folder of a previous run)")
    workdir = Path(args.dir or tempfile.mkdtemp(prefix="trawl-bench-dashboard-"))
    home = workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    try:
        if not args.no_demo and not args.measure_only:
            print(f"demo data: {load_demo(home, args.demo_home)}", flush=True)
        if not args.measure_only:
            seconds = load_synthetic(home, args.snapshots)
            print(f"synthetic: {args.snapshots:,} snapshots written in {seconds:.0f} s", flush=True)
        with open_index(f"sqlite:///{home / 'index.sqlite'}") as index:
            counts = index.counts()
        server = Server(home)
        try:
            samples = measure(server.port, args.repeat)
        finally:
            server.stop()
        p95 = report(samples, counts)
        if args.as_json:
            every = [s for values in samples.values() for s in values]
            print(json.dumps({"snapshots": counts.get("snapshots"), "listings": counts.get("listings"),
                              "requests": len(every), "p50_ms": round(percentile(every, 0.5), 1),
                              "p95_ms": round(p95, 1), "max_ms": round(max(every), 1)}))
    finally:
        if args.dir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
