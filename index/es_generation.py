"""The index's generation: noticing an Elasticsearch index that lost its data.

A server that lost its data (a wiped volume, a node replaced, indices deleted) looks
exactly like a new one: the first command re-creates templates, indices and aliases, and
every search answers 0 rows.  So the index records its own generation, twice:

- on the server, a marker document `<prefix>-meta/_doc/generation`:
  {"generation": uuid, "created_at": time, "counts": {kind: n}, "updated_at": time};
- on this machine, the same record per server and prefix in
  `$TRAWL_HOME/index-generations.json` (what survives when the server lost everything).

The marker is written when the layout is created and refreshed (counts at last write)
when a backend that wrote something closes.  `check()` runs once per process when the
backend first talks to the server and says, loudly (log ERROR, and the returned text for
commands to print), when a populated index comes back empty or re-created.
"""
from __future__ import annotations

import json
import logging
import os
import uuid
from typing import TYPE_CHECKING, Any

from core.clock import utc_now_iso
from core.home import ensure_home, trawl_home

if TYPE_CHECKING:
    from index.es_backend import EsBackend

log = logging.getLogger(__name__)
MARKER_ID = "generation"
LOCAL_FILE = "index-generations.json"


def marker_index(prefix: str) -> str:
    return f"{prefix}-meta"


def _local_key(backend: EsBackend) -> str:
    return f"{backend.settings.display_url} {backend.names.prefix}"


def read_local(backend: EsBackend) -> dict[str, Any] | None:
    try:
        records = json.loads((trawl_home() / LOCAL_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    record = records.get(_local_key(backend)) if isinstance(records, dict) else None
    return record if isinstance(record, dict) else None


def write_local(backend: EsBackend, record: dict[str, Any], create_home: bool = True) -> None:
    """Remember the server's record here; a read-only command (create_home False) never creates $TRAWL_HOME."""
    if not create_home and not trawl_home().is_dir():
        return
    path = ensure_home() / LOCAL_FILE
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        records = {}
    records[_local_key(backend)] = record
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(records, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def read_marker(backend: EsBackend) -> dict[str, Any] | None:
    resp = backend.client.options(ignore_status=404).get(index=marker_index(backend.names.prefix), id=MARKER_ID)
    body = resp.body
    return body.get("_source") if isinstance(body, dict) and body.get("found") else None


def write_marker(backend: EsBackend, record: dict[str, Any], create_home: bool = True) -> None:
    backend.client.index(index=marker_index(backend.names.prefix), id=MARKER_ID, document=record, refresh=True)
    write_local(backend, record, create_home)


def new_generation(backend: EsBackend) -> dict[str, Any]:
    """A fresh layout's marker (called right after `es_admin.migrate` created it)."""
    now = utc_now_iso()
    record = {"generation": uuid.uuid4().hex, "created_at": now, "updated_at": now, "counts": {}}
    write_marker(backend, record)
    return record


def _populated(record: dict[str, Any] | None) -> int:
    counts = (record or {}).get("counts") or {}
    return sum(int(n) for n in counts.values() if isinstance(n, int))


def check(backend: EsBackend, created: bool) -> str | None:
    """After the layout was found (created False) or had to be created (True): a loud warning
    when what this machine (or the marker) knew as populated is gone; None when all is well."""
    local = read_local(backend)
    where = f"Elasticsearch at {backend.settings.display_url} (prefix {backend.names.prefix})"
    if created:
        new = new_generation(backend)
        if local and _populated(local):
            return (f"{where} held {_populated(local)} documents (generation {local.get('generation')}, created "
                    f"{local.get('created_at')}, last written {local.get('updated_at')}) but its indices were gone: the "
                    f"server lost its data or they were deleted; an empty index (generation {new['generation']}) was "
                    "created. Restore a snapshot, or re-crawl; searches and trends answer from the empty index until then")
        return None
    marker = read_marker(backend)
    if marker is None:  # a layout from before markers: adopt it
        marker = {"generation": uuid.uuid4().hex, "created_at": utc_now_iso(), "updated_at": utc_now_iso(),
                  "counts": backend.counts()}
        write_marker(backend, marker, create_home=False)
        return None
    if local and local.get("generation") != marker.get("generation") and _populated(local):
        return (f"{where} is generation {marker.get('generation')} (created {marker.get('created_at')}), not "
                f"generation {local.get('generation')} that this machine last wrote {_populated(local)} documents to: "
                "the index was re-created since; what it held then is not in it")
    if _populated(marker) and not sum(backend.counts().values()):
        return (f"{where} held {_populated(marker)} documents at its last write ({marker.get('updated_at')}) and is "
                "empty now: the server lost its data or the indices were emptied")
    if local is None or local.get("updated_at") != marker.get("updated_at"):
        write_local(backend, marker, create_home=False)  # another machine wrote since: remember the server's view
    return None


def record_write(backend: EsBackend) -> None:
    """The counts at last write, on the server and here (a backend that wrote closes).

    A partial update on the server: other fields of the marker (es_bulk's `bulk` entry, which
    concurrent writers change) are never written back from a stale read."""
    from elasticsearch import NotFoundError

    changes = {"updated_at": utc_now_iso(), "counts": backend.counts()}
    try:
        backend.client.update(index=marker_index(backend.names.prefix), id=MARKER_ID, doc=changes, refresh=True,
                              retry_on_conflict=3)
    except NotFoundError:  # no marker (deleted by hand): a fresh one
        write_marker(backend, {"generation": uuid.uuid4().hex, "created_at": utc_now_iso(), **changes})
        return
    write_local(backend, read_marker(backend) or changes)
