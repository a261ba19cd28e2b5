"""The frontier's group commit (crawler/engine/frontier.py): writes wait in one transaction, a
second connection sees them once committed, and a process killed with -9 mid-stream leaves a
prefix of what it wrote, so no page is `done` on disk while a link it gave is missing."""
from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from crawler.engine.frontier import DONE, PENDING, Frontier

WRITER = """
import sys
from pathlib import Path
from crawler.engine.frontier import Frontier
frontier = Frontier(Path(sys.argv[1]), group_commit=0.02)
print("ready", flush=True)
for number in range(1_000_000):
    frontier.add(f"/p/{number}", "nav", 1)  # the link a page gives, then the page is done
    if number:
        frontier.store_body(f"/p/{number - 1}", "http://m.onion/", b"", ref={"warc_offset": number})
        frontier.done(f"/p/{number - 1}")
"""


def statuses(path: Path) -> dict[int, str]:
    with sqlite3.connect(path) as conn:
        return {int(key.rsplit("/", 1)[1]): status for key, status in conn.execute("SELECT key, status FROM frontier")}


def test_writes_wait_for_the_group_then_show(tmp_path: Path) -> None:
    path = tmp_path / "frontier.sqlite"
    frontier = Frontier(path, group_commit=3600)
    frontier.add("/p/0", "nav")
    frontier.done("/p/0")
    assert frontier.status("/p/0") == DONE  # its own connection sees the open group
    assert statuses(path) == {}  # another does not, yet
    frontier.commit()
    assert statuses(path) == {0: DONE}
    frontier.add("/p/1", "nav")
    frontier.close()  # close commits
    assert statuses(path) == {0: DONE, 1: PENDING}


def test_a_claim_and_the_worker_id_are_committed_at_once(tmp_path: Path) -> None:
    path = tmp_path / "frontier.sqlite"
    frontier = Frontier(path, group_commit=3600)
    frontier.add("/p/0", "nav")
    frontier.claim("/p/1", "nav")  # the shared queue forgets a page once it is claimed
    assert statuses(path) == {0: PENDING, 1: "claimed"}
    worker = frontier.worker_id
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM frontier_info WHERE name='worker_id'").fetchone() == (worker,)
    frontier.close()


def test_kill_minus_9_leaves_a_prefix_of_the_writes(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    for kill_after in (0.3, 0.55, 0.8):
        path = tmp_path / f"frontier-{kill_after}.sqlite"
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=root, stdout=subprocess.PIPE, text=True)
        try:
            assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
            time.sleep(kill_after)
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait(timeout=30)
        on_disk = statuses(path)
        assert len(on_disk) > 50, on_disk  # it got going (commits every 20 ms)
        assert sorted(on_disk) == list(range(len(on_disk)))  # no link missing before the last one kept
        done = [number for number, status in on_disk.items() if status == DONE]
        # a page is done only after the next link was added: that link is on disk too
        assert done == list(range(len(done))) and len(done) in (len(on_disk) - 1, len(on_disk) - 2)
