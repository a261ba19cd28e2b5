"""A tiny aiohttp site on 127.0.0.1 (random port) in a background thread, for crawl tests
that need a page or a behaviour the testbed does not have (hostile pages, GET logins,
off-site redirects).  Every request is recorded as (method, path_qs, headers)."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class LoopbackSite:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.loop = asyncio.new_event_loop()
        self.url = ""
        self._ready = threading.Event()
        self._runner: Any = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs, dict(request.headers)))
        return await self.handler(request)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        self.loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        self._ready.set()
        self.loop.run_forever()

    def __enter__(self) -> LoopbackSite:
        threading.Thread(target=self._run, daemon=True).start()
        assert self._ready.wait(10), "loopback site did not start"
        return self

    def __exit__(self, *exc: Any) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)

    def paths(self) -> list[str]:
        return [path for _method, path, _headers in self.requests]


def html(body: str, status: int = 200, **kwargs: Any) -> web.Response:
    return web.Response(text=f"<html><body>{body}</body></html>", content_type="text/html", status=status, **kwargs)
