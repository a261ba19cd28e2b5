"""The checks of `trawl doctor` for storage: Redis, the index (Elasticsearch or SQLite),
disk space, the evidence store, the schedule (its job store: trawl/doctor_schedule.py), and the clock."""
from __future__ import annotations

import errno
import os
import shutil
import socket
import sqlite3
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.config import mask_url_password
from core.errors import TrawlError
from trawl.doctor import CheckResult, DoctorContext, fix_setting, nearest_existing

GIB = 2**30
DISK_FAIL_BYTES = 1 * GIB  # a crawl's WARCs and the index fill less than this before the next check
DISK_WARN_BYTES = 5 * GIB
CLOCK_SLACK_SECONDS = 300  # mtimes written by this machine may be a little ahead (other clocks, NFS)
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --- Redis -------------------------------------------------------------------------------

def check_redis(context: DoctorContext) -> list[CheckResult]:
    import redis

    url = context.config.redis_url
    shown = mask_url_password(url)
    host = urlsplit(url).hostname or ""
    try:
        client = redis.Redis.from_url(url, socket_timeout=context.timeout, socket_connect_timeout=context.timeout)
        client.ping()
        version = client.info("server").get("redis_version", "?")
        client.close()
    except redis.AuthenticationError as exc:
        return [CheckResult("redis", "fail", f"{shown}: {_first_line(exc)}",
                            fix_setting(context.config, "redis.url", "redis://:PASSWORD@HOST:6379/0"))]
    except (redis.RedisError, OSError) as exc:
        fix = "sudo systemctl start redis-server" if host in _LOOPBACK else f"nc -vz {host} {urlsplit(url).port or 6379}"
        return [CheckResult("redis", "fail", f"{shown}: no PING answer ({_first_line(exc)})", fix)]
    return [CheckResult("redis", "ok", f"{shown}: PONG from Redis {version}")]


# --- index -------------------------------------------------------------------------------

def check_index(context: DoctorContext) -> list[CheckResult]:
    url = context.config.index_url.strip()
    if url.startswith(("http://", "https://")):
        return [_elasticsearch(context, url)]
    if not url:
        path = context.config.home_path / "index.sqlite"
    elif url.startswith("sqlite://"):
        path = Path(url[len("sqlite://"):]).expanduser()
    elif "://" in url:
        return [CheckResult("index", "fail", f"index url {url!r}: unsupported scheme",
                            fix_setting(context.config, "index.url", ""))]
    else:
        path = Path(url).expanduser()
    return [_sqlite(context, path)]


def _sqlite(context: DoctorContext, path: Path) -> CheckResult:
    if not path.exists():
        parent = nearest_existing(path.parent)
        return CheckResult("index", "ok", f"SQLite {path}: not created yet (the first crawl creates it under {parent})")
    if not path.is_file():
        return CheckResult("index", "fail", f"SQLite {path}: not a file", f"mv {path} {path}.bak")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=context.timeout)
        try:
            tables = connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            connection.execute("BEGIN IMMEDIATE")  # takes the write lock: proves it is writable, writes nothing
            connection.rollback()
        finally:
            connection.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return CheckResult("index", "warn", f"SQLite {path}: write lock held longer than {context.timeout:g}s "
                                                "(a crawl writing?)", "trawl runs")
        return CheckResult("index", "fail", f"SQLite {path}: {exc}", f"chmod u+w {path} {path.parent}")
    except sqlite3.DatabaseError as exc:
        return CheckResult("index", "fail", f"SQLite {path}: {exc}", f"mv {path} {path}.broken")
    return CheckResult("index", "ok", f"SQLite {path}: opens, writable, {tables} tables")


def _elasticsearch(context: DoctorContext, url: str) -> CheckResult:
    from elasticsearch import ApiError, AuthenticationException, TransportError

    from index.es_client import make_client, settings_from

    config = context.config
    shown = mask_url_password(url)
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 9200)
    fix_down = "sudo systemctl start elasticsearch" if host in _LOOPBACK else f"nc -vz {host} {port}"
    try:  # a plain TCP connect first: the client's "Connection error" hides the reason
        socket.create_connection((host, port), timeout=context.timeout).close()
    except OSError as exc:
        return CheckResult("elasticsearch", "fail", f"{shown}: nothing answers ({exc.strerror or exc})", fix_down)
    try:
        settings = settings_from(url, request_timeout=context.timeout)
        client = make_client(settings).options(max_retries=0)
        info = client.info()
        health = client.cluster.health(timeout=f"{max(int(context.timeout), 1)}s")
    except AuthenticationException as exc:
        return CheckResult("elasticsearch", "fail", f"{shown}: authentication failed ({_first_line(exc)})",
                           fix_setting(config, "index.api_key", "KEY"))
    except (ApiError, TransportError, OSError) as exc:
        return CheckResult("elasticsearch", "fail", f"{shown}: {type(exc).__name__}: {_first_line(exc)}", fix_down)
    return es_verdict(shown, dict(info), dict(health), config.index_replicas,
                      fix_replicas=lambda nodes: fix_setting(config, "index.replicas", str(nodes)))


