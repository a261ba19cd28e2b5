"""Shared dependencies: the index handle of the app, and the peer address audit records name.

One handle serves every request.  Endpoints are plain `def` functions, so FastAPI runs
them in its thread pool and the event loop never waits on the index.  That is safe
because the backends are thread-safe: SqliteBackend opens its connection with
check_same_thread=False and serialises every statement on its own lock (long exports
open a read-only connection of their own), and the Elasticsearch client is thread-safe.
"""
from __future__ import annotations

from fastapi import Request

from index.api import IndexBackend


def index_of(request: Request) -> IndexBackend:
    index: IndexBackend = request.app.state.index
    return index


def client_address(request: Request) -> str:
    """The peer's address, as the audit log records who sent a state change ("" if unknown)."""
    return request.client.host if request.client else ""
