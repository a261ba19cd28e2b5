"""`trawl index migrate` and friends for Elasticsearch: templates, versioned indices, alias swaps.

Migration from mapping version N-1 (or any older) to N, per kind:
  1. put the composable templates of version N;
  2. create P-<kind>-vN (P-snapshots-vN-YYYY.MM for each month the old version holds);
  3. `_reindex` old -> new (server side, waits for completion);
  4. one atomic `_aliases` call moves the read and write aliases to the new indices.
Old indices are kept (delete them by hand once satisfied); readers never see a gap.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from index.es_mappings import KINDS, template_body

if TYPE_CHECKING:
    from index.es_backend import EsBackend


def _alias_targets(client: Any, alias: str) -> list[str]:
    from elasticsearch import NotFoundError

    try:
        return sorted(client.indices.get_alias(name=alias).body)
    except NotFoundError:
        return []


def _version_of(index: str) -> int:
    match = re.search(r"-v(\d+)(?:-|$)", index)
    return int(match.group(1)) if match else 0


def migrate(backend: EsBackend) -> dict[str, Any]:
    client, names = backend.client, backend.names
    report: dict[str, Any] = {"version": names.version, "created": [], "reindexed": {}, "aliases": []}
    for kind in (*KINDS, "snapshots"):
        client.indices.put_index_template(name=names.template(kind), **template_body(names, kind, backend.vocabulary, shards=backend.shards,
                                                                                        replicas=backend.replicas))
    actions: list[dict[str, Any]] = []
    for kind in KINDS:
        new = names.index(kind)
        if not client.indices.exists(index=new):
            client.indices.create(index=new)  # settings and mappings come from the template
            report["created"].append(new)
        old = [i for i in _alias_targets(client, names.read_alias(kind)) if i != new]
        for index in old:
            if _version_of(index) < names.version:
                resp = client.reindex(source={"index": index}, dest={"index": new}, wait_for_completion=True, refresh=True)
                report["reindexed"][f"{index} -> {new}"] = resp.get("total", 0)
            actions.append({"remove": {"index": index, "alias": names.read_alias(kind)}})
        for index in _alias_targets(client, names.write_alias(kind)):
            if index != new:
                actions.append({"remove": {"index": index, "alias": names.write_alias(kind)}})
        actions.append({"add": {"index": new, "alias": names.read_alias(kind)}})
        actions.append({"add": {"index": new, "alias": names.write_alias(kind), "is_write_index": True}})
    for index in _alias_targets(client, names.read_alias("snapshots")):
        if _version_of(index) >= names.version:
            continue
        month = index.rsplit("-", 1)[-1]  # YYYY.MM
        new = f"{names.prefix}-snapshots-v{names.version}-{month}"
        resp = client.reindex(source={"index": index}, dest={"index": new}, wait_for_completion=True, refresh=True)
        report["reindexed"][f"{index} -> {new}"] = resp.get("total", 0)
        actions.append({"remove": {"index": index, "alias": names.read_alias("snapshots")}})
    client.indices.update_aliases(actions=actions)
    backend.outdated = False
    report["aliases"] = [a for a in actions if "add" in a]
    return report


def stats(backend: EsBackend) -> dict[str, Any]:
    backend.ensure_ready()
    client, names = backend.client, backend.names
    indices = client.cat.indices(index=f"{names.prefix}-*", format="json", bytes="b").body
    return {
        "backend": "elasticsearch",
        "url": backend.settings.display_url,
        "server_major": backend.server_major,
        "mapping_version": names.version,
        "counts": backend.counts(),
        "indices": sorted(({"index": i["index"], "docs": int(i.get("docs.count") or 0), "bytes": int(i.get("store.size") or 0)}
                           for i in indices), key=lambda i: i["index"]),
        "spooled_batches": backend.spool.pending(),
        "rejected_batches": backend.rejected.pending(),
    }


def delete_all(backend: EsBackend) -> None:
    """Remove every index and template of this prefix (tests and `trawl index migrate --reset`)."""
    client, names = backend.client, backend.names
    backend.wrote = False  # nothing left to record a generation for (close() would re-create the marker)
    # by concrete name: wildcard deletes are refused when action.destructive_requires_name is true (8.x default)
    existing = client.options(ignore_status=404).indices.get(index=f"{names.prefix}-*", expand_wildcards="all").body
    for index in sorted(k for k in existing if k.startswith(names.prefix + "-") and k != "error" and k != "status"):
        client.options(ignore_status=404).indices.delete(index=index)
    for template in client.options(ignore_status=404).indices.get_index_template(name=f"{names.prefix}-*").body.get("index_templates", []):
        client.indices.delete_index_template(name=template["name"])
