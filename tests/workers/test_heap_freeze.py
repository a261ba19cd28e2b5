"""core.process.freeze_startup_heap: what a crawl or worker process loaded at start-up leaves
the collector's view; what it allocates later is still collected (run in a child process:
freezing the test runner's own heap would keep its garbage for the rest of the session)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import gc, json, weakref
from core.process import freeze_startup_heap

class Node:
    pass

loaded = [Node() for _ in range(1000)]  # start-up state, kept for the process's life
before = gc.get_freeze_count()
freeze_startup_heap()
frozen = gc.get_freeze_count()
young = Node(); young.self = young  # a cycle made after start-up
probe = weakref.ref(young)
del young
gc.collect()
print(json.dumps({"before": before, "frozen": frozen, "cycle_collected": probe() is None,
                  "loaded_alive": len(loaded)}))
"""


def test_freeze_moves_the_start_up_heap_out_and_later_cycles_are_still_collected() -> None:
    run = subprocess.run([sys.executable, "-c", CHILD], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["before"] == 0
    assert result["frozen"] >= 1000  # at least the objects loaded before the call
    assert result["cycle_collected"] is True
    assert result["loaded_alive"] == 1000
