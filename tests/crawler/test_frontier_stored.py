"""`Frontier.stored_page` answers "not kept" from memory (the set of pages kept for replay);
the plain reference is its SQL query.  Random sequences of every frontier write, checked
after each step and after reopening the file, with and without group commit."""
from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from crawler.engine.frontier import FETCHED, Frontier

KEYS = [f"/listing/{n}" for n in range(6)]


def reference(conn: sqlite3.Connection, key: str) -> tuple[str, bytes | None, str | None] | None:
    row = conn.execute("SELECT body_url, body, body_ref FROM frontier WHERE key=? AND status=?"
                       " AND (body IS NOT NULL OR body_ref IS NOT NULL)", (key, FETCHED)).fetchone()
    return None if row is None else (row[0], None if row[1] is None else bytes(row[1]), row[2])


def answer(frontier: Frontier, key: str) -> tuple[str, bytes | None, str | None] | None:
    page = frontier.stored_page(key)
    if page is None:
        return None
    import json

    return page.url, page.body, json.dumps(page.ref) if page.ref else None


@pytest.mark.parametrize("group_commit", [0.0, 3600.0])
@pytest.mark.parametrize("seed", range(8))
def test_stored_page_equals_its_query(tmp_path: Path, seed: int, group_commit: float) -> None:
    rng = random.Random(seed)
    path = tmp_path / "frontier.sqlite"
    frontier = Frontier(path, group_commit=group_commit)
    kept = 0
    for step in range(300):
        key = rng.choice(KEYS)
        operation = rng.choices(["add", "store_body", "store_ref", "forget_body", "done", "failed", "claim", "reopen"],
                                weights=[4, 3, 3, 1, 1, 1, 1, 1])[0]
        if operation == "add":
            frontier.add(key, "listing")
        elif operation == "store_body":
            frontier.store_body(key, f"http://m.onion{key}", rng.choice([b"", b"<html>x</html>"]))
        elif operation == "store_ref":
            frontier.store_body(key, f"http://m.onion{key}", b"x", ref={"run_id": "r", "warc_file": "w", "warc_offset": step})
        elif operation == "forget_body":
            frontier.forget_body(key)
        elif operation == "done":
            frontier.done_many(rng.sample(KEYS, rng.choice([1, 2])))
        elif operation == "failed":
            frontier.failed(key, "boom")
        elif operation == "claim":
            frontier.claim(key, "listing")
        else:
            frontier.close()
            frontier = Frontier(path, group_commit=group_commit)  # the set is rebuilt from the file
        conn = frontier._conn  # the frontier's own connection sees its open group too
        for each in KEYS:
            assert answer(frontier, each) == reference(conn, each), (seed, step, operation, each)
        kept += sum(reference(conn, each) is not None for each in KEYS)
    frontier.close()
    assert kept > 50  # the sequences do keep pages (the comparison is not all None == None)
