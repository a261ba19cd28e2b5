"""`trawl crawl` through the real CLI against the testbed: quiet by default, a progress
line only on a terminal, exit codes a script can read (0 finished, 3 paused, 4 failed),
honest run status (proxy down, disk full, run dir not writable), and no Scrapy console
(remote control / telnet) listening in a crawl."""
from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from crawler.engine.runstatus import EXIT_FAILED, EXIT_PAUSED, exit_code_for, is_local_failure, settle_status
from tests.crawler.conftest import REPO, crawl_env, trawl

CONSOLE_EXTENSIONS = ("RemoteControl", "TelnetConsole")


def _site_yaml(tmp_path: Path, edit: Any) -> Path:
    sites = tmp_path / "sites"
    sites.mkdir(exist_ok=True)
    text = (REPO / "crawler" / "sites" / "nightshade.yaml").read_text(encoding="utf-8")
    (sites / "nightshade.yaml").write_text(edit(text), encoding="utf-8")
    return sites


def _captcha_first(text: str) -> str:
    """nightshade whose DDoS-guard page counts as a captcha: a human must pass it."""
    start, end = text.index("gates:\n"), text.index("throttle:\n")
    gate = '  - name: captcha\n    type: captcha\n    markers: ["text:DDoS protection by NightGuard"]\n'
    return text[:start] + "gates:\n" + gate + text[end:]


def _no_retries(text: str) -> str:
    assert "  retries: 3\n" in text and "  backoff: 0.5\n" in text
    return text.replace("  retries: 3\n", "  retries: 0\n").replace("  backoff: 0.5\n", "  backoff: 0.05\n")


def _dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening_inodes() -> dict[str, str]:
    """inode -> local address of every listening TCP socket on this machine."""
    out: dict[str, str] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as fh:
            for row in fh.readlines()[1:]:
                cols = row.split()
                if cols[3] == "0A":  # TCP_LISTEN
                    out[cols[9]] = cols[1]
    return out


def _socket_inodes(pid: int) -> set[str]:
    found: set[str] = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                found.add(target[8:-1])
    except OSError:
        pass
    return found


# --- unit level: the status rules ------------------------------------------------------------

def test_status_rules_and_local_failures() -> None:
    proxy_down: dict[str, Any] = {"status": "finished", "errors": 3, "errors_by_kind": {"SocksError": 3},
                                  "stats": {"trawl/errors/SocksError": 3, "trawl/first_error": "SocksError: refused"}}
    settle_status(proxy_down)
    assert proxy_down["status"] == "failed" and "every page failed" in proxy_down["failure"]
    assert "first: SocksError: refused" in proxy_down["failure"]
    partly: dict[str, Any] = {"status": "finished", "errors": 3,
                              "stats": {"trawl/errors/HttpError/503": 3, "downloader/response_status_count/200": 40}}
    settle_status(partly)
    assert partly["status"] == "finished"
    # resumed with the proxy down: earlier segments fetched pages, this one fetched none
    resumed: dict[str, Any] = {"status": "finished", "errors": 5,
                               "stats": {"downloader/response_status_count/200": 40, "trawl/errors/SocksError": 5}}
    settle_status(resumed, segment={"trawl/errors/SocksError": 5})
    assert resumed["status"] == "failed"
    local: dict[str, Any] = {"status": "local_error", "finish_reason": "local_error",
                             "stats": {"trawl/local_error": "[Errno 28] No space left on device",
                                       "downloader/response_status_count/200": 5}}
    settle_status(local)
    assert local["status"] == "failed" and "No space left" in local["failure"]
    statuses = ("finished", "budget_reached", "paused", "failed", "shutdown")
    assert [exit_code_for(s) for s in statuses] == [0, 0, 3, 4, 130]
    assert is_local_failure(OSError(errno.ENOSPC, "No space left on device"))
    assert is_local_failure(PermissionError(errno.EACCES, "Permission denied"))
    assert not is_local_failure(ConnectionRefusedError(errno.ECONNREFUSED, "refused"))
    assert not is_local_failure(TimeoutError(errno.ETIMEDOUT, "timed out"))
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = 13  # type: ignore[attr-defined]
    assert is_local_failure(full) and not is_local_failure(ValueError("x"))


def test_log_file_and_console_redact_login_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from crawler.engine import logsetup

    secret = "hunter2-s3cret!"
    log_file = tmp_path / "crawl.log"
    logsetup.install(logsetup.LogOptions(verbosity=0, log_file=log_file), secrets=[secret])
    try:
        log = logging.getLogger("scrapy.core.engine")
        log.info("Crawled (200) <GET http://x.onion/login?user=a&password=%s>", "hunter2-s3cret%21")
        log.warning("login echoed %s in a redirect", secret)
        log.debug("never shown at default verbosity")
    finally:
        logsetup.uninstall()
        logging.captureWarnings(False)
    written = log_file.read_text(encoding="utf-8")
    console = capsys.readouterr().err
    assert "Crawled (200)" in written and "login echoed" in written  # the file gets INFO
    assert "Crawled (200)" not in console and "login echoed [REDACTED]" in console  # console: warnings only
    assert "never shown" not in written + console
    assert "hunter2" not in written + console and "s3cret" not in written + console


