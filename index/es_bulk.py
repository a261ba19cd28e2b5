"""Bulk indexing into Elasticsearch at speed, without losing a document.

- Requests are cut by count (BulkOptions.chunk_docs) and by bytes (chunk_bytes: a chunk of
  long descriptions never becomes one huge request), never one round trip per document.
- `threads` > 1 sends with `helpers.parallel_bulk` (the client serialises the next chunk while
  the server indexes this one); 1 uses `helpers.streaming_bulk`.  Either way failures come back
  per item (raise_on_error=False) and are returned to the caller, who spools them: nothing is
  swallowed.  Items refused with 429 (queue full) are re-sent through streaming_bulk with
  backoff first; parallel_bulk has no retry of its own.
- `wait_for_active_shards` (index.wait_for_active_shards, default 1) is passed to every bulk.
- Refresh suspension (`suspend` / `release`): during a crawl's, a demo's or a replay's bulk the
  trawl indices get `refresh_interval: -1`, and the original values come back afterwards
  (try/finally in EsBackend.bulk_mode).  The originals and the owners (host:pid) are kept in the
  generation marker document (index/es_generation.py), so a process that died with refresh off
  is noticed when the next one opens the index (`restore_abandoned`), which puts them back.
  Several writers may overlap: the first suspends, the last one out restores.
"""
from __future__ import annotations

import logging
import os
import re
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.clock import utc_now_iso
from core.errors import TrawlError
from core.process import pid_alive

if TYPE_CHECKING:
    from index.es_backend import EsBackend

log = logging.getLogger(__name__)
SUSPENDED = "-1"
BULK_LEASE_SECONDS = 12 * 3600  # a suspension owned by another machine counts as abandoned after this
_MARKER_RETRIES = 5


@dataclass(frozen=True)
class BulkOptions:
    chunk_docs: int = 1000  # a crawler batch (2,000 snapshots) makes two requests: both bulk threads busy
    chunk_bytes: int = 8 * 1024 * 1024  # well under http.max_content_length (100 MB) and kind to a 512 MiB heap
    threads: int = 2
    wait_for_active_shards: str = "1"
    max_retries: int = 5  # 429s, with exponential backoff from 0.5 s

    @classmethod
    def from_config(cls) -> BulkOptions:
        from core.config import load_config

        config = load_config()
        return cls(threads=max(1, int(config.index_bulk_threads)),
                   wait_for_active_shards=str(config.index_wait_for_active_shards or "1"))


def helper_kwargs(options: BulkOptions) -> dict[str, Any]:
    """Arguments shared by streaming_bulk and parallel_bulk (the rest are passed to client.bulk)."""
    return {"chunk_size": options.chunk_docs, "max_chunk_bytes": options.chunk_bytes, "raise_on_error": False,
            "raise_on_exception": True, "wait_for_active_shards": options.wait_for_active_shards}


def _item(result: dict[str, Any]) -> dict[str, Any]:
    return dict(next(iter(result.values())))


def run_bulk(client: Any, actions: Iterable[dict[str, Any]], options: BulkOptions,
             rebuild: Callable[[str, str], dict[str, Any] | None]) -> list[dict[str, Any]]:
    """Send every action; returns the items that failed for good (`_index`, `_id`, `status`, `error`).

    rebuild(index, id) gives an action again for a 429 retry.  Transport failures raise."""
    from elasticsearch.helpers import parallel_bulk, streaming_bulk

    kwargs = helper_kwargs(options)
    retry_kwargs = {**kwargs, "max_retries": options.max_retries, "initial_backoff": 0.5, "max_backoff": 30,
                    "yield_ok": False}
    if options.threads <= 1:
        return [_item(r) for ok, r in streaming_bulk(client, actions, **retry_kwargs) if not ok]
    failed: list[dict[str, Any]] = []
    busy: list[dict[str, Any]] = []
    for ok, result in parallel_bulk(client, actions, thread_count=options.threads, queue_size=options.threads, **kwargs):
        if not ok:
            item = _item(result)
            (busy if item.get("status") == 429 else failed).append(item)
    if busy:
        log.info("%d documents refused with 429 (bulk queue full): re-sending with backoff", len(busy))

        def again() -> Iterator[dict[str, Any]]:
            for item in busy:
                action = rebuild(str(item.get("_index", "")), str(item.get("_id", "")))
                if action is None:
                    failed.append(item)
                else:
                    yield action

        failed += [_item(r) for ok, r in streaming_bulk(client, again(), **retry_kwargs) if not ok]
    return failed


# -- refresh suspension -------------------------------------------------------
def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def suspend_body(interval: str = SUSPENDED) -> dict[str, Any]:
    return {"index": {"refresh_interval": interval}}


def restore_bodies(originals: list[dict[str, Any]]) -> list[tuple[list[str], dict[str, Any]]]:
    """(indices, settings body) per original value; None (unset) resets to the server default."""
    by_value: dict[str | None, list[str]] = {}
    for entry in originals:
        value = entry.get("value")
        by_value.setdefault(None if value in (None, SUSPENDED) else str(value), []).append(str(entry["index"]))
    return [(sorted(indices), {"index": {"refresh_interval": value}})
            for value, indices in sorted(by_value.items(), key=lambda kv: str(kv[0]))]


