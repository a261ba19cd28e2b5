"""`trawl lists show|check` and the one-line error with exit code 2."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from enrich.lists import DATA_DIR
from tests.conftest import REPO_ROOT
from trawl.enrich_cli import lists


def test_lists_show_json() -> None:
    result = CliRunner().invoke(lists, ["show", "--json", "--substances"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {info["instrument"] for info in data["lists"]} >= {"1961", "1971", "1988", "issl", "nps-ews"}
    assert all(info["as_of"] and info["source"] and info["version"] for info in data["lists"])
    by_name = {s["name"]: s for s in data["substance_list"]}
    assert by_name["mephedrone"]["controls"] == ["1971:II"] and by_name["cocaine"]["cas"] == "50-36-2"


def test_lists_check_ok_and_bad(tmp_path: Path) -> None:
    ok = CliRunner().invoke(lists, ["check", str(DATA_DIR / "un_1988.yaml")])
    assert ok.exit_code == 0 and "ok" in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text('source: s\nsource_url: u\nas_of: "2025-13"\nversion: "1"\ninstrument: "1971"\nentries:\n  - {name: x, class: y, schedule: VII}\n')
    proc = subprocess.run([sys.executable, "-m", "trawl.cli", "lists", "check", str(bad)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert f"{bad}:1: header field 'as_of' must be YYYY-MM-DD" in proc.stderr
    assert f"{bad}:7: field 'schedule'" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: 2 error(s)")