# --- through the CLI ----------------------------------------------------------------------------

def test_default_crawl_is_quiet_and_runs_no_console_listener(testbed: Any, tmp_path: Path) -> None:
    env = crawl_env(tmp_path / "home", testbed.env())
    log_file = tmp_path / "logs" / "vortex.log"
    before = set(_listening_inodes())
    proc = subprocess.Popen([sys.executable, "-m", "trawl.cli", "crawl", "vortex", "--budget", "8",
                             "--log-file", str(log_file)], env=env, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    listening: dict[str, str] = {}
    sampled = 0
    deadline = time.monotonic() + 180
    while proc.poll() is None and time.monotonic() < deadline:
        mine = _socket_inodes(proc.pid)
        listening.update({i: a for i, a in _listening_inodes().items() if i in mine and i not in before})
        sampled += bool(mine)
        time.sleep(0.05)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr[-2000:]
    assert stderr == ""  # not one line of Scrapy's log at default verbosity
    lines = stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vortex: budget_reached run vortex-"), stdout
    assert sampled > 0, "never saw the crawl's sockets: the listener check would prove nothing"
    assert listening == {}, f"the crawl process listened on {listening}"
    log = log_file.read_text(encoding="utf-8")
    assert "Spider opened" in log and "Enabled extensions" in log  # the file gets INFO anyway
    enabled = log.split("Enabled extensions:", 1)[1].split("\n2", 1)[0]
    assert "crawler.engine.runstats.RunStatsExtension" in enabled
    assert not [name for name in CONSOLE_EXTENSIONS if name in enabled], enabled
    assert "Remote control" not in log and "Telnet console listening" not in log
    assert "event loop: uvloop.Loop" in log  # crawl.event_loop = auto, uvloop installed


def test_event_loop_is_a_setting_and_a_wrong_one_is_named(testbed: Any, tmp_path: Path) -> None:
    """crawl.event_loop = asyncio crawls on Python's own loop; a value it does not know stops
    the crawl before it starts, naming the key (exit 2)."""
    env = crawl_env(tmp_path / "home", testbed.env() | {"TRAWL_EVENT_LOOP": "asyncio"})
    log_file = tmp_path / "vortex.log"
    run = trawl(["crawl", "vortex", "--budget", "8", "--json", "--log-file", str(log_file)], env)
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["pages"] >= 8
    assert json.loads((Path(summary["run_dir"]) / "stats.json").read_text())["event_loop"].startswith("asyncio.")
    log = log_file.read_text(encoding="utf-8")
    assert "event loop: asyncio." in log and "uvloop" not in log
    run = trawl(["crawl", "vortex", "--json"], crawl_env(tmp_path / "home2", testbed.env() | {"TRAWL_EVENT_LOOP": "trio"}))
    assert run.returncode == 2, run.stderr[-2000:]
    last = run.stderr.strip().splitlines()[-1]
    assert "crawl.event_loop = 'trio'" in last and "expected auto, uvloop or asyncio" in last, last
    assert "Traceback" not in run.stderr


def test_progress_line_only_on_a_terminal(testbed: Any, tmp_path: Path) -> None:
    env = crawl_env(tmp_path / "home", {**testbed.env(), "TERM": "xterm", "COLUMNS": "160"})
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "trawl.cli", "crawl", "vortex", "--budget", "8"],
                            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:  # a pty whose reader stops blocks the writer: read until it closes
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    stdout, _ = proc.communicate(timeout=180)
    reader.join(30)
    os.close(master)
    terminal = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0, terminal[-2000:]
    assert stdout.decode().startswith("vortex: budget_reached")  # the summary stays on stdout
    assert "vortex" in terminal and "pages/s" in terminal and "listings" in terminal and "errors" in terminal
    assert re.search(r"\b([1-9]\d*)/8 pages", terminal), terminal[-2000:]  # counted against the --budget
    assert "\r" in terminal  # redrawn in place, not one line per update
    assert "WARNING" not in terminal and "INFO" not in terminal


def test_paused_at_captcha_exits_3(testbed: Any, tmp_path: Path) -> None:
    sites = _site_yaml(tmp_path, _captcha_first)
    env = crawl_env(tmp_path / "home", {**testbed.env(), "TRAWL_SITES_DIR": str(sites)})
    first = trawl(["crawl", "nightshade", "--json"], env)
    assert first.returncode == EXIT_PAUSED, first.stderr[-2000:]
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["status"] == "paused" and "captcha" in summary["paused_reason"] and summary["exit_code"] == 3
    # a script running it again learns the same: waiting for a human, not a config error
    again = trawl(["crawl", "nightshade"], env)
    assert again.returncode == EXIT_PAUSED and "is paused" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1 and again.stdout == ""


