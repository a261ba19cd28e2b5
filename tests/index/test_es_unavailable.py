"""Issue 16 without an Elasticsearch server: a URL that is not Elasticsearch, opening that
contacts nothing (replay belongs to flush and the crawl's start), replicas by default.

Real loopback servers: `http.server` answering HTML, and a bare TCP listener that counts
the connections it accepts."""
from __future__ import annotations

import functools
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import TrawlError
from core.records import Records
from index import open_index
from index.api import SearchQuery
from index.es_backend import EsBackend
from index.es_mappings import Names, template_body
from index.spool import Spool
from pipeline.stats import Tally
from pipeline.unchanged import DEGRADED_READS, IndexReads, check_unchanged
from tests.commands import TRAWL

from .records import LISTINGS, SNAPSHOTS


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def web_server(tmp_path: Path) -> Iterator[str]:
    """`python -m http.server` in a thread: answers GET / with an HTML directory listing."""
    (tmp_path / "www").mkdir()
    handler = functools.partial(QuietHandler, directory=str(tmp_path / "www"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def listener() -> Iterator[tuple[str, list[socket.socket]]]:
    """A TCP port that accepts connections (and never answers): counts who connects."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.2)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        sock.close()


@pytest.mark.timeout(60)
def test_not_elasticsearch_is_one_line_and_writes_spool(web_server: str, tmp_path: Path) -> None:
    backend = open_index(web_server, spool_dir=tmp_path / "spool")
    with pytest.raises(TrawlError) as err:
        backend.search(SearchQuery(text="mephedrone"))
    message = str(err.value)
    assert message.startswith(f"{web_server} answered 200 text/html to GET /, not Elasticsearch"), message
    assert "\n" not in message
    counts = backend.write(Records(listings=LISTINGS[:2], snapshots=SNAPSHOTS[:2]))
    assert counts["spooled"] == 4
    [path] = Spool(tmp_path / "spool").files()
    [line] = path.read_text().splitlines()
    assert "not Elasticsearch" in line and [x.listing_id for x in Records.from_json(__import__("json").loads(line)).listings] \
        == [x.listing_id for x in LISTINGS[:2]]
    # the pipeline's unchanged check degrades instead of raising: counted, page treated as changed
    from core.items import Fetch, RawListing

    stats = Tally()
    raw = RawListing(site="s", market_kind="darknet", url="http://x/1", fields={"native_id": "1", "title": "t"}, fetch=Fetch())
    seen = check_unchanged(raw, backend, IndexReads(backend, stats))
    assert (seen.novelty, seen.degraded, stats.get_value(DEGRADED_READS)) == ("changed", True, 1)
    backend.close()


@pytest.mark.timeout(120)
def test_cli_names_the_url_on_one_line(web_server: str, tmp_path: Path) -> None:
    import subprocess

    env = {"TRAWL_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([*TRAWL, "search", "mephedrone", "--index-url", web_server], env=env, capture_output=True,
                          text=True, timeout=90, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: {web_server} answered 200 text/html to GET /, not Elasticsearch (expected its JSON banner with "
        "version.number; check TRAWL_INDEX_URL)"]


@pytest.mark.timeout(60)
def test_opening_contacts_nothing_and_leaves_the_spool(listener: tuple[str, list[socket.socket]], tmp_path: Path) -> None:
    """Replay belongs to `trawl index flush` and the crawl's start, which report it; opening never replays."""
    url, accepted = listener
    spool = Spool(tmp_path / "spool")
    spool.append(Records(listings=LISTINGS[:1]), reason="test")
    backend = open_index(url, spool_dir=tmp_path / "spool")
    assert isinstance(backend, EsBackend)
    backend.close()
    assert accepted == [] and spool.pending() == 1


@pytest.mark.timeout(120)
def test_flush_reports_what_it_replayed(tmp_path: Path) -> None:
    import subprocess

    spool = Spool(tmp_path / "spool")
    spool.append(Records(listings=LISTINGS[:2], snapshots=SNAPSHOTS[:1]), reason="test")
    spool.append(Records(listings=LISTINGS[2:3]), reason="test")
    env = {"TRAWL_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([*TRAWL, "index", "flush", "--spool-dir", str(tmp_path / "spool"), "--index-url",
                           f"sqlite:///{tmp_path / 'target.sqlite'}"], env=env, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr
    assert "replayed 2 batches (4 records) from 1 files; 0 files left" in proc.stdout
    assert spool.pending() == 0


def test_replicas_auto_expand_unless_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAWL_HOME", str(tmp_path))
    monkeypatch.delenv("TRAWL_INDEX_REPLICAS", raising=False)
    default = open_index("http://127.0.0.1:9")
    assert isinstance(default, EsBackend) and default.replicas is None
    settings = template_body(Names("trawl", 1), "listings", default.vocabulary, replicas=default.replicas)["template"]["settings"]
    assert settings["auto_expand_replicas"] == "0-1" and "number_of_replicas" not in settings
    monkeypatch.setenv("TRAWL_INDEX_REPLICAS", "1")  # explicit, even when equal to the old default
    explicit = open_index("http://127.0.0.1:9")
    assert isinstance(explicit, EsBackend) and explicit.replicas == 1
    settings = template_body(Names("trawl", 1), "listings", explicit.vocabulary, replicas=explicit.replicas)["template"]["settings"]
    assert settings["number_of_replicas"] == 1 and "auto_expand_replicas" not in settings
    assert isinstance(open_index("http://127.0.0.1:9", replicas=0), EsBackend)


@pytest.mark.timeout(120)
def test_demo_refuses_an_index_url_that_is_not_elasticsearch(web_server: str, tmp_path: Path) -> None:
    """`trawl demo --index-url` checks the server before starting the testbed: one line, exit 2, nothing crawled."""
    import subprocess

    env = {"TRAWL_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([*TRAWL, "demo", "--index-url", web_server, "--home", str(tmp_path / "demo")], env=env,
                          capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: {web_server} answered 200 text/html to GET /, not Elasticsearch (expected its JSON banner with "
        "version.number; check TRAWL_INDEX_URL)"]
    assert not (tmp_path / "demo" / "runs").exists()
