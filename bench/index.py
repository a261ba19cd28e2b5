"""Benchmark of the index backends: bulk indexing rate, trend- and search-query latency vs size.

    .venv/bin/python bench/index.py                 # 10k and 100k snapshots (a few minutes at most)
    .venv/bin/python bench/index.py --full          # adds 1M snapshots
    .venv/bin/python bench/index.py --sizes 50000   # any sizes
    .venv/bin/python bench/index.py --backend es --es-url http://localhost:9200
    TRAWL_TEST_ES_URL=http://localhost:9200 .venv/bin/python bench/index.py   # both, side by side
    TRAWL_INDEX_BULK_THREADS=1 ... --backend es     # streaming_bulk instead of 2 parallel requests

--backend sqlite|es|both (default: both when TRAWL_TEST_ES_URL is set, else sqlite).
Elasticsearch runs under a throwaway prefix (trawl-bench-<pid>) that is deleted after; its
writes run inside bulk_mode() (refresh off, restored after: docs/elasticsearch.md) and its trends
are timed native (TDigest, the default) and, for one substance, --exact.

For each size: index the synthetic snapshots (plus their listings, the way the
crawler writes: a listing arrives with its first snapshot) through trawl's
batched `write()`, then time the monthly USD-per-gram trend of one substance
(the analysts' everyday question; target p95 < 200 ms at 1M) and of all
substances.  A baseline in the same process writes the same documents
naively: one autocommitted INSERT per document, default journal settings;
it runs on a sample (at most --baseline-sample docs) because it is slow, and
its rate is compared with trawl's.  Targets: >= 20,000 docs/s bulk,
p95 < 200 ms for the monthly price-per-gram trend at 1M snapshots.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sqlite3
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index.api import IndexBackend, SearchQuery, TrendQuery
from index.sqlite_backend import SqliteBackend, snapshot_row
from index.sqlite_schema import SNAPSHOT_FIELDS, migrate
from testbed.synthetic_index import iter_snapshot_batches

TREND_ONE = TrendQuery(metric="usd_per_unit", interval="month", group_by=["substance"], substance="mephedrone", unit="g")
TREND_ALL = TrendQuery(metric="usd_per_unit", interval="month", group_by=["substance"], unit="g")
SEARCH = SearchQuery(text="mephedrone", limit=20)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered) + 0.5) - 1))]  # nearest rank


def open_backend(kind: str, workdir: Path, n: int, es_url: str) -> IndexBackend:
    if kind == "sqlite":
        return SqliteBackend(workdir / f"trawl-{n}.sqlite")
    from enrich.vocabulary import default_vocabulary
    from index.es_backend import EsBackend

    backend = EsBackend.from_url(es_url, prefix=f"trawl-bench-{os.getpid()}-{n}", spool_dir=workdir / f"spool-{n}",
                                 vocabulary=default_vocabulary())
    backend.ensure_ready()  # a dead or wrong URL: one-line TrawlError here, not spooled writes
    return backend


def index_bytes(backend: IndexBackend) -> int:
    if isinstance(backend, SqliteBackend):
        assert backend.integrity_check() == "ok"
        return Path(backend.path).stat().st_size
    from index import es_admin

    return sum(i["bytes"] for i in es_admin.stats(backend)["indices"])  # type: ignore[arg-type]


def timed(fn: object, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        assert fn()  # type: ignore[operator]
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def bench_trawl(backend: IndexBackend, n: int, batch: int) -> dict[str, float]:
    spent = 0.0
    docs = 0
    mode = backend.bulk_mode()  # Elasticsearch: refresh off while indexing, restored (and refreshed) after
    started = time.perf_counter()
    mode.__enter__()
    spent += time.perf_counter() - started
    try:
        for records in iter_snapshot_batches(n, batch=batch):
            started = time.perf_counter()  # generation time is excluded: only the index's work counts
            backend.write(records)
            spent += time.perf_counter() - started
            docs += len(records)
    finally:
        started = time.perf_counter()
        mode.__exit__(None, None, None)
        spent += time.perf_counter() - started  # the restore and its refresh are part of indexing
    if backend.spool.pending() if hasattr(backend, "spool") else False:
        raise SystemExit(f"{backend.describe()}: writes were spooled (server unavailable?); no figures")  # type: ignore[attr-defined]
    counts = backend.counts()  # Elasticsearch: refreshes first, so the figures count searchable docs
    assert counts["snapshots"] == n, counts
    result = {"docs": docs, "seconds": spent, "docs_per_s": docs / spent, "listings": counts["listings"]}
    for name, query, repeat in (("one", TREND_ONE, 30), ("all", TREND_ALL, 7)):
        backend.trends(query)  # warm the page cache, as a running dashboard would be
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            rows = backend.trends(query)
            samples.append((time.perf_counter() - started) * 1000)
        assert rows
        result[f"{name}_p50_ms"] = percentile(samples, 0.50)
        result[f"{name}_p95_ms"] = percentile(samples, 0.95)
    if backend.name == "elasticsearch":  # the default is TDigest there; --exact streams every distinct value
        exact = dataclasses.replace(TREND_ONE, exact=True)
        backend.trends(exact)
        samples = timed(lambda: backend.trends(exact), 10)
        result["one_exact_p95_ms"] = percentile(samples, 0.95)
    backend.search(SEARCH)
    samples = timed(lambda: backend.search(SEARCH).total, 30)
    result["search_p50_ms"], result["search_p95_ms"] = percentile(samples, 0.50), percentile(samples, 0.95)
    result["bytes"] = index_bytes(backend)
    return result


def bench_naive(path: Path, n: int, batch: int) -> dict[str, float]:
    """One INSERT per document, autocommit, default journal: what a first implementation does."""
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn)
    spent = 0.0
    docs = 0
    for records in iter_snapshot_batches(n, batch=batch):
        listings, snapshots = records.listings, records.snapshots
        started = time.perf_counter()
        for x in listings:
            conn.execute("INSERT OR REPLACE INTO listings (listing_id, site, title, doc) VALUES (?,?,?,?)",
                         (x.listing_id, x.site, x.title, json.dumps(x.__dict__, default=str)))
        for s in snapshots:
            marks = ",".join("?" * len(SNAPSHOT_FIELDS.split(",")))
            conn.execute(f"INSERT OR REPLACE INTO snapshots ({SNAPSHOT_FIELDS}) VALUES ({marks})", snapshot_row(s))  # noqa: S608 - only our column names and ? placeholders are interpolated; values are bound
        spent += time.perf_counter() - started
        docs += len(listings) + len(snapshots)
    conn.close()
    return {"docs": docs, "seconds": spent, "docs_per_s": docs / spent}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated snapshot counts")
    parser.add_argument("--full", action="store_true", help="also run 1,000,000 snapshots")
    parser.add_argument("--batch", type=int, default=2000, help="snapshots per write() call")
    parser.add_argument("--baseline-sample", type=int, default=3000, help="docs written by the naive baseline")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the databases (default: a temp dir)")
    es_url = os.environ.get("TRAWL_TEST_ES_URL", "")
    parser.add_argument("--backend", choices=("sqlite", "es", "both"), default="both" if es_url else "sqlite",
                        help="which index to measure (default: both when TRAWL_TEST_ES_URL is set, else sqlite)")
    parser.add_argument("--es-url", default=es_url, help="Elasticsearch URL (default $TRAWL_TEST_ES_URL)")
    args = parser.parse_args(argv)
    backends = ["sqlite", "es"] if args.backend == "both" else [args.backend]
    if "es" in backends and not args.es_url:
        parser.error("--backend es needs --es-url or TRAWL_TEST_ES_URL")
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()] + ([1_000_000] if args.full else [])
    workdir = Path(args.dir or tempfile.mkdtemp(prefix="trawl-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)

    naive = bench_naive(workdir / "naive.sqlite", args.baseline_sample, batch=args.batch)
    print(f"baseline (row-by-row INSERT, autocommit): {naive['docs']:,} docs in {naive['seconds']:.2f} s = {naive['docs_per_s']:,.0f} docs/s")
    print()
    header = (f"{'backend':<8} {'snapshots':>10} {'docs':>10} {'docs/s':>9} {'x naive':>8} {'trend p50':>10} {'trend p95':>10}"
              f" {'all p50':>9} {'all p95':>9} {'search p50':>10} {'search p95':>10} {'MB':>7}")
    print(header)
    print("-" * len(header))
    by_backend: dict[str, list[tuple[int, dict[str, float]]]] = {kind: [] for kind in backends}
    for n in sizes:
        for kind in backends:  # side by side: the same size on each backend, one after the other
            backend = open_backend(kind, workdir, n, args.es_url)
            try:
                r = bench_trawl(backend, n, batch=args.batch)
            finally:
                if kind == "es":
                    from index import es_admin

                    es_admin.delete_all(backend)  # type: ignore[arg-type]
                backend.close()
            by_backend[kind].append((n, r))
            print(f"{kind:<8} {n:>10,} {r['docs']:>10,} {r['docs_per_s']:>9,.0f} {r['docs_per_s'] / naive['docs_per_s']:>7.0f}x "
                  f"{r['one_p50_ms']:>8.1f}ms {r['one_p95_ms']:>8.1f}ms {r['all_p50_ms']:>7.0f}ms {r['all_p95_ms']:>7.0f}ms "
                  f"{r['search_p50_ms']:>8.1f}ms {r['search_p95_ms']:>8.1f}ms {r['bytes'] / 1e6:>7.1f}", flush=True)
    if len(backends) == 2:
        print()
        for (n, sq), (_, es) in zip(by_backend["sqlite"], by_backend["es"], strict=True):
            print(f"  {n:,}: es/sqlite docs/s {es['docs_per_s'] / sq['docs_per_s']:.2f}x (issue 16 target >= 0.5x), "
                  f"trend p95 {es['one_p95_ms']:.0f} vs {sq['one_p95_ms']:.0f} ms (es --exact {es['one_exact_p95_ms']:.0f} ms), "
                  f"all-substances p95 {es['all_p95_ms']:.0f} vs {sq['all_p95_ms']:.0f} ms, search p95 "
                  f"{es['search_p95_ms']:.0f} vs {sq['search_p95_ms']:.0f} ms")
    if "es" in by_backend:
        es_n, es_last = by_backend["es"][-1]
        rate = min(r["docs_per_s"] for _, r in by_backend["es"])
        print()
        print(f"elasticsearch (issue 16 targets): >= 10,000 docs/s {'met' if rate >= 10_000 else 'NOT met'} (min {rate:,.0f}); "
              f"at {es_n:,} snapshots: one-substance trend p95 {es_last['one_p95_ms']:.0f} ms (< 200), all substances "
              f"{es_last['all_p95_ms']:.0f} ms (< 1000), search {es_last['search_p95_ms']:.0f} ms (< 100)"
              + ("" if es_n >= 1_000_000 else "; the targets are for 1M: --full"))
    results = by_backend[backends[0]]
    print()
    print("growth between sizes (cost ratio / size ratio; ~1.0 means linear):")
    for (n0, r0), (n1, r1) in pairwise(results):
        size = n1 / n0
        print(f"  {n0:,} -> {n1:,} (x{size:.0f}): indexing time x{r1['seconds'] / r0['seconds']:.1f} "
              f"({r1['seconds'] / r0['seconds'] / size:.2f}), trend p95 x{r1['one_p95_ms'] / r0['one_p95_ms']:.1f} "
              f"({r1['one_p95_ms'] / r0['one_p95_ms'] / size:.2f}), all-substances p95 x{r1['all_p95_ms'] / r0['all_p95_ms']:.1f}")
    largest_n, largest = results[-1]
    ok_rate = all(r["docs_per_s"] >= 20_000 for _, r in results)
    print()
    print(f"target >= 20,000 docs/s bulk: {'met' if ok_rate else 'NOT met'} (min {min(r['docs_per_s'] for _, r in results):,.0f})")
    verdict = "met" if largest["one_p95_ms"] < 200 else "NOT met"
    print(f"target p95 < 200 ms monthly USD/g trend: {verdict} at {largest_n:,} snapshots ({largest['one_p95_ms']:.1f} ms)"
          + ("" if largest_n >= 1_000_000 else "; run with --full for the 1M figure"))
    return 0


if __name__ == "__main__":
    from core.errors import TrawlError

    try:
        raise SystemExit(main())
    except TrawlError as exc:
        raise SystemExit(f"bench/index.py: {exc}") from None
