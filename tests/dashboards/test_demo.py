"""`trawl demo` end to end (one crawl per site): the slice a new user runs first."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from trawl.demo import DEMO_SITES, run_demo


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


def test_demo_crawl_shows_the_progress_line_on_a_terminal(tmp_path: Path) -> None:
    """crawl_site(progress=True), as run_demo does on a terminal: the crawl's stderr is the
    terminal (live progress line), its JSON summary still comes back on stdout."""
    import os
    import subprocess
    import sys
    import threading

    from testbed.server import run_testbed

    repo = Path(__file__).resolve().parents[2]
    sites = tmp_path / "sites"
    sites.mkdir()
    shipped = (repo / "crawler" / "sites" / "vortex.yaml").read_text(encoding="utf-8")
    assert "  page_budget: 1000\n" in shipped
    (sites / "vortex.yaml").write_text(shipped.replace("  page_budget: 1000\n", "  page_budget: 6\n"), encoding="utf-8")
    code = ("import json, os; from trawl.demo import crawl_site; "
            "s = crawl_site('vortex', day=0, env=dict(os.environ), progress=True); "
            "print(json.dumps([s.exit_code, s.stats.get('status'), s.stats.get('pages'), s.error, s.stats.get('failure')]))")
    with run_testbed(port=0, day=0, seed=1) as tb:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRAWL_")}
        env |= {**tb.env(), "TRAWL_HOME": str(tmp_path / "home"), "TRAWL_SITES_DIR": str(sites),
                "TRAWL_PROFILE": "test", "TERM": "xterm", "PYTHONPATH": str(repo)}
        master, slave = os.openpty()
        proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=repo, stdout=subprocess.PIPE,
                                stderr=slave, stdin=subprocess.DEVNULL)
        os.close(slave)
        chunks: list[bytes] = []

        def drain() -> None:
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
        stdout, _ = proc.communicate(timeout=240)
        reader.join(30)
        os.close(master)
    terminal = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0, terminal[-2000:]
    exit_code, status, pages, *why = json.loads(stdout.decode().strip().splitlines()[-1])
    assert exit_code == 0 and status == "budget_reached" and pages >= 6, (why, terminal[-1500:])
    assert "vortex" in terminal and "pages/s" in terminal and "/6 pages" in terminal, terminal[-2000:]
