"""crawler.engine.spawn: the argv the dashboard, the scheduler and the demo run a crawl with
parses, through the real `trawl crawl` command, to the options it was built from."""
from __future__ import annotations

import sys

from crawler.engine.cli import crawl
from crawler.engine.spawn import crawl_command, trawl_command


def test_crawl_command_parses_back_to_its_options() -> None:
    argv = crawl_command("vortex", clock="2026-08-03T12:00:00Z", budget=8, resume=True, json_summary=True,
                         progress=True)
    assert argv[:3] == [sys.executable, "-m", "trawl.cli"] and argv[3] == "crawl"
    params = crawl.make_context("crawl", argv[4:]).params
    assert (params["site"], params["clock"], params["budget"], params["resume"], params["as_json"],
            params["progress"]) == ("vortex", "2026-08-03T12:00:00Z", 8, True, True, True)


def test_a_site_name_is_never_an_option() -> None:
    argv = crawl_command("--help", python="/opt/py")
    assert argv == ["/opt/py", "-m", "trawl.cli", "crawl", "--", "--help"]
    assert crawl.make_context("crawl", argv[4:]).params["site"] == "--help"
    assert trawl_command(["export", "trends"]) == [sys.executable, "-m", "trawl.cli", "export", "trends"]
