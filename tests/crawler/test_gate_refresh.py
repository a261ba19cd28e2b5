"""A meta-refresh waiting room written the short way, `content="2; /login"` (no `url=`,
valid HTML, seen on a real market), is passed like a browser would: the crawl follows the
target once, after the delay, instead of re-requesting the gate until it pauses."""
from __future__ import annotations

import doctest
import json
import time
from pathlib import Path

from aiohttp import web

from crawler.engine import session
from crawler.engine.session import parse_meta_refresh
from tests.crawler.conftest import crawl_env, trawl
from tests.crawler.test_gates import QUIRKY_YAML, Quirky

GATE = ("  - name: queue\n    type: wait\n    markers: ['text:You are in the queue']\n"
        "    pass_meta_refresh: true\n")


class ShortRefreshQueue(Quirky):
    """Every page is a waiting room until /login hands out the clearance cookie; the
    refresh names its target without `url=`."""

    async def handle(self, request: web.Request) -> web.Response:
        if request.path == "/login":
            self.hits.append((time.monotonic(), request.path))
            response = web.HTTPFound("/")
            response.set_cookie("cf_clearance", "human-ok")
            raise response
        if request.cookies.get("cf_clearance") != "human-ok":
            self.hits.append((time.monotonic(), request.path))
            return web.Response(text="<html><head><META HTTP-EQUIV='Refresh' CONTENT='2; /login'></head>"
                                "<body>You are in the queue, please wait</body></html>", content_type="text/html")
        return await super().handle(request)


def test_parser_examples_hold() -> None:
    result = doctest.testmod(session, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8 and result.failed == 0


def test_every_valid_form_is_read() -> None:
    cases = {
        "0;url=/x": (0.0, "/x"),
        "2; /login": (2.0, "/login"),
        "5 ; URL='/x'": (5.0, "/x"),
        "3;url=\"http://a.onion/b?c=1\"": (3.0, "http://a.onion/b?c=1"),
        "\t1,\n  /next ": (1.0, "/next"),
        "8": (8.0, None),
        "0; url = ../up.html": (0.0, "../up.html"),
    }
    assert {content: parse_meta_refresh(content) for content in cases} == cases
    assert [parse_meta_refresh(c) for c in ("", "soon", "url=/x", "2x")] == [None] * 4


def test_short_form_refresh_gate_is_passed(tmp_path: Path) -> None:
    server = ShortRefreshQueue()
    server.start()
    try:
        sites = tmp_path / "sites"
        sites.mkdir()
        (sites / "quirky.yaml").write_text(QUIRKY_YAML.replace("gates:\n", "gates:\n" + GATE))
        env = crawl_env(tmp_path / "home", {"QUIRKY_URL": server.url, "TRAWL_SITES_DIR": str(sites)})
        run = trawl(["crawl", "quirky", "--json"], env)
        assert run.returncode == 0, run.stderr[-2000:]
        stats = json.loads(run.stdout.strip().splitlines()[-1])
        assert stats["status"] == "finished" and stats["listings"] == 2 and stats["gate_hits"] == 1
        paths = [path for _, path in server.hits]
        # one gate page, then its refresh target: the gate is not asked for again
        assert paths[:3] == ["/", "/login", "/"] and paths.count("/login") == 1
        assert server.hits[1][0] - server.hits[0][0] >= 1.95  # waited the 2 s the page asked for
    finally:
        server.stop()