def test_proxy_down_every_page_failed_exits_4(tmp_path: Path) -> None:
    sites = _site_yaml(tmp_path, _no_retries)
    env = crawl_env(tmp_path / "home", {"TRAWL_SITES_DIR": str(sites),
                                        "TRAWL_TOR_SOCKS": f"socks5h://127.0.0.1:{_dead_port()}",
                                        "TRAWL_TESTBED_PASSWORD": "unused"})
    run = trawl(["crawl", "nightshade", "--json", "-vv"], env)
    assert run.returncode == EXIT_FAILED, run.stderr[-2000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["status"] == "failed" and summary["pages"] == 0 and summary["errors"] >= 1
    assert "every page failed" in summary["failure"] and "first: " in summary["failure"]  # says what failed
    assert " DEBUG " in run.stderr or "DEBUG [" in run.stderr  # -vv: debug on the console
    runs = json.loads(trawl(["runs", "--json"], env).stdout)
    assert [r["status"] for r in runs] == ["failed"]


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run([str(shutil.which("unshare")), "-rm", "sh", "-c", "mount -t tmpfs tmpfs /mnt"],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


needs_mount_ns = pytest.mark.skipif(not _unshare_works(),
                                    reason="needs `unshare -rm` (mount namespaces) to mount a tmpfs")


def _crawl_on_tmpfs(env: dict[str, str], runs: Path, options: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run `trawl ARGS` in a private mount namespace where RUNS is a small (or read-only) tmpfs;
    the index ($TRAWL_HOME/index.sqlite) stays on the real disk."""
    script = 'mount -t tmpfs -o "$1" tmpfs "$2" || exit 99; shift 2; exec "$@"'
    argv = [str(shutil.which("unshare")), "-rm", "sh", "-c", script, "sh", options, str(runs),
            sys.executable, "-m", "trawl.cli", *args]
    return subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=240,
                          stdin=subprocess.DEVNULL)


@needs_mount_ns
def test_disk_full_is_a_local_failure_not_a_site_failure(testbed: Any, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "runs").mkdir(parents=True)
    env = crawl_env(home, testbed.env())
    # the whole crawl needs ~1.2 MB there (WARC, manifest, frontier and its WAL; 1500k before the
    # frontier committed in groups): 700k fills about half-way
    run = _crawl_on_tmpfs(env, home / "runs", "size=700k", ["crawl", "vortex", "--json"])
    assert run.returncode == EXIT_FAILED, run.stderr[-3000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["status"] == "failed" and summary["finish_reason"] == "local_error"
    assert "local failure" in summary["failure"]
    assert "No space left" in summary["failure"] or "full" in summary["failure"]
    assert summary["mirror_rotations"] == 0  # the site did nothing wrong: no mirror given up
    assert "did not start" not in run.stdout + run.stderr and "Traceback" not in run.stderr, run.stderr
    assert "local failure, stopping the crawl" in run.stderr
    assert len(run.stderr.strip().splitlines()) <= 3, run.stderr  # one clear message, not a cascade
    # what was collected before the disk filled is kept in the index
    with sqlite3.connect(home / "index.sqlite") as db:
        stored = db.execute("SELECT COUNT(*) FROM listings WHERE site = 'vortex'").fetchone()[0]
    assert stored > 0 and summary["pages"] > 0


@needs_mount_ns
def test_run_dir_not_writable_could_not_start_exits_4(testbed: Any, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "runs").mkdir(parents=True)
    run = _crawl_on_tmpfs(crawl_env(home, testbed.env()), home / "runs", "ro", ["crawl", "vortex"])
    assert run.returncode == EXIT_FAILED, run.stderr[-3000:]
    assert run.stdout == "" and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert run.stderr.startswith("error: crawl of vortex could not start: ") and "Read-only file system" in run.stderr


def test_component_that_cannot_start_on_a_user_setting_exits_2(tmp_path: Path) -> None:
    """The index URL is the user's to fix: one clear line, exit 2, not 'interrupted' (130)."""
    env = crawl_env(tmp_path / "home", {"TRAWL_INDEX_URL": "bogus://nowhere", "TRAWL_TOR_SOCKS": "socks5h://127.0.0.1:9"})
    run = trawl(["crawl", "vortex", "--json"], env)
    assert run.returncode == 2, run.stderr[-2000:]
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("error: crawl of vortex could not start") and "bogus://nowhere" in last
    assert "Traceback" not in run.stderr and "Unhandled error" not in run.stderr
    assert json.loads((next((tmp_path / "home" / "runs").iterdir()) / "stats.json").read_text())["status"] == "failed"
