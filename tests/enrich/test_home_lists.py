"""Lists the installation writes itself ($TRAWL_HOME/lists: the web app's candidate mappings)
are loaded by default, and a new file there is seen without restarting the process."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from enrich.lists import default_lists, default_paths
from enrich.matcher import match
from enrich.normalize import name_key

MAPPING = '''source: "trawl web app: analysts' candidate mappings"
source_url: "https://example.org/local"
as_of: "2026-11-30"
version: "1"
instrument: "other"
entries:
  - {name: alpha-pvp, class: synthetic cathinone, synonyms: [zeta-flakka-x]}
'''


def test_home_lists_load_by_default_and_a_new_mapping_is_seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAWL_HOME", str(tmp_path))
    monkeypatch.delenv("TRAWL_CONTROL_LISTS", raising=False)
    assert tmp_path / "lists" not in default_paths()
    assert [m.canonical for m in match("zeta-flakka-x crystals 5g")] != ["alpha-pvp"]

    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "candidate-mappings.yaml").write_text(MAPPING, encoding="utf-8")
    time.sleep(1.1)  # default_lists() looks at the folder at most once a second

    assert tmp_path / "lists" in default_paths()
    assert name_key("zeta-flakka-x") in default_lists().names
    assert [m.canonical for m in match("zeta-flakka-x crystals 5g")] == ["alpha-pvp"]
