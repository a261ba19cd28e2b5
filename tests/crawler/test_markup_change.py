"""A site changed its class names: the shipped YAML loses fields (and says so), an edited
YAML — no code change — brings them back.  The variant site is a small aiohttp proxy in
front of the testbed's pillhub that renames classes in every page."""
from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.crawler.conftest import REPO, crawl_env, trawl
from trawl.accuracy import compare, format_table

RENAMES = {'class="product-name"': 'class="med-title"', 'pack-price price': 'pkg-cost price'}


class RenamingProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.loop = asyncio.new_event_loop()
        self.url = ""
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def handle(self, request: web.Request) -> web.Response:
        async with aiohttp.ClientSession() as session:
            async with session.get(self.upstream + request.path_qs, allow_redirects=False) as upstream:
                body = await upstream.text()
                for old, new in RENAMES.items():
                    body = body.replace(old, new)
                return web.Response(text=body, status=upstream.status, content_type=upstream.content_type)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        self.loop.run_forever()

    def __enter__(self) -> RenamingProxy:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


@pytest.fixture(scope="module")
def variant(testbed: Any) -> Iterator[str]:
    with RenamingProxy(testbed.sites["pillhub"].base_url) as proxy:
        yield proxy.url


def _listings(home: Path) -> list[Any]:
    from index.sqlite_backend import SqliteBackend

    if not (home / "index.sqlite").exists():
        return []
    backend = SqliteBackend(home / "index.sqlite")
    try:
        return list(backend.iter_listings())
    finally:
        backend.close()


def test_changed_markup_is_fixed_in_yaml_only(testbed: Any, variant: str, tmp_path: Path) -> None:
    truth = testbed.truth("pillhub")
    env = crawl_env(tmp_path / "home", {**testbed.env(), "TRAWL_TESTBED_PILLHUB_URL": variant})

    broken = trawl(["crawl", "pillhub", "--json"], env)
    assert broken.returncode == 0, broken.stderr[-2000:]
    stats = json.loads(broken.stdout.strip().splitlines()[-1])
    # reported, not silent: every listing page dropped for its title, price selector matched nothing
    assert stats["drops_by_reason"] == {"missing_title": len(truth)}
    assert stats["fields_missing"]["listing/title"] == len(truth)
    assert stats["fields_missing"]["listing/price"] == len(truth)
    assert _listings(tmp_path / "home") == []
    from crawler.engine.run import RunResult

    line = RunResult(stats["run_id"], "pillhub", Path(stats["run_dir"]), stats["status"], stats).summary_line()
    assert f"missing_title={len(truth)}" in line and f"listing/price={len(truth)}" in line

    shipped = (REPO / "crawler" / "sites" / "pillhub.yaml").read_text(encoding="utf-8")
    edited = shipped.replace('"h1.product-name"', '"h1.med-title"').replace("td.pack-price", "td.pkg-cost")
    assert edited != shipped
    sites_dir = tmp_path / "sites"
    sites_dir.mkdir()
    (sites_dir / "pillhub.yaml").write_text(edited, encoding="utf-8")
    env["TRAWL_SITES_DIR"] = str(sites_dir)
    assert trawl(["sites", "check", str(sites_dir / "pillhub.yaml")], env).returncode == 0

    fixed = trawl(["crawl", "pillhub", "--json"], env)
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    stats = json.loads(fixed.stdout.strip().splitlines()[-1])
    assert stats["drops_by_reason"] == {} and "listing/title" not in stats["fields_missing"]
    result = compare("pillhub", truth, _listings(tmp_path / "home"))
    print("\nafter the YAML fix:\n" + format_table([result]))
    assert result.found == len(truth)
    assert result.fields["title"].accuracy == result.fields["price"].accuracy == 1.0


def test_sites_test_shows_field_and_snippet(testbed: Any, variant: str, tmp_path: Path) -> None:
    env = crawl_env(tmp_path / "home", {**testbed.env(), "TRAWL_TESTBED_PILLHUB_URL": variant})
    item = testbed.truth("pillhub")[0]
    shipped = str(REPO / "crawler" / "sites" / "pillhub.yaml")
    out = trawl(["sites", "test", shipped, item["url"]], env, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "(MISSING)" in out.stdout and "missing fields: title, price" in out.stdout
    assert item["vendor"] in out.stdout and 'class="logo"' in out.stdout  # value beside its HTML
    as_json = json.loads(trawl(["sites", "test", shipped, item["url"], "--json"], env, timeout=60).stdout)
    assert as_json["kind"] == "listing" and as_json["fields"]["native_id"] == item["native_id"]
    assert as_json["fields"]["title"] is None