def current_refresh(settings_response: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """[{index, value}] from GET <prefix>-*/_settings/index.refresh_interval (value None when unset);
    the marker index is left alone (it is refreshed on every marker write)."""
    # only this prefix's own indices: "trawl-*" also matches another deployment's "trawl-bench-1-listings-v3"
    own = re.compile(rf"{re.escape(prefix)}-(?:listings|vendors|candidates|snapshots)-v\d+(?:-\d{{4}}\.\d{{2}})?")
    entries = []
    for index, body in sorted(settings_response.items()):
        if not own.fullmatch(index):
            continue
        value = ((body.get("settings") or {}).get("index") or {}).get("refresh_interval")
        entries.append({"index": index, "value": value})
    return entries


def is_abandoned(owner: dict[str, Any], host: str, alive: Callable[[int], bool], now: float) -> bool:
    """An owner on this machine whose process is gone, or one on another machine past the lease."""
    name, _, pid = str(owner.get("owner", "")).rpartition(":")
    if name == host and pid.isdigit():
        return not alive(int(pid))
    try:
        since = datetime.fromisoformat(str(owner.get("since", "")).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return True
    return now - since > BULK_LEASE_SECONDS


def _update_marker(backend: EsBackend, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> dict[str, Any] | None:
    """Read-modify-write of the marker's "bulk" entry with optimistic concurrency (if_seq_no):
    change(bulk) returns the new entry ({} removes it).  Returns the entry before the change."""
    from elasticsearch import ConflictError

    from index import es_generation

    client = backend.client
    index = es_generation.marker_index(backend.names.prefix)
    for _ in range(_MARKER_RETRIES):
        resp = client.options(ignore_status=404).get(index=index, id=es_generation.MARKER_ID).body
        found = isinstance(resp, dict) and resp.get("found")
        marker = dict(resp["_source"]) if found else {}
        before = marker.get("bulk") or {}
        after = change(dict(before))
        if after is None:
            return before
        if after:
            marker["bulk"] = after
        else:
            marker.pop("bulk", None)
        concurrency = {"if_seq_no": resp["_seq_no"], "if_primary_term": resp["_primary_term"]} if found else {"op_type": "create"}
        try:
            client.index(index=index, id=es_generation.MARKER_ID, document=marker, refresh=True, **concurrency)
            return before
        except ConflictError:
            time.sleep(0.05)  # another writer changed the marker: read it again
    raise TrawlError(f"Elasticsearch at {backend.settings.display_url}: the generation marker kept changing "
                     f"under us ({_MARKER_RETRIES} tries); refresh_interval left as it was")


def suspend(backend: EsBackend, interval: str = SUSPENDED) -> None:
    """Turn refresh off (or down to `interval`, e.g. "30s") on every trawl index and register this
    process as an owner; the first owner records the original values."""
    me = owner_id()
    prefix = backend.names.prefix

    def change(bulk: dict[str, Any]) -> dict[str, Any]:
        owners = [o for o in bulk.get("owners", []) if o.get("owner") != me]
        if owners:
            return {**bulk, "owners": [*owners, {"owner": me, "since": utc_now_iso()}]}
        response = backend.client.indices.get_settings(index=f"{prefix}-*", name="index.refresh_interval").body
        return {"owners": [{"owner": me, "since": utc_now_iso()}], "refresh_interval": current_refresh(response, prefix)}

    _update_marker(backend, change)
    names = [e["index"] for e in ((_read_bulk(backend) or {}).get("refresh_interval") or [])]
    if names:
        # ignore_unavailable: an index deleted meanwhile (an old month) must not fail the whole bulk
        backend.client.indices.put_settings(index=",".join(names), settings=suspend_body(interval), ignore_unavailable=True)


def _read_bulk(backend: EsBackend) -> dict[str, Any] | None:
    from index import es_generation

    marker = es_generation.read_marker(backend)
    return (marker or {}).get("bulk")


def release(backend: EsBackend, owner: str | None = None,
            drop: Callable[[dict[str, Any]], bool] | None = None) -> bool:
    """Remove one owner (default this process) and those `drop` selects; the last one out restores
    the original refresh intervals and refreshes.  Returns whether it restored."""
    me = owner or owner_id()
    last_out: list[list[dict[str, Any]]] = []

    def change(bulk: dict[str, Any]) -> dict[str, Any] | None:
        last_out.clear()
        if not bulk:
            return None
        owners = [o for o in bulk.get("owners", []) if o.get("owner") != me and not (drop and drop(o))]
        if owners:
            return None if owners == bulk.get("owners") else {**bulk, "owners": owners}
        last_out.append(bulk.get("refresh_interval") or [])
        return {}

    _update_marker(backend, change)
    if not last_out:
        return False
    for indices, body in restore_bodies(last_out[0]):
        backend.client.indices.put_settings(index=",".join(indices), settings=body, ignore_unavailable=True)
    backend.client.indices.refresh(index=f"{backend.names.prefix}-*", allow_no_indices=True)
    return True


def restore_abandoned(backend: EsBackend) -> str | None:
    """At open: owners that died with refresh off are dropped; the last one restores. Returns a note."""
    bulk = _read_bulk(backend)
    if not bulk:
        return None
    host, now = socket.gethostname(), time.time()
    dead = [o.get("owner") for o in bulk.get("owners", []) if is_abandoned(o, host, pid_alive, now)]
    if not dead:
        return None
    restored = release(backend, owner="\0none", drop=lambda o: is_abandoned(o, host, pid_alive, now))
    note = (f"bulk writers {', '.join(map(str, dead))} ended without restoring refresh_interval"
            + ("; restored the original values" if restored else "; others are still writing"))
    log.warning("%s (Elasticsearch at %s)", note, backend.settings.display_url)
    return note

