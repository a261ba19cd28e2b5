"""`trawl alerts check|test|deliver|log` in real subprocesses: the channels file with a
secret from the environment, FILE:LINE errors, and a signed delivery to a loopback receiver."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.alerts import AlertEvent, JsonlSink
from tests.alerting.receivers import Receiver, receiver
from tests.commands import TRAWL

SECRET = "cli-hook-secret-5521"


@pytest.fixture
def hook() -> Iterator[Receiver]:
    yield from receiver()


def trawl(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRAWL_HOME": str(home), "HOOK_SECRET": SECRET}
    return subprocess.run([*TRAWL, "alerts", *args], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def channels(home: Path, url: str, extra: str = "") -> None:
    (home / "alert-channels.yaml").write_text(
        "delivery:\n  retries: 1\n  backoff_seconds: 0.1\n"
        f"channels:\n  ops:\n    type: webhook\n    url: {url}\n    secret: ${{HOOK_SECRET}}\n{extra}",
        encoding="utf-8")


def test_deliver_once_sends_the_log_signed_and_never_shows_the_secret(trawl_home: Path, hook: Receiver) -> None:
    channels(trawl_home, hook.url)
    JsonlSink(trawl_home / "alerts.jsonl").emit(AlertEvent("market_back", "2026-11-30T03:00:00Z", "vortex is back",
                                                           {"site": "vortex"}))

    checked = trawl(trawl_home, "check")
    first = trawl(trawl_home, "deliver", "--once", "--json")
    second = trawl(trawl_home, "deliver", "--once", "--json")
    listed = trawl(trawl_home, "log", "--kind", "market_back")

    assert checked.returncode == 0 and "ok: ops (webhook)" in checked.stdout
    assert first.returncode == 0 and json.loads(first.stdout)["delivered"] == 1
    assert json.loads(second.stdout)["read"] == 0
    [request] = hook.requests
    assert request.headers["X-Trawl-Signature"] == \
        "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert "vortex is back" in listed.stdout
    for result in (checked, first, second, listed):
        assert SECRET not in result.stdout + result.stderr


def test_test_command_reports_delivery_and_failure(trawl_home: Path, hook: Receiver) -> None:
    channels(trawl_home, hook.url)
    ok = trawl(trawl_home, "test", "ops")
    hook.statuses = [500, 500]
    failed = trawl(trawl_home, "test", "ops")
    unknown = trawl(trawl_home, "test", "nope")

    assert (ok.returncode, ok.stdout.strip()) == (0, "ops: delivered")
    assert hook.requests[0].json()["kind"] == "test"
    assert failed.returncode == 1 and "failed after 2 attempt(s): channel ops: HTTP 500" in failed.stderr
    assert unknown.returncode == 2 and "no channel 'nope' (configured: ops)" in unknown.stderr


def test_channel_errors_name_file_and_line(trawl_home: Path) -> None:
    channels(trawl_home, "https://hooks.example.org/x",
             "    format: teams\n"  # line 9
             "  mail:\n    type: email\n    host: h\n    from: nobody\n    to: [a@example.org]\n"  # 10-14
             "    username: u\n    starttls: false\n"  # 15-16
             "  misp:\n    type: misp\n    url: https://misp.example.org\n"  # 17-19
             "  room:\n    type: webhook\n    url: https://hooks.example.org/y\n    secret: ${NOT_SET_ANYWHERE}\n")
    (trawl_home / "watch.yaml").write_text("watch:\n  substances: [mdea]\n  countries: [Holland]\n", encoding="utf-8")
    result = trawl(trawl_home, "check")
    path = trawl_home / "alert-channels.yaml"
    assert result.returncode == 2
    assert f"{trawl_home / 'watch.yaml'}:3: watch.countries[0]: expected an ISO alpha-2 country code" in result.stderr
    for expected in (":9: channels.ops.format: expected one of json, slack, matrix",
                     ":13: channels.mail.from: expected an e-mail address",
                     ":16: channels.mail.starttls: credentials are only sent after STARTTLS",
                     ":15: channels.mail.username: a username needs a password",
                     ":17: channels.misp: a MISP channel needs an authkey",
                     ":23: channels.room.secret: environment variable NOT_SET_ANYWHERE is not set"):
        assert f"{path}{expected}" in result.stderr


def test_continuous_delivery_picks_up_new_alerts_and_stops_on_sigterm(trawl_home: Path, hook: Receiver) -> None:
    channels(trawl_home, hook.url)
    env = {**os.environ, "TRAWL_HOME": str(trawl_home), "HOOK_SECRET": SECRET}
    proc = subprocess.Popen([*TRAWL, "alerts", "deliver", "--interval", "0.2", "--json"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        sink = JsonlSink(trawl_home / "alerts.jsonl")
        for n in range(2):
            sink.emit(AlertEvent("market_down" if n == 0 else "market_back", "2026-11-30T03:00:00Z", f"alert {n}",
                                 {"site": "vortex"}))
            for _ in range(600):  # bounded: up to 60 s on a busy machine
                if len(hook.requests) > n or proc.poll() is not None:
                    break
                time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err[-2000:]
    assert [r.json()["summary"] for r in hook.requests] == ["alert 0", "alert 1"]
    assert json.loads(out)["delivered"] == 2


def test_an_invalid_watch_file_stops_a_crawl_before_it_starts(trawl_home: Path) -> None:
    (trawl_home / "watch.yaml").write_text("watch:\n  countries: [Holland]\n", encoding="utf-8")
    env = {**os.environ, "TRAWL_HOME": str(trawl_home)}
    result = subprocess.run([*TRAWL, "crawl", "vortex"], env=env, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: {trawl_home / 'watch.yaml'}:2: watch.countries[0]: "
                                     "expected an ISO alpha-2 country code, got 'Holland'")
    assert not (trawl_home / "runs").exists()
