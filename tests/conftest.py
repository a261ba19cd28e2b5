"""Fixtures shared by every test area."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = Path(os.environ.get("TRAWL_REAL_DATA", REPO_ROOT.parent / "shared" / "real-data"))


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """Public real-world pages and substance lists (CI has them beside the clone)."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real data not found at {REAL_DATA} (set TRAWL_REAL_DATA to its folder)")
    return REAL_DATA


@pytest.fixture
def trawl_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty $TRAWL_HOME for one test."""
    home = tmp_path / "trawl-home"
    home.mkdir()
    monkeypatch.setenv("TRAWL_HOME", str(home))
    return home
