"""The app factory and the server: `create_app(settings)` and `serve(...)` (uvicorn).

    from dashboards.api import ApiSettings, create_app
    app = create_app(ApiSettings.from_config())          # the configured index
    app = create_app(settings, index=open_index(url))    # tests: an index of their own

Binds 127.0.0.1 unless told otherwise; see dashboards/api/security.py for the defences.
"""
from __future__ import annotations

import signal
import socket
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from core.errors import TrawlError
from dashboards import pages
from dashboards.api import (
    page,
    routes_admin,
    routes_evidence,
    routes_export,
    routes_ops,
    routes_search,
    routes_vendors,
)
from dashboards.api.responses import EXCEPTION_HANDLERS, SafeJSONResponse
from dashboards.api.routes_ops import CrawlLauncher
from dashboards.api.security import GuardMiddleware, token_map
from dashboards.api.settings import ApiSettings
from index.api import IndexBackend

API_VERSION = "1"


def create_app(settings: ApiSettings, index: IndexBackend | None = None) -> FastAPI:
    """The API over `index` (default: open settings.index_url, closed when the app stops)."""
    owned = index is None
    if index is None:
        from enrich.vocabulary import default_vocabulary
        from index import open_index

        # substance filters resolve synonyms ("mcat" -> mephedrone) as the CLI's do
        index = open_index(settings.index_url, vocabulary=default_vocabulary())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            app.state.index.close()

    # no /docs or /redoc: they load scripts from a CDN, which the CSP forbids and an
    # air-gapped analyst network cannot reach; the schema itself is at /openapi.json
    app = FastAPI(title="trawl", version=API_VERSION, docs_url=None, redoc_url=None, lifespan=lifespan,
                  default_response_class=SafeJSONResponse, exception_handlers=EXCEPTION_HANDLERS,
                  description="Search, history, trends, vendors and operations over the trawl index. "
                              "Every route but /openapi.json needs `Authorization: Bearer TOKEN`.")
    app.state.settings = settings
    app.state.index = index
    app.state.tokens = token_map(settings.admin_token, settings.read_token)
    app.state.crawls = CrawlLauncher(settings.python)
    for module_router in (routes_search.router, routes_vendors.router, routes_ops.reader, routes_ops.admin,
                          routes_admin.router, routes_evidence.router, routes_export.router, page.router, pages.router):
        app.include_router(module_router)
    app.add_middleware(GuardMiddleware, allowed_hosts=settings.allowed_hosts)
    return app


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family, backlog=128)
    except OSError as exc:
        raise TrawlError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    # asyncio disables Nagle only on sockets made with proto IPPROTO_TCP, and create_server's have
    # proto 0: the body of each response then waited ~40 ms for the client's delayed ACK of its
    # headers.  Accepted connections inherit the option from the listening socket.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def server_config(app: FastAPI) -> uvicorn.Config:
    # access_log off: it would print query strings, where a misplaced token could sit;
    # no Server banner; X-Forwarded-* ignored (the Host check sees the real connection)
    return uvicorn.Config(app, access_log=False, log_level="warning", server_header=False, lifespan="on",
                          proxy_headers=False)


def serve(host: str = "127.0.0.1", port: int = 8800, hosts: Iterable[str] = ()) -> None:
    """Run until SIGINT/SIGTERM; prints the address actually bound (port 0 picks a free one)."""
    settings = ApiSettings.from_config(hosts=[*hosts, host])
    app = create_app(settings)
    sock = listening_socket(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    config = server_config(app)
    print(f"dashboard on http://{shown}:{bound}/ui/ (Ctrl-C stops it)", flush=True)
    # uvicorn stops gracefully on SIGTERM, then raises it again to the handler it found; the
    # default one ends the process by the signal, as a service manager expects of a server
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    uvicorn.Server(config).run(sockets=[sock])
