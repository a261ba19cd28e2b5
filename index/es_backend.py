"""Elasticsearch backend: same API and results as the SQLite backend, for deployments past one machine.

Writes: records are merged with what the index already holds (mget + the
rules in index/merge.py), then sent with `helpers.streaming_bulk` (429s
retried with backoff).  If the server is unreachable (or the URL is not Elasticsearch) the
whole batch goes to the local spool; documents the server rejects go to
`spool/rejected/`.  Either way `write()` returns and nothing is lost.  For
WRITE_RETRY_SECONDS after a write spooled, later writes spool without asking the
server, so a hanging one (timeouts x retries) does not stall every batch.
Replay: `trawl index flush`, the start of a crawl (`replay_spool()`, reported in
its stats) and the next successful write (older batches first: merges need the
order) replay the spool; opening the backend never does (it contacts nothing).
Reads: a dead server or a non-Elasticsearch URL is a one-line TrawlError.
Replicas: `auto_expand_replicas: 0-1` unless index.replicas is set, so a
single-node cluster is green and a second node gets a replica by itself; index.shards
primaries per new index.  Bulk (index/es_bulk.py): chunks by count and bytes, parallel
requests, per-item failures spooled; `bulk_mode()` turns refresh off for a long bulk.
Searches and trends build their bodies in index/es_query.py and index/es_trends.py.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, TypeVar

from core.errors import TrawlError
from core.records import CandidateSubstance, Listing, Records, Snapshot, Vendor, from_dict
from core.timeutil import bound_from, bound_to
from core.vocabulary import Vocabulary
from index import merge
from index.api import IndexBackend, SearchHit, SearchQuery, SearchResult, TrendQuery, TrendRow
from index.es_bulk import BulkOptions
from index.es_client import EsSettings, make_client, pin_compatibility, server_major, settings_from
from index.es_mappings import MAPPING_VERSION, Names
from index.es_query import has_listing_filters, incomplete, pick_highlight, search_body, search_query, search_sort
from index.es_write import es_doc  # noqa: F401 - re-exported: the record -> _source rule
from index.query_checks import check_paging
from index.spool import ReplayReport, Spool, default_spool_dir

log = logging.getLogger(__name__)
T = TypeVar("T")
PAGE = 1000
WRITE_RETRY_SECONDS = 30.0  # after a write spooled, later ones spool without asking the server for this long


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


class EsBackend(IndexBackend):
    name = "elasticsearch"

    def __init__(self, settings: EsSettings, prefix: str = "trawl", spool_dir: Any = None,
                 mapping_version: int = MAPPING_VERSION, replicas: int | None = None,
                 vocabulary: Vocabulary | None = None, shards: int = 1, bulk: BulkOptions | None = None) -> None:
        self.settings = settings
        # query-time synonyms, and the search analyzer's synonym rules of indices this backend creates
        self.vocabulary = vocabulary or Vocabulary.empty()
        self.names = Names(prefix, mapping_version)
        self.replicas = replicas  # None: auto_expand_replicas 0-1
        self.shards = max(1, int(shards))
        self.bulk = bulk or BulkOptions()
        self.client = make_client(settings)
        self.spool = Spool(spool_dir or default_spool_dir())
        self.rejected = Spool(self.spool.directory / "rejected")
        self._ready = False
        self._dirty = False
        # the aliases point at indices of an older mapping version: reads work, writes are
        # spooled until `trawl index migrate` (a new snapshot month must not be created untemplated)
        self.outdated = False
        self.server_major: int | None = None
        # index/es_generation.py: set when a populated index came back empty or re-created
        self.generation_warning: str | None = None
        self.wrote = False  # documents were bulk-indexed: close() records the counts at last write
        self._failed: tuple[float, str] | None = None  # (monotonic time, why) of the last write that spooled

    @classmethod
    def from_url(cls, url: str, **options: Any) -> EsBackend:
        from core.config import load_config

        config = load_config()
        prefix = options.pop("prefix", None) or config.index_prefix or "trawl"
        spool_dir = options.pop("spool_dir", None)
        version = int(options.pop("mapping_version", MAPPING_VERSION))
        replicas = options.pop("replicas", None)
        if replicas is None:
            replicas = config.index_replicas  # set (trawl.toml, env, flag): a fixed number; unset: None
        vocabulary = options.pop("vocabulary", None)
        shards = int(options.pop("shards", None) or config.index_shards or 1)
        bulk = options.pop("bulk", None) or BulkOptions.from_config()
        # no replay here: opening contacts nothing, so `trawl index flush` and a crawl's start
        # can replay and report it themselves (replay_spool)
        return cls(settings_from(url, **options), prefix=prefix, spool_dir=spool_dir, mapping_version=version,
                   replicas=None if replicas is None else int(replicas), vocabulary=vocabulary, shards=shards, bulk=bulk)

    def describe(self) -> str:
        return f"{self.settings.display_url} (prefix {self.names.prefix})"

    # -- connection and errors ---------------------------------------------
    def _is_transport_failure(self, exc: BaseException) -> bool:
        from elastic_transport import ConnectionError as TransportConnectionError
        from elastic_transport import ConnectionTimeout
        from elasticsearch import ApiError

        if isinstance(exc, (TransportConnectionError, ConnectionTimeout)):
            return True
        return isinstance(exc, ApiError) and exc.meta.status in (429, 502, 503, 504)

    def _error(self, exc: BaseException, doing: str) -> TrawlError:
        from elasticsearch import ApiError, AuthenticationException, AuthorizationException

        where = f"Elasticsearch at {self.settings.display_url}"
        if self._is_transport_failure(exc):
            return TrawlError(f"{where} is unreachable while {doing} ({type(exc).__name__}: {_one_line(exc)})")
        if isinstance(exc, (AuthenticationException, AuthorizationException)):
            return TrawlError(f"{where} refused the credentials while {doing} (check TRAWL_INDEX_API_KEY / TRAWL_INDEX_USER)")
        if isinstance(exc, ApiError):
            return TrawlError(f"{where} rejected the request while {doing}: {exc.meta.status} {_one_line(exc)}")
        return TrawlError(f"{where} failed while {doing}: {_one_line(exc)}")

    def _call(self, doing: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        from elastic_transport import TransportError
        from elasticsearch import ApiError

        try:
            return fn(*args, **kwargs)
        except (ApiError, TransportError) as exc:
            raise self._error(exc, doing) from exc

    def ensure_ready(self) -> None:
        """Probe the server once, pin the compatibility header, create the layout if missing."""
        if self._ready:
            return
        from index import es_admin, es_generation

        self.server_major = self._call("checking the server version", server_major, self.client, self.settings.display_url)
        pin_compatibility(self.client, self.server_major)
        created = not self._call("checking aliases", self.client.indices.exists_alias, name=self.names.write_alias("listings"))
        if created:
            self._call("creating indices", es_admin.migrate, self)
        else:
            self.outdated = not self._call("checking the mapping version", self.client.indices.exists,
                                           index=self.names.index("listings"))
        self._ready = True  # before the generation check, whose counts() reads through ensure_ready
        self.generation_warning = self._call("checking the index generation", es_generation.check, self, created)
        if self.generation_warning:
            log.error("%s", self.generation_warning)  # loud: a populated index came back empty
        if not created:  # a writer that died with refresh off: put the original intervals back
            from index import es_bulk

            self._call("restoring refresh intervals", es_bulk.restore_abandoned, self)

    @contextmanager
    def bulk_mode(self, refresh_interval: str = "-1") -> Iterator[None]:
        """Refresh off (or slowed to e.g. "30s", so other processes still see a long crawl's
        progress) on the trawl indices for a long bulk (a crawl, the demo, a replay), restored
        after, also on error or Ctrl-C; a process killed meanwhile is noticed by the next open.
        An unreachable server is no error here: writes spool as always."""
        from index import es_bulk

        entered = False
        try:
            self.ensure_ready()
            self._check_current()
        except TrawlError as exc:  # down or outdated: nothing to suspend, and nothing more to ask it
            log.warning("bulk mode not entered (%s); writes spool as usual", exc)
        else:
            try:
                self._call("suspending refresh", es_bulk.suspend, self, refresh_interval)
                entered = True
            except TrawlError as exc:
                log.warning("bulk mode not entered (%s); writing with the normal refresh", exc)
                self._release_quietly()  # suspend may have registered this process before failing
        if not entered:
            yield
            return
        try:
            yield
        finally:
            self._release_quietly()

    def _release_quietly(self) -> None:
        from index import es_bulk

        try:
            self._call("restoring refresh intervals", es_bulk.release, self)
        except TrawlError as exc:  # the next open restores it (es_bulk.restore_abandoned)
            log.warning("%s", exc)

    def _complete(self, response: Any, doing: str) -> None:
        why = incomplete(response)
        if why:
            raise TrawlError(f"Elasticsearch at {self.settings.display_url} while {doing}: {why}")

    def _check_current(self) -> None:
        if self.outdated:
            raise TrawlError(f"Elasticsearch at {self.settings.display_url}: the {self.names.prefix} indices predate mapping "
                             f"version {self.names.version}; run `trawl index migrate`")

    def _refresh(self) -> None:
        if self._dirty:
            self._call("refreshing", self.client.indices.refresh, index=f"{self.names.prefix}-*", allow_no_indices=True)
            self._dirty = False

    def _read(self) -> None:
        self.ensure_ready()
        self._refresh()

    # -- writes -------------------------------------------------------------
    def write(self, records: Records) -> dict[str, int]:
        batch = merge.normalise(records)
        counts = batch.counts()
        if not batch:
            return counts
        replayed = 0
        if self._failed is not None and time.monotonic() - self._failed[0] < WRITE_RETRY_SECONDS:
            # failed moments ago: spool at once, so a hanging server (timeouts, retries) does not
            # stall every batch of a crawl; the order is kept, the next try replays first
            path = self.spool.append(batch, reason=self._failed[1])
            log.info("index still unavailable; batch of %d records spooled to %s", sum(counts.values()), path)
            return {**counts, "spooled": sum(counts.values())}
        try:
            self.ensure_ready()
            self._check_current()
            if self.spool.files():
                # older spooled batches first: order matters for merges
                report = self.spool.replay(_DirectWriter(self))
                replayed = report.records
                log.warning("index reachable again: replayed %d spooled batches (%d records) into %s",
                            report.batches, report.records, self.describe())
            rejected = self.write_direct(batch)
        except TrawlError as exc:
            # unreachable, overloaded, or refusing our credentials: keep the batch, the crawl goes on
            self._failed = (time.monotonic(), str(exc))
            path = self.spool.append(batch, reason=str(exc))
            log.warning("%s; batch of %d records spooled to %s", exc, sum(counts.values()), path)
            return {**counts, "spooled": sum(counts.values())}
        self._failed = None
        if rejected:
            n = len(rejected)
            path = self.rejected.append(rejected, reason="rejected by Elasticsearch")
            log.error("Elasticsearch rejected %d documents; kept in %s (replay with `trawl index flush`)", n, path)
            return {**counts, "rejected": n, "spooled": n, **({"replayed": replayed} if replayed else {})}
        return {**counts, "replayed": replayed} if replayed else counts

    def write_direct(self, batch: Records) -> Records:
        """Merge and bulk-index one normalised batch; returns the records the server rejected.

        Transport failures and an outdated layout raise TrawlError (the caller spools the batch)."""
        from index.es_write import write_direct

        return write_direct(self, batch)

    def _mget(self, kind: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        from index.es_write import mget

        return mget(self, kind, ids)

    def replay_spool(self) -> ReplayReport | None:
        """Replay what earlier runs spooled (a crawl's start); None when nothing waits or the server is
        still unavailable (logged: the batches stay spooled, and this run's writes spool behind them)."""
        if not self.spool.files():
            return None
        try:
            self.ensure_ready()
            self._check_current()
            with self.bulk_mode():
                report = self.spool.replay(_DirectWriter(self))
        except TrawlError as exc:
            log.warning("%d spooled batches not replayed yet: %s", self.spool.pending(), exc)
            return None
        log.warning("replayed %d spooled batches (%d records) into %s; %d files left",
                    report.batches, report.records, self.describe(), report.remaining_files)
        return report

    # -- reads --------------------------------------------------------------
    def get_listing(self, listing_id: str) -> Listing | None:
        self._read()
        docs = self._mget("listings", [listing_id])
        return from_dict(Listing, docs[listing_id]) if listing_id in docs else None

    def search(self, query: SearchQuery) -> SearchResult:
        check_paging(query)
        self._read()
        resp = self._call("searching", self.client.search, index=self.names.read_alias("listings"),
                          **search_body(query, self.vocabulary))
        self._complete(resp, "searching")
        hits = [SearchHit(listing=from_dict(Listing, h["_source"]), score=float(h.get("_score") or 0.0),
                          highlight=pick_highlight(h.get("highlight", {}))) for h in resp["hits"]["hits"]]
        return SearchResult(total=int(resp["hits"]["total"]["value"]), hits=hits)

    def scroll(self, index: str, query: dict[str, Any], sort: list[Any], source: Any = True) -> Iterator[dict[str, Any]]:
        """Every hit in sort order, paged with search_after (sort must end in a unique tie-breaker)."""
        from elasticsearch import NotFoundError

        after: list[Any] | None = None
        while True:
            extra = {"search_after": after} if after else {}
            try:
                resp = self.client.search(index=index, query=query, sort=sort, size=PAGE, source=source,
                                          track_total_hits=False, **extra)
            except NotFoundError:
                return  # e.g. no snapshot index created yet
            except Exception as exc:  # converted to one clear TrawlError
                raise self._error(exc, f"reading {index}") from exc
            self._complete(resp, f"reading {index}")
            hits = resp["hits"]["hits"]
            yield from hits
            if len(hits) < PAGE:
                return
            after = hits[-1]["sort"]

    def iter_listings(self, query: SearchQuery | None = None) -> Iterator[Listing]:
        """Every listing the query matches, in its sort order; limit/offset are ignored (exports)."""
        self._read()
        q = query or SearchQuery(sort="listing_id")
        sort = [{"listing_id": {"order": "asc"}}] if query is None else search_sort(q)
        for hit in self.scroll(self.names.read_alias("listings"), search_query(q, self.vocabulary), sort):
            yield from_dict(Listing, hit["_source"])

    def iter_snapshots(self, query: SearchQuery | None = None) -> Iterator[Snapshot]:
        self._read()
        filters: list[dict[str, Any]] = []
        wanted: set[str] | None = None
        if query is not None:
            if has_listing_filters(query, self.vocabulary):
                wanted = {h["_id"] for h in self.scroll(self.names.read_alias("listings"), search_query(query, self.vocabulary),
                                                        [{"listing_id": {"order": "asc"}}], source=False)}
                if not wanted:
                    return
                if len(wanted) <= 60_000:  # below the default terms-query limit (65,536)
                    filters.append({"terms": {"listing_id": sorted(wanted)}})
            low, high = bound_from(query.crawled_from), bound_to(query.crawled_to)
            if low or high:
                filters.append({"range": {"crawled_at": {k: v for k, v in (("gte", low), ("lte", high)) if v}}})
        sort = [{"crawled_at": {"order": "asc"}}, {"listing_id": {"order": "asc"}}]
        for hit in self.scroll(self.names.read_alias("snapshots"), {"bool": {"filter": filters}}, sort):
            if wanted is None or hit["_source"]["listing_id"] in wanted:
                yield from_dict(Snapshot, hit["_source"])

    def vendors(self, name: str | None = None) -> list[Vendor]:
        self._read()
        query: dict[str, Any] = {"match_all": {}}
        if name:
            key = name.strip().lower()
            query = {"bool": {"should": [{"term": {"name.lc": key}}, {"term": {"vendor_id": key}}], "minimum_should_match": 1}}
        hits = self.scroll(self.names.read_alias("vendors"), query, [{"vendor_id": {"order": "asc"}}])
        return [from_dict(Vendor, h["_source"]) for h in hits]

    def candidates(self, since: str | None = None) -> list[CandidateSubstance]:
        self._read()
        low = bound_from(since, "since")
        query = {"range": {"first_seen": {"gte": low}}} if low else {"match_all": {}}
        hits = self.scroll(self.names.read_alias("candidates"), query, [{"first_seen": {"order": "asc"}}, {"token": {"order": "asc"}}])
        return [from_dict(CandidateSubstance, h["_source"]) for h in hits]

    def counts(self) -> dict[str, int]:
        from elasticsearch import NotFoundError

        self._read()
        counts = {}
        for kind in Records.KINDS:
            try:
                counts[kind] = int(self.client.count(index=self.names.read_alias(kind))["count"])
            except NotFoundError:
                counts[kind] = 0
            except Exception as exc:
                raise self._error(exc, f"counting {kind}") from exc
        return counts

    def trends(self, query: TrendQuery) -> list[TrendRow]:
        from index.es_trends import es_trends

        self._read()
        return es_trends(self, query)

    def quantile_method(self, query: TrendQuery) -> str:
        from index.es_trends import quantile_method

        return quantile_method(query)

    def close(self, *, tidy: bool = True) -> None:
        if self.wrote:
            from index import es_generation

            try:
                self._call("recording the index generation", es_generation.record_write, self)
                self.wrote = False
            except TrawlError as exc:  # the server went away after the last write: the next write records it
                log.warning("%s", exc)
        try:
            self.client.close()
        except Exception as exc:  # noqa: BLE001 - closing a dead connection pool must not mask the real error
            log.debug("closing the Elasticsearch client failed: %s", exc)


class _DirectWriter:
    """Spool replay target: writes straight to ES and raises (instead of re-spooling) when it is down."""

    def __init__(self, backend: EsBackend) -> None:
        self.backend = backend

    def write(self, records: Records) -> dict[str, int]:
        rejected = self.backend.write_direct(records)
        if rejected:
            self.backend.rejected.append(rejected, reason="rejected by Elasticsearch during replay")
        return records.counts()


def millis_to_time(value: float) -> str:
    return datetime.fromtimestamp(value / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
