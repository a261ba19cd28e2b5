"""A loopback TCP proxy that holds every request for 0.3-3 s before passing it on, as a Tor
circuit does: the latency-bound run of bench/crawl.py puts it in front of a clear-web
testbed site, so trawl and the bare spider wait the same way at the same concurrency.

Each chunk the client sends (one HTTP/1.1 request: neither client pipelines) is delayed
by a seeded random time; answers flow back at once."""
from __future__ import annotations

import asyncio
import random
import threading
from types import TracebackType
from urllib.parse import urlsplit


class LatencyProxy:
    def __init__(self, upstream: str, delay: tuple[float, float], seed: int = 0) -> None:
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname or "127.0.0.1", parts.port or 80
        self.delay = delay
        self.random = random.Random(seed)
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="latency-proxy", daemon=True)
        self._server: asyncio.AbstractServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> LatencyProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("latency proxy did not start")
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.upstream_host, self.upstream_port)
        except OSError:
            writer.close()
            return

        async def requests() -> None:  # client -> upstream, each request held first
            while chunk := await reader.read(65536):
                await asyncio.sleep(self.random.uniform(*self.delay))
                up_writer.write(chunk)
                await up_writer.drain()
            up_writer.close()

        async def answers() -> None:  # upstream -> client, at once
            while chunk := await up_reader.read(65536):
                writer.write(chunk)
                await writer.drain()
            writer.close()

        try:
            await asyncio.gather(requests(), answers())
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
            up_writer.close()
