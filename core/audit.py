"""The audit log of state changes made by people: $TRAWL_HOME/audit.jsonl, one JSON object a line.

    append_audit("site.pause", who="admin", via="api", target="vortex", reason="operator asked")
    append_audit("site.pause", who=cli_actor(), via="cli", target="vortex", reason="operator asked")

Each line records when (UTC), who (the role of the token on the API, `cli:<OS user>` on the
CLI), through what (api/cli, the client address on the API), the action, its target and
the reason given.  Never a token: callers pass roles, not credentials, and every string
goes through core.redact so a pasted secret in a reason is masked.  Lines are appended
with one write() on an O_APPEND descriptor (file mode 0600), so concurrent writers (the
web app and a CLI command at once) never interleave within a line.

In core so that every package that changes state (the web app, `trawl sites pause`,
`trawl schedule pause`) writes the one trail.
"""
from __future__ import annotations

import getpass
import json
import os
import threading
from pathlib import Path
from typing import Any

from core.clock import utc_now_iso
from core.home import ensure_home, trawl_home
from core.redact import redact_text

AUDIT_FILE = "audit.jsonl"
_LOCK = threading.Lock()


def audit_path(home: Path | None = None) -> Path:
    return (home or trawl_home()) / AUDIT_FILE


def cli_actor() -> str:
    """`cli:<OS user>`: who ran a CLI command (the login name, never a credential)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no $USER/$LOGNAME and no passwd entry (a bare container uid)
        user = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"cli:{user}"


def append_audit(action: str, *, who: str, via: str, target: str, reason: str = "",
                 **details: Any) -> dict[str, Any]:
    """Append one audit record and return it."""
    record: dict[str, Any] = {"time": utc_now_iso(), "action": action, "who": who, "via": via, "target": target,
                              "reason": redact_text(reason)}
    record.update({k: redact_text(v) if isinstance(v, str) else v for k, v in details.items()})
    line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    path = ensure_home() / AUDIT_FILE
    with _LOCK:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    return record


def read_audit(path: Path | None = None, action: str | None = None) -> list[dict[str, Any]]:
    """Every record (oldest first), optionally of one action; torn lines (a crash mid-write) skipped."""
    path = path or audit_path()
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and (action is None or record.get("action") == action):
            records.append(record)
    return records
