"""Whether a process id names a live process (run files, bulk-mode owners, managed tors)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def pid_alive(pid: Any) -> bool:
    """True when `pid` is a running process on this machine; a zombie (exited, not yet reaped
    by its parent) is not running.

    >>> pid_alive(os.getpid()), pid_alive(0), pid_alive("12"), pid_alive(None)
    (True, False, False, False)
    """
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc: kill(0) said it exists


def freeze_startup_heap() -> None:
    """Move every object alive now out of the garbage collector's view (`gc.freeze`).

    Called once a process has loaded what it keeps for its whole life (reference lists,
    matchers, site definitions, Scrapy's machinery): those hundreds of thousands of objects
    would otherwise be traversed by every full collection. Measured on processing workers:
    a full collection held a worker for ~150 ms (its receiving thread triggered it while
    unpacking a round of jobs), and worker CPU per page fell ~15% with the heap frozen.
    Objects frozen here are still freed by reference counting; only cyclic garbage among
    them would stay, and they are meant to live as long as the process.
    """
    import gc

    gc.collect()
    gc.freeze()


def spawn_with_pipes(context: Any, target: Any, spec: Any, name: str) -> tuple[Any, Any, Any]:
    """Start `target(spec, inbox, outbox)` in a daemon process of the multiprocessing `context`,
    with one one-way pipe each way; returns (process, the end to send it messages, the end to
    receive its answers).  The child's ends are closed here, so a dead child reads as EOF and a
    send to it fails, instead of either side waiting for ever."""
    inbox_recv, inbox_send = context.Pipe(duplex=False)
    outbox_recv, outbox_send = context.Pipe(duplex=False)
    process = context.Process(target=target, args=(spec, inbox_recv, outbox_send), name=name, daemon=True)
    process.start()
    inbox_recv.close()
    outbox_send.close()
    return process, inbox_send, outbox_recv
