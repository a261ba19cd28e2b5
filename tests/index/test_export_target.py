"""`trawl export --out`: never clobbers by surprise, never replaces a device, '-' is stdout.

The CLI runs for real (`python -m trawl.cli`, so exit codes and stdout are the
user's) over a real SQLite index."""
from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from core.records import Records
from index import open_index
from testbed.synthetic_index import generate

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("trawl-home")
    data = generate(n_listings=30, days=20)
    with open_index(f"sqlite:///{home / 'index.sqlite'}") as backend:
        backend.write(Records(listings=data.listings, snapshots=data.snapshots, vendors=data.vendors,
                      candidates=data.candidates))
    environment = {**os.environ, "TRAWL_HOME": str(home)}
    environment.pop("TRAWL_INDEX_URL", None)
    return environment


def trawl(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "trawl.cli", *args], cwd=cwd,
                          env={**env, "PYTHONPATH": str(REPO)},
                          capture_output=True, timeout=120, check=False)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


def test_existing_file_needs_force(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "listings.csv"
    out.write_text("keep me\n")
    refused = trawl(env, tmp_path, "export", "listings", "--out", str(out))
    assert refused.returncode == 2
    assert refused.stderr.decode().strip() == f"error: --out {out}: file exists; add --force to replace it"
    assert out.read_text() == "keep me\n" and not out.with_name("listings.csv.meta.json").exists()

    forced = trawl(env, tmp_path, "export", "listings", "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    meta = json.loads(out.with_name("listings.csv.meta.json").read_text())
    assert meta["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest() and meta["row_count"] == 30
    assert leftovers(tmp_path) == []

    # the sidecar follows the same rules: it exists now, so a second run without --force is refused
    out.unlink()
    again = trawl(env, tmp_path, "export", "listings", "--out", str(out))
    assert again.returncode == 2 and b"listings.csv.meta.json: file exists" in again.stderr
    assert not out.exists()


def test_a_failed_export_leaves_the_old_file_and_no_partial(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "trend.csv"
    out.write_text("previous export\n")
    failed = trawl(env, tmp_path, "export", "trends", "--by", "colour", "--out", str(out), "--force")
    assert failed.returncode == 2 and b"colour" in failed.stderr
    assert out.read_text() == "previous export\n" and leftovers(tmp_path) == []


def test_character_device_is_refused_and_stays_a_device(env: dict[str, str], tmp_path: Path) -> None:
    before = os.stat("/dev/null")
    for extra in ((), ("--force",)):
        result = trawl(env, tmp_path, "export", "listings", "--out", "/dev/null", *extra)
        assert result.returncode == 2
        assert b"/dev/null: is a character device" in result.stderr
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino
    assert not Path("/dev/null.meta.json").exists()


@pytest.mark.parametrize("kind", ["fifo", "directory", "symlink"])
def test_other_non_regular_targets_are_refused(env: dict[str, str], tmp_path: Path, kind: str) -> None:
    target = tmp_path / f"target-{kind}"
    if kind == "fifo":
        os.mkfifo(target)  # opening it for writing would block forever: the export must never try
    elif kind == "directory":
        target.mkdir()
    else:
        (tmp_path / "real.csv").write_text("real\n")
        target.symlink_to(tmp_path / "real.csv")
    result = trawl(env, tmp_path, "export", "listings", "--out", str(target), "--force")
    assert result.returncode == 2, result.stderr
    expected = {"fifo": "a FIFO", "directory": "a directory", "symlink": "a symbolic link"}[kind]
    assert f"is {expected}" in result.stderr.decode()
    assert leftovers(tmp_path) == []
    if kind == "fifo":
        assert stat.S_ISFIFO(os.lstat(target).st_mode)
    if kind == "symlink":
        assert target.is_symlink() and (tmp_path / "real.csv").read_text() == "real\n"


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_dash_is_stdout(env: dict[str, str], tmp_path: Path, fmt: str) -> None:
    meta = tmp_path / "stdout.meta.json"
    result = trawl(env, tmp_path, "export", "listings", "--format", fmt, "--out", "-", "--meta", str(meta))
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "-").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["stdout.meta.json"]
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 30 + (fmt == "csv")
    if fmt == "jsonl":
        assert all(json.loads(line)["listing_id"] for line in lines)
    sidecar = json.loads(meta.read_text())
    assert sidecar["file"] == "-" and sidecar["row_count"] == 30
    assert sidecar["sha256"] == hashlib.sha256(result.stdout).hexdigest()
    assert b"wrote 30 rows to stdout" in result.stderr


def test_dash_without_meta_and_parquet_to_stdout(env: dict[str, str], tmp_path: Path) -> None:
    plain = trawl(env, tmp_path, "export", "snapshots", "--format", "csv", "--out", "-", "--site", "vortex")
    assert plain.returncode == 0 and plain.stdout.startswith(b"snapshot_id,") and list(tmp_path.iterdir()) == []
    parquet = trawl(env, tmp_path, "export", "listings", "--format", "parquet", "--out", "-")
    assert parquet.returncode == 2 and parquet.stdout == b""
    assert b"parquet cannot be streamed to stdout" in parquet.stderr
    assert list(tmp_path.iterdir()) == []


def test_sidecar_cannot_be_the_export_itself(env: dict[str, str], tmp_path: Path) -> None:
    result = trawl(env, tmp_path, "export", "listings", "--out", "same.csv", "--meta", "./same.csv", "--force")
    assert result.returncode == 2 and b"is the --out file itself" in result.stderr
    assert list(tmp_path.iterdir()) == []
