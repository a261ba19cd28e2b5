"""`trawl demo` end to end (one crawl per site): the slice a new user runs first."""
from __future__ import annotations

from pathlib import Path

import pytest

from dashboards.demo import DEMO_SITES, run_demo


def test_demo_crawls_indexes_and_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRAWL_INDEX_URL", raising=False)
    lines: list[str] = []
    report = run_demo(tmp_path / "home", echo=lines.append, revisit=False)
    output = "\n".join(lines)
    assert [c["exit_code"] for c in report["crawls"]] == [0] * len(DEMO_SITES), output
    for site in DEMO_SITES:
        accuracy = report["accuracy"][site]
        assert accuracy["found"] == accuracy["truth"] > 0, output
        assert accuracy["title"] == accuracy["price"] == accuracy["vendor"] == 1.0, output
    searches = {s["label"]: s for s in report["searches"]}
    assert all(s["total"] > 0 for s in searches.values()), output
    assert any("mephedrone" in row["group"].get("substance", "") for row in report["trend"]), output
    assert (tmp_path / "home" / "index.sqlite").exists()
    assert "onion gateway CONNECTs" in output
