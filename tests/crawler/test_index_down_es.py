"""Issue 16 against a real Elasticsearch: the index goes dead in the middle of a crawl.

A TCP relay on loopback stands between the crawl and TRAWL_TEST_ES_URL and dies for good
one second after the first bulk request went through.  Every listing must be indexed or
spooled, the run degraded (exit 5); then `trawl index flush` reports what it replayed and
the index equals an uninterrupted SQLite crawl of the same site at the same clock.  A
second crawl with the server reachable replays nothing left over and finishes with exit 0.

Runs with `pytest -m es` when TRAWL_TEST_ES_URL is a plain http:// server (the relay does
not speak TLS)."""
from __future__ import annotations

import json
import os
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from core.records import Listing
from tests.crawler.conftest import crawl_env, trawl
from tests.crawler.test_index_down import CLOCK, SITE, comparable, spooled, stored

ES_URL = os.environ.get("TRAWL_TEST_ES_URL", "")
pytestmark = [
    pytest.mark.es,
    pytest.mark.skipif(not ES_URL.startswith("http://"),
                       reason="TRAWL_TEST_ES_URL not set to a plain http:// server: Elasticsearch tests need one"),
]


class DyingRelay:
    """Forwards loopback connections to the server; `kill()` closes everything, and later connects are refused."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 9200)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.saw_bulk = threading.Event()
        self.dead = threading.Event()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()
        threading.Thread(target=self._die_after_first_bulk, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.dead.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        try:
            while data := source.recv(65536):
                if from_client and b"/_bulk" in data:
                    self.saw_bulk.set()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _die_after_first_bulk(self) -> None:
        if self.saw_bulk.wait(300) and not self.dead.wait(1.0):
            self.kill()

    def kill(self) -> None:
        self.dead.set()
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


def indexed_listings(prefix: str) -> list[Listing]:
    from index.es_backend import EsBackend

    backend = EsBackend.from_url(ES_URL, prefix=prefix)
    try:
        return list(backend.iter_listings())
    finally:
        backend.close()


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"trawltest-down-{uuid.uuid4().hex[:8]}"
    yield name
    from index import es_admin
    from index.es_backend import EsBackend

    backend = EsBackend.from_url(ES_URL, prefix=name)
    try:
        backend.ensure_ready()
        es_admin.delete_all(backend)
    finally:
        backend.close()


@pytest.mark.timeout(900)
def test_server_dies_mid_crawl_nothing_lost_flush_restores(testbed: Any, prefix: str,
                                                           tmp_path_factory: pytest.TempPathFactory) -> None:
    reference_home, home = tmp_path_factory.mktemp("es-ref"), tmp_path_factory.mktemp("es-down")
    reference = trawl(["crawl", SITE, "--json", "--clock", CLOCK], crawl_env(reference_home, testbed.env()), timeout=240)
    assert reference.returncode == 0, reference.stderr[-3000:]

    relay = DyingRelay(ES_URL)
    env = crawl_env(home, {**testbed.env(), "TRAWL_INDEX_URL": relay.url, "TRAWL_INDEX_PREFIX": prefix})
    try:
        down = trawl(["crawl", SITE, "--json", "--clock", CLOCK], env, timeout=300)
    finally:
        relay.kill()
    summary = json.loads(down.stdout.strip().splitlines()[-1])
    assert relay.saw_bulk.is_set(), "no bulk request reached the server before the relay died"
    assert down.returncode == 5 and summary["status"] == "degraded", down.stderr[-3000:]
    truth_ids = {f"{SITE}:{t['native_id']}" for t in testbed.truth(SITE)}
    in_index = {x.listing_id for x in indexed_listings(prefix)}
    in_spool = {x.listing_id for x in spooled(home).listings}
    assert in_index | in_spool == truth_ids, f"lost: {sorted(truth_ids - in_index - in_spool)}"
    assert in_spool, "the relay died after the crawl's last write: nothing was spooled"

    batches = sum(1 for p in (home / "spool").glob("*.jsonl") for _ in p.open())
    flush_env = {**env, "TRAWL_INDEX_URL": ES_URL}
    flush = trawl(["index", "flush"], flush_env)
    assert flush.returncode == 0, flush.stderr
    assert re.search(rf"replayed {batches} batches \(\d+ records\) from \d+ files; 0 files left", flush.stdout), flush.stdout

    listings, _ = stored(reference_home / "index.sqlite")
    after = indexed_listings(prefix)
    assert sorted(map(comparable, after), key=lambda x: x["listing_id"]) == \
        sorted(map(comparable, listings), key=lambda x: x["listing_id"])

    again = trawl(["crawl", SITE, "--json", "--clock", CLOCK], flush_env, timeout=240)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout.strip().splitlines()[-1])["status"] == "finished"
