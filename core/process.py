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
