"""The `trawl doctor` check of the scheduler's job store (trawl/schedule_store.py), read-only.

Reports whether the store opens and reads, how many jobs APScheduler holds (and how many are
paused), and who holds a job's lease now (a scheduler running that job).  A store that does
not exist yet is fine ("no job store yet"): the check never creates the file nor, for the
default SQLite store, its -wal/-shm companions:

- no -wal file beside the database: no process has it open (the scheduler sets WAL mode on
  every connection, and SQLite removes the -wal at the last close), so it is read with
  `immutable=1`, which creates nothing; if a -wal appeared meanwhile, it is read again as below;
- a -wal file: a scheduler or a CLI command has it open (or crashed with it open), and a
  `mode=ro` connection reads the committed state through the files already there.

Other SQLAlchemy URLs (PostgreSQL, ...) are read with SELECTs only, never `create_all`.
"""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from core.clock import iso_z
from trawl.doctor import CheckResult, DoctorContext
from trawl.schedule_store import APS_TABLE, LEASE_TABLE, STATE_TABLE, STORE_FILE

NAME = "schedule.store"
TABLES = (APS_TABLE, STATE_TABLE, LEASE_TABLE)

Fetch = Callable[[str], Sequence[Sequence[Any]]]


def check_job_store(context: DoctorContext) -> list[CheckResult]:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    url = context.config.schedule_store_url.strip()
    if not url:
        return [_sqlite_store(context.config.home_path / STORE_FILE, context.timeout)]
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        return [CheckResult(NAME, "fail", f"schedule.store_url: {exc}", "trawl config show")]
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            return [CheckResult(NAME, "warn", "in-memory SQLite job store: run state is lost at every restart",
                                "set schedule.store_url to a file or server URL")]
        return [_sqlite_store(Path(parsed.database).expanduser(), context.timeout)]
    return [_server_store(url, context.timeout)]


def _sqlite_store(path: Path, timeout: float) -> CheckResult:
    if not path.exists():
        return CheckResult(NAME, "ok", f"{path}: no job store yet (`trawl schedule run` creates it)")
    if not path.is_file():
        return CheckResult(NAME, "fail", f"{path}: not a file, so the scheduler cannot open its job store",
                           f"mv {path} {path}.bak")
    wal = path.with_name(path.name + "-wal")
    try:
        if not wal.exists():
            result = _read_sqlite(path, timeout, immutable=True)
            if not wal.exists():
                return _verdict(f"SQLite {path}", result, path)
        return _verdict(f"SQLite {path}", _read_sqlite(path, timeout, immutable=False), path)
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return CheckResult(NAME, "warn", f"{path}: locked longer than {timeout:g}s (a scheduler writing?)",
                               "trawl schedule status")
        return _broken(path, exc)
    except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
        return _broken(path, exc)


def _broken(path: Path, exc: BaseException) -> CheckResult:
    return CheckResult(NAME, "fail", f"{path}: job store unreadable ({exc}); the scheduler cannot start",
                       f"mv {path} {path}.broken  # the next `trawl schedule run` starts a new store "
                       "(pauses and run history in it are lost)")


def _read_sqlite(path: Path, timeout: float, *, immutable: bool) -> dict[str, Any]:
    mode = "immutable=1" if immutable else "mode=ro"
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True, timeout=timeout)
    try:
        problems = [row[0] for row in connection.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError(f"integrity check: {'; '.join(map(str, problems[:3]))}")
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return _read_tables(tables, lambda sql: connection.execute(sql).fetchall())
    finally:
        connection.close()


def _server_store(url: str, timeout: float) -> CheckResult:
    from sqlalchemy import create_engine, inspect, text

    from core.config import mask_url_password

    shown = mask_url_password(url)
    options: dict[str, Any] = {}
    if url.startswith("postgresql"):
        options["connect_args"] = {"connect_timeout": max(int(timeout), 1)}
    try:
        engine = create_engine(url, **options)
        try:
            with engine.connect() as conn:
                tables = set(inspect(conn).get_table_names())
                result = _read_tables(tables, lambda sql: conn.execute(text(sql)).all())
        finally:
            engine.dispose()
    except Exception as exc:  # noqa: BLE001 - a missing driver, an unreachable server, bad credentials
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return CheckResult(NAME, "fail", f"{shown}: job store unreachable ({first})", "trawl config show")
    return _verdict(shown, result, None)


def _read_tables(tables: set[str], fetch: Fetch) -> dict[str, Any]:
    """Counts and live leases from whichever of trawl's tables exist (only constant SQL)."""
    found: dict[str, Any] = {"missing": [t for t in TABLES if t not in tables], "jobs": 0, "paused": 0,
                             "leases": [], "others": sorted(tables - set(TABLES))}
    if APS_TABLE in tables:
        found["jobs"] = int(fetch(f"SELECT count(*) FROM {APS_TABLE}")[0][0])  # noqa: S608 - a constant
    if STATE_TABLE in tables:
        found["paused"] = int(fetch(f"SELECT count(*) FROM {STATE_TABLE} WHERE paused != 0")[0][0])  # noqa: S608
    if LEASE_TABLE in tables:
        rows = fetch(f"SELECT job_id, holder, expires_at FROM {LEASE_TABLE} ORDER BY job_id")  # noqa: S608
        found["leases"] = [(str(job), str(holder), float(expires)) for job, holder, expires in rows]
    return found


def _verdict(where: str, found: dict[str, Any], path: Path | None) -> CheckResult:
    missing: list[str] = found["missing"]
    if len(missing) == len(TABLES) and not found["others"]:
        return CheckResult(NAME, "ok", f"{where}: readable, no tables yet (the scheduler creates them)")
    now = time.time()
    live = [(job, holder, expires) for job, holder, expires in found["leases"] if expires >= now]
    stale = [(job, holder) for job, holder, expires in found["leases"] if expires < now]
    running = ("; running now: " + ", ".join(
        f"{job} on {holder} (lease until {iso_z(datetime.fromtimestamp(expires, timezone.utc))})"
        for job, holder, expires in live)) if live else "; no job running (no lease held)"
    detail = f"{where}: readable, {found['jobs']} job(s) scheduled, {found['paused']} paused{running}"
    if missing:
        fix = f"mv {path} {path}.bak" if path else "trawl schedule status"
        return CheckResult(NAME, "warn", f"{detail}; tables missing: {', '.join(missing)} (not a trawl job store?)",
                           fix)
    if stale:
        holders = ", ".join(f"{job} (held by {holder})" for job, holder in stale)
        return CheckResult(NAME, "warn", f"{detail}; expired lease(s): {holders}: the holder died or stalled "
                                         "mid-run, a running scheduler runs the job again", "trawl schedule status")
    return CheckResult(NAME, "ok", detail)