def es_verdict(shown: str, info: dict[str, Any], health: dict[str, Any], replicas: int | None,
               fix_replicas: Callable[[int], str]) -> CheckResult:
    """ok/warn/fail from GET / and GET /_cluster/health; replicas beyond the data nodes
    are why a one-node cluster is yellow, and that is said plainly."""
    version = info.get("version", {}).get("number", "?")
    status, nodes = health.get("status"), int(health.get("number_of_data_nodes", 0))
    where = f"{shown}: Elasticsearch {version}, cluster {health.get('cluster_name')} {status}, {nodes} data node(s)"
    explain = f"curl -sS '{shown}/_cluster/allocation/explain?pretty'"
    if status == "red":
        return CheckResult("elasticsearch", "fail", f"{where}: a primary shard is unassigned", explain)
    if replicas is not None and replicas >= max(nodes, 1):
        detail = (f"{where}; index.replicas = {replicas} needs {replicas + 1} data nodes (a replica never sits "
                  f"on its primary's node), so trawl's indices stay yellow")
        return CheckResult("elasticsearch", "warn", detail, fix_replicas(max(nodes - 1, 0)))
    if status == "yellow":
        return CheckResult("elasticsearch", "warn", f"{where}: some replica shards are unassigned", explain)
    fit = "replicas auto-expand 0-1 with the data nodes" if replicas is None else f"{replicas} replica(s) per index fit"
    return CheckResult("elasticsearch", "ok", f"{where}; {fit}")


# --- disk and evidence store ---------------------------------------------------------------

def check_disk(context: DoctorContext) -> list[CheckResult]:
    home = context.config.home_path
    where = nearest_existing(home)
    usage = shutil.disk_usage(where)
    detail = f"{usage.free / GIB:.1f} GiB free of {usage.total / GIB:.1f} GiB under {where}"
    fix = f"du -sh {home}/runs/* | sort -h | tail  # then remove old runs you have exported"
    if usage.free < DISK_FAIL_BYTES:
        return [CheckResult("disk", "fail", f"{detail}: below {DISK_FAIL_BYTES // GIB} GiB", fix)]
    if usage.free < DISK_WARN_BYTES:
        return [CheckResult("disk", "warn", f"{detail}: below {DISK_WARN_BYTES // GIB} GiB", fix)]
    return [CheckResult("disk", "ok", detail)]


def check_evidence_store(context: DoctorContext) -> list[CheckResult]:
    """Crawls write their WARCs and manifests under $TRAWL_HOME/runs: write, fsync and delete
    a probe file there (or where it will be created)."""
    runs = context.config.home_path / "runs"
    if runs.exists() and not runs.is_dir():
        return [CheckResult("evidence", "fail", f"{runs} is a file, not the evidence directory",
                            f"mv {runs} {runs}.bak")]
    directory = nearest_existing(runs)
    if not directory.is_dir():
        return [CheckResult("evidence", "fail", f"{directory} is a file, not a directory (needed: {runs})",
                            f"mv {directory} {directory}.bak")]
    probe = directory / f".trawl-doctor-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"trawl doctor probe\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        probe.unlink()
    except OSError as exc:
        if exc.errno == errno.EROFS:
            fix = f"sudo mount -o remount,rw $(df --output=target {directory} | tail -1)"
        elif directory.stat().st_uid == os.geteuid():
            fix = f"chmod u+w {directory}"
        else:
            fix = f"sudo chown -R $(id -un) {directory}"
        return [CheckResult("evidence", "fail", f"{directory}: cannot write evidence ({exc.strerror or exc})", fix)]
    note = "" if directory == runs else f" (the first crawl creates {runs})"
    return [CheckResult("evidence", "ok", f"{directory}: writable (probe written, fsynced, deleted){note}")]


# --- schedule ------------------------------------------------------------------------------

def check_schedule(context: DoctorContext) -> list[CheckResult]:
    """The jobs file, when there is one, and the job store (trawl/doctor_schedule.py)."""
    from trawl.doctor_schedule import check_job_store

    return _check_jobs_file(context) + check_job_store(context)


def _check_jobs_file(context: DoctorContext) -> list[CheckResult]:
    from trawl.schedule import load_jobs

    path = context.config.home_path / "schedule.yaml"
    if not path.exists():
        return []  # no schedule configured: nothing to check
    try:
        jobs = load_jobs(path)
    except TrawlError as exc:
        location = str(exc).split(": ", 1)[0]
        return [CheckResult("schedule", "fail", str(exc), f"edit {location}")]
    return [CheckResult("schedule", "ok", f"{path}: {len(jobs)} job(s) valid")]


# --- clock ---------------------------------------------------------------------------------

def check_clock(context: DoctorContext) -> list[CheckResult]:
    """No network time source here: the clock must not be behind the newest file this
    machine wrote (trawl's own package files, the runs under $TRAWL_HOME)."""
    import trawl

    package_dir = Path(trawl.__file__).resolve().parent
    candidates = [p for p in package_dir.glob("*.py")]
    runs = context.config.home_path / "runs"
    if runs.is_dir():
        candidates.extend(runs.iterdir())
    newest_path, newest = None, 0.0
    for path in candidates:
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        if mtime > newest:
            newest_path, newest = path, mtime
    now = time.time()
    stamp = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    compared = f"compared with the newest of {len(candidates)} package/run files"
    if newest_path is None:
        return [CheckResult("clock", "warn", f"now {stamp}; no file to compare with", "timedatectl status")]
    newest_stamp = datetime.fromtimestamp(newest, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    if now + CLOCK_SLACK_SECONDS < newest:
        return [CheckResult("clock", "fail", f"now {stamp} is before {newest_path} ({newest_stamp}): the clock is "
                                             "behind; evidence timestamps would be wrong", "sudo timedatectl set-ntp true")]
    if datetime.fromtimestamp(now, timezone.utc).year >= 2100:
        return [CheckResult("clock", "fail", f"now {stamp}: implausible year", "sudo timedatectl set-ntp true")]
    return [CheckResult("clock", "ok", f"now {stamp}, not before {newest_stamp} ({compared}; no network time here)")]
