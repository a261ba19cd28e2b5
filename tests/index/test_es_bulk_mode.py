"""Bulk against a real Elasticsearch (`es` marker, TRAWL_TEST_ES_URL): refresh off during a bulk
and restored after (also on error, and at the next open after a writer died with it off),
overlapping writers, and the same documents whether sent by one thread or two."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from enrich.vocabulary import default_vocabulary
from index import es_admin, es_bulk, es_generation, open_index
from index.es_bulk import BulkOptions
from testbed.synthetic_index import generate
from tests.index.query_suite import run_suite

ES_URL = os.environ.get("TRAWL_TEST_ES_URL", "")
pytestmark = [
    pytest.mark.es,
    pytest.mark.skipif(not ES_URL, reason="TRAWL_TEST_ES_URL not set: Elasticsearch tests need a server (see README)"),
]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAWL_HOME", str(tmp_path / "home"))


@pytest.fixture
def prefix() -> str:
    return f"trawltest-{uuid.uuid4().hex[:10]}"


def es(prefix: str, spool: Path, **options: Any) -> Any:
    return open_index(ES_URL, prefix=prefix, spool_dir=spool, replicas=0, vocabulary=default_vocabulary(), **options)


@pytest.fixture
def backend(prefix: str, tmp_path: Path) -> Iterator[Any]:
    b = es(prefix, tmp_path / "spool")
    b.write(generate(n_listings=40, days=20))
    b.counts()  # refreshes
    yield b
    es_admin.delete_all(b)
    b.close()


def refresh_intervals(b: Any) -> dict[str, Any]:
    response = b.client.indices.get_settings(index=f"{b.names.prefix}-*", name="index.refresh_interval").body
    return {e["index"]: e["value"] for e in es_bulk.current_refresh(response, b.names.prefix)}


def test_refresh_is_off_inside_and_restored_after(backend: Any) -> None:
    before = refresh_intervals(backend)
    assert before and set(before.values()) == {None}
    with backend.bulk_mode():
        assert set(refresh_intervals(backend).values()) == {"-1"}
        assert es_generation.read_marker(backend)["bulk"]["owners"][0]["owner"] == es_bulk.owner_id()
    assert refresh_intervals(backend) == before
    assert "bulk" not in es_generation.read_marker(backend)
    with pytest.raises(KeyboardInterrupt), backend.bulk_mode():  # an interrupt restores too
        raise KeyboardInterrupt
    assert refresh_intervals(backend) == before


def test_overlapping_writers_restore_once_the_last_leaves(backend: Any) -> None:
    with backend.bulk_mode():
        # a second owner on another machine (within its lease), registered through the marker
        es_bulk._update_marker(backend, lambda bulk: {**bulk, "owners": [*bulk["owners"],
                                                      {"owner": "elsewhere:1", "since": "2999-01-01T00:00:00Z"}]})
    assert set(refresh_intervals(backend).values()) == {"-1"}  # elsewhere:1 is still writing
    assert es_bulk.release(backend, owner="elsewhere:1")
    assert set(refresh_intervals(backend).values()) == {None}


def test_a_writer_that_died_with_refresh_off_is_undone_at_the_next_open(backend: Any, tmp_path: Path) -> None:
    before = refresh_intervals(backend)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    es_bulk.suspend(backend)  # as this process, then pretend the owner was the exited one
    es_bulk._update_marker(backend, lambda bulk: {**bulk, "owners": [
        {"owner": f"{es_bulk.owner_id().rpartition(':')[0]}:{int(dead.stdout)}", "since": "2025-01-01T00:00:00Z"}]})
    assert set(refresh_intervals(backend).values()) == {"-1"}
    fresh = es(backend.names.prefix, tmp_path / "spool3")
    try:
        fresh.ensure_ready()  # notices the abandoned suspension
        assert refresh_intervals(fresh) == before
        assert "bulk" not in es_generation.read_marker(fresh)
    finally:
        fresh.close()


def test_one_thread_and_two_threads_index_the_same(prefix: str, tmp_path: Path) -> None:
    data = generate(n_listings=80, days=30)
    answers = []
    for threads in (1, 2):
        b = es(f"{prefix}-t{threads}", tmp_path / f"spool{threads}",
               bulk=BulkOptions(threads=threads, chunk_docs=50, chunk_bytes=64 * 1024))
        try:
            with b.bulk_mode():
                counts = b.write(data)
            assert "spooled" not in counts and not b.spool.pending() and not b.rejected.pending()
            answers.append(run_suite(b))
        finally:
            es_admin.delete_all(b)
            b.close()
    assert answers[0] == answers[1]
