"""The scheduler's jobs file: validation with file/line/field errors.  Real scheduler
processes: tests/app/test_schedule_processes.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from trawl.schedule import ScheduleError, load_jobs, parse_every


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "jobs.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", 30),
        ("15m", 900),
        ("6h", 21600),
        ("1d", 86400),
    ],
    ids=lambda v: str(v),
)
def test_parse_every(text: str, expected: int) -> None:
    assert parse_every(text) == expected


@pytest.mark.parametrize("text", ["0s", "6 hours", "", "h6", "-1m"], ids=repr)
def test_parse_every_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_every(text)


def test_valid_file_builds_commands(tmp_path: Path) -> None:
    jobs = load_jobs(write(tmp_path, """\
jobs:
  - id: nightshade-6h
    site: nightshade
    every: 6h
    budget: 500
  - id: trends
    command: [export, trends, --format, csv, --out, t.csv]
    cron: "0 4 1 * *"
"""))
    assert [j.id for j in jobs] == ["nightshade-6h", "trends"]
    assert jobs[0].command == ["crawl", "nightshade", "--budget", "500"]
    assert jobs[0].every_seconds == 21600
    assert jobs[1].cron == "0 4 1 * *"


@pytest.mark.parametrize(
    ("body", "where", "field"),
    [
        ("jobs:\n  - id: a\n    site: x\n    every: 6h\n  - id: b\n    site: y\n    evry: 1h\n", ":5:", "jobs[1].evry: unknown field"),
        ("jobs:\n  - id: a\n    site: x\n    cron: '99 * * * *'\n", ":2:", "jobs[0].cron"),
        ("jobs:\n  - id: a\n    site: x\n", ":2:", "exactly one of 'every' or 'cron'"),
        ("jobs:\n  - id: a\n    site: x\n    every: 1h\n  - id: a\n    site: y\n    every: 1h\n", ":5:", "duplicate job id"),
        ("jobs:\n  - id: a\n    command: [schedule, run]\n    every: 1h\n", ":2:", "cannot be scheduled"),
        ("jobs: [\n", ":", "invalid YAML"),
        ("nothing: here\n", ":1:", "top-level 'jobs:' list"),
    ],
    ids=["typo-field", "bad-cron", "no-trigger", "duplicate-id", "recursive", "broken-yaml", "no-jobs"],
)
def test_invalid_files_name_file_line_field(tmp_path: Path, body: str, where: str, field: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ScheduleError) as info:
        load_jobs(path)
    message = str(info.value)
    assert message.startswith(str(path) + where), message
    assert field in message


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScheduleError, match="cannot read jobs file"):
        load_jobs(tmp_path / "absent.yaml")
