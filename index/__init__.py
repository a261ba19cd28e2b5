"""Storage, search, trends and export for trawl listings.

    from index import open_index
    with open_index(vocabulary=vocab) as backend:   # $TRAWL_INDEX_URL or $TRAWL_HOME/index.sqlite
        backend.write(Records(listings=[...], snapshots=[...]))
        backend.search(SearchQuery(text="mephedrone", destination="DE"))
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from core.config import load_config
from core.errors import TrawlError
from core.home import trawl_home
from core.vocabulary import Vocabulary
from index.api import IndexBackend

__all__ = ["IndexBackend", "default_sqlite_path", "open_index"]


def default_sqlite_path() -> Path:
    return trawl_home() / "index.sqlite"


def open_index(url: str | None = None, vocabulary: Vocabulary | None = None, **options: Any) -> IndexBackend:
    """Open the configured backend.

    vocabulary: substance names and synonyms for queries (the application passes
    enrich.vocabulary.default_vocabulary()); None: names match only as typed.

    url: None -> $TRAWL_INDEX_URL -> SQLite at $TRAWL_HOME/index.sqlite;
    "sqlite:///path" or a plain path -> SQLite; "http(s)://host:9200" -> Elasticsearch
    (options api_key, user, password, ca_cert, prefix, spool_dir; env TRAWL_INDEX_API_KEY,
    TRAWL_INDEX_USER, TRAWL_INDEX_PASSWORD / TRAWL_INDEX_PASSWORD_FILE, TRAWL_INDEX_CA_CERT,
    TRAWL_INDEX_PREFIX)."""
    target = url if url is not None else load_config().index_url.strip()
    if not target:
        from index.sqlite_backend import SqliteBackend

        return SqliteBackend(default_sqlite_path(), vocabulary)
    if target.startswith(("http://", "https://")):
        from index.es_backend import EsBackend

        return EsBackend.from_url(target, vocabulary=vocabulary, **options)
    if target.startswith("sqlite://"):
        # sqlite:///abs/path.sqlite (absolute) or sqlite://rel/path.sqlite; ":memory:" for tests
        path = target[len("sqlite://") :]
        if not path:
            raise TrawlError(f"index url {target!r} names no file (use sqlite:///path/to/index.sqlite)")
        from index.sqlite_backend import SqliteBackend

        return SqliteBackend(":memory:" if path in (":memory:", "/:memory:") else Path(path).expanduser(), vocabulary)
    if "://" in target:
        raise TrawlError(f"index url {target!r}: unsupported scheme (use sqlite:///path or http(s)://host:9200)")
    from index.sqlite_backend import SqliteBackend

    return SqliteBackend(Path(target).expanduser(), vocabulary)
