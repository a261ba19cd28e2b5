"""CLI state changes write the same audit trail as the web app's admin actions (core/audit.py):
`trawl sites pause|unpause` and `trawl schedule pause|resume|run-now`, as real `trawl`
processes over a real $TRAWL_HOME; who is `cli:<OS user>`, via is `cli`, never a credential."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core.audit import read_audit
from tests.crawler.conftest import REPO, crawl_env

JOBS = """\
jobs:
  - id: parse-job
    command: [parse, quantity, "100 x 2mg Xanax bars", --json]
    every: 1h
    timeout: 60
"""


def trawl(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trawl.cli", *args], env=env, cwd=REPO, text=True,
                          capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


def user_env(home: Path, user: str) -> dict[str, str]:
    # getpass.getuser() reads LOGNAME first, then USER
    return crawl_env(home, {"LOGNAME": user, "USER": user})


def test_sites_pause_and_unpause_are_audited_with_the_os_user(trawl_home: Path) -> None:
    env = user_env(trawl_home, "alice")
    paused = trawl(["sites", "pause", "nightshade", "--reason", "captcha loop, password=hunter2"], env)
    assert paused.returncode == 0, paused.stderr
    [record] = read_audit(trawl_home / "audit.jsonl")
    assert {k: record[k] for k in ("action", "who", "via", "target")} == {
        "action": "site.pause", "who": "cli:alice", "via": "cli", "target": "nightshade"}
    assert record["reason"].startswith("captcha loop") and "hunter2" not in record["reason"]
    assert record["time"].endswith("Z")
    assert oct((trawl_home / "audit.jsonl").stat().st_mode & 0o777) == "0o600"

    # refused (already paused): nothing changed, nothing logged
    again = trawl(["sites", "pause", "nightshade", "--reason", "x"], env)
    assert again.returncode == 2 and "already paused" in again.stderr
    assert len(read_audit(trawl_home / "audit.jsonl")) == 1

    resumed = trawl(["sites", "unpause", "nightshade", "--reason", "cookies imported"], user_env(trawl_home, "bob"))
    assert resumed.returncode == 0 and "unpaused" in resumed.stdout
    trail = read_audit(trawl_home / "audit.jsonl")
    assert [(r["action"], r["who"], r["target"]) for r in trail] == [
        ("site.pause", "cli:alice", "nightshade"), ("site.resume", "cli:bob", "nightshade")]
    assert trail[1]["reason"] == "cookies imported" and trail[1]["was"].startswith("admin: captcha loop")

    # unpausing a site that is not paused changes nothing and logs nothing
    idle = trawl(["sites", "unpause", "nightshade"], env)
    assert idle.returncode == 0 and "was not paused" in idle.stdout
    assert len(read_audit(trawl_home / "audit.jsonl")) == 2
    assert "hunter2" not in (trawl_home / "audit.jsonl").read_text(encoding="utf-8")


def test_schedule_changes_are_audited_and_a_refused_one_is_not(tmp_path: Path, trawl_home: Path) -> None:
    from click.testing import CliRunner

    from trawl.cli import cli

    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(JOBS, encoding="utf-8")
    env = {"TRAWL_HOME": str(trawl_home), "LOGNAME": "carol", "USER": "carol"}
    for action in ("pause", "run-now", "resume"):
        done = CliRunner().invoke(cli, ["schedule", action, "parse-job", "--file", str(jobs)], env=env)
        assert done.exit_code == 0, done.output
    unknown = CliRunner().invoke(cli, ["schedule", "pause", "nope", "--file", str(jobs)], env=env)
    assert unknown.exit_code != 0
    trail = read_audit(trawl_home / "audit.jsonl")
    assert [(r["action"], r["who"], r["via"], r["target"]) for r in trail] == [
        ("schedule.pause", "cli:carol", "cli", "parse-job"),
        ("schedule.run-now", "cli:carol", "cli", "parse-job"),
        ("schedule.resume", "cli:carol", "cli", "parse-job")]
    assert read_audit(trawl_home / "audit.jsonl", action="schedule.pause") == trail[:1]


def test_rotating_the_evidence_signing_key_is_audited_by_key_id(trawl_home: Path) -> None:
    env = user_env(trawl_home, "carol")
    shown = trawl(["evidence", "keys", "show"], env)  # creates the first key
    assert shown.returncode == 0, shown.stderr
    rotated = trawl(["evidence", "keys", "rotate"], env)
    assert rotated.returncode == 0, rotated.stderr
    old, new = rotated.stdout.split("rotated: ", 1)[1].split(" (", 1)[0].split(" -> ")
    [record] = read_audit(trawl_home / "audit.jsonl")
    assert {k: record[k] for k in ("action", "who", "via", "target", "was")} == {
        "action": "evidence.keys.rotate", "who": "cli:carol", "via": "cli", "target": new, "was": old}
    assert old != new
    # public key ids only: no private key material in the trail
    assert "PRIVATE" not in (trawl_home / "audit.jsonl").read_text(encoding="utf-8")
