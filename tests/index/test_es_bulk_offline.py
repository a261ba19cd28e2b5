"""bulk_mode() with no server behind the URL (a real dead loopback port, no mock): the block runs,
writes spool as always, nothing raises, and SQLite's bulk_mode is a no-op."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from index.es_backend import EsBackend
from index.sqlite_backend import SqliteBackend
from testbed.synthetic_index import generate


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed on exit: nothing listens there


def test_bulk_mode_on_a_dead_server_spools_and_does_not_raise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAWL_HOME", str(tmp_path / "home"))
    backend = EsBackend.from_url(f"http://127.0.0.1:{dead_port()}", spool_dir=tmp_path / "spool", request_timeout=2)
    data = generate(n_listings=20, days=30)
    with backend.bulk_mode():
        counts = backend.write(data)
    assert counts["spooled"] == sum(data.counts().values())
    assert backend.spool.pending() == 1
    backend.close()


def test_sqlite_bulk_mode_is_a_no_op(tmp_path: Path) -> None:
    with SqliteBackend(tmp_path / "index.sqlite") as backend:
        data = generate(n_listings=20, days=30)
        with backend.bulk_mode("30s"):
            backend.write(data)
        assert backend.counts()["listings"] == 20
