"""Gates, politeness and mirrors against real servers: a captcha pauses the site (alert,
no hammering) until a human's cookies are imported; 429 Retry-After is honoured; a dead
mirror is rotated away from and the serving mirror is recorded; CLI errors are one line."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.crawler.conftest import REPO, crawl_env, trawl
from tests.crawler.loopback_site import LoopbackSite

QUIRKY_YAML = """\
name: quirky
kind: vendor-shop
network: clearnet
mirrors: ["${QUIRKY_URL}"]
start_urls: [/]
gates:
  - name: captcha
    type: captcha
    markers: ["css:img.captcha"]
throttle: {concurrency: 2, delay: 0, retry_after_max: 5}
navigation:
  listing_links: "a.item::attr(href)"
listing:
  url_pattern: '^/item/\\d+$'
  id_from_url: '^/item/(\\d+)'
  fields:
    title: "h1"
    price: "span.price"
"""


class Quirky(LoopbackSite):
    """/ lists two items; /item/1 answers 429 (Retry-After: 1) once; without the cookie a
    human got by solving the captcha, every page is a captcha page."""

    def __init__(self, queue: bool = False) -> None:
        super().__init__(self.handle)
        self.queue = queue  # a meta-refresh "waiting room" in front instead of the captcha
        self.hits: list[tuple[float, str]] = []
        self.limited = False

    async def handle(self, request: web.Request) -> web.Response:
        self.hits.append((time.monotonic(), request.path))
        if self.queue and request.path == "/queue-pass":
            response = web.HTTPFound("/")
            response.set_cookie("cf_clearance", "human-ok")
            raise response
        if self.queue and request.cookies.get("cf_clearance") != "human-ok":
            return web.Response(text="<html><head><meta http-equiv='refresh' content='1;url=/queue-pass'></head>"
                                "<body>You are in the queue, please wait</body></html>", content_type="text/html")
        if request.cookies.get("cf_clearance") != "human-ok":
            return web.Response(text="<html><body><img class='captcha' src='/c.png'><form><input name='c'></form></body></html>",
                                content_type="text/html")
        if request.path == "/":
            return web.Response(text="<a class='item' href='/item/1'>1</a><a class='item' href='/item/2'>2</a>",
                                content_type="text/html")
        if request.path == "/item/1" and not self.limited:
            self.limited = True
            return web.Response(status=429, headers={"Retry-After": "1"}, text="slow down")
        number = request.path.rsplit("/", 1)[-1]
        return web.Response(text=f"<h1>Item {number}</h1><span class='price'>$1{number}.00</span>", content_type="text/html")

    def start(self) -> None:
        self.__enter__()

    def stop(self) -> None:
        self.__exit__()


@pytest.fixture
def quirky(tmp_path: Path) -> Iterator[tuple[Quirky, dict[str, str]]]:
    server = Quirky()
    server.start()
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "quirky.yaml").write_text(QUIRKY_YAML)
    env = crawl_env(tmp_path / "home", {"QUIRKY_URL": server.url, "TRAWL_SITES_DIR": str(sites)})
    try:
        yield server, env
    finally:
        server.stop()


def test_captcha_pauses_then_human_cookies_unlock(quirky: tuple[Quirky, dict[str, str]], tmp_path: Path) -> None:
    server, env = quirky
    first = trawl(["crawl", "quirky", "--json"], env)
    assert first.returncode == 3, first.stderr[-2000:]  # paused: waiting for a human
    stats = json.loads(first.stdout.strip().splitlines()[-1])
    assert stats["status"] == "paused" and "captcha" in stats["paused_reason"] and stats["gate_hits"] == 1
    assert len(server.hits) == 1  # paused at the first captcha: no hammering
    alert = json.loads((tmp_path / "home" / "alerts.jsonl").read_text().splitlines()[-1])
    assert alert["kind"] == "site_paused" and alert.get("site", alert.get("data", {}).get("site")) == "quirky"

    refused = trawl(["crawl", "quirky"], env)
    assert refused.returncode == 3 and "is paused" in refused.stderr and len(server.hits) == 1
    assert len(refused.stderr.strip().splitlines()) == 1

    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tcf_clearance\thuman-ok\n")
    assert trawl(["sites", "cookies", "import", "quirky", str(cookies)], env).returncode == 0
    assert "unpaused" in trawl(["sites", "unpause", "quirky"], env).stdout
    second = trawl(["crawl", "quirky", "--resume", "--json"], env)
    assert second.returncode == 0, second.stderr[-2000:]
    stats = json.loads(second.stdout.strip().splitlines()[-1])
    assert stats["status"] == "finished" and stats["listings"] == 2
    # 429 with Retry-After: 1 -> the retry of /item/1 waited at least a second
    times = [t for t, path in server.hits if path == "/item/1"]
    assert len(times) == 2 and times[1] - times[0] >= 0.95, times
    assert stats["rate_limited"] == 1


def test_dead_mirror_is_rotated_and_recorded(testbed: Any, tmp_path: Path) -> None:
    shipped = (REPO / "crawler" / "sites" / "nightshade.yaml").read_text()
    down = testbed.sites["nightshade"].down_mirrors[0].rstrip("/")
    lines = shipped.splitlines()
    start = lines.index("mirrors:")
    mirrors = [line for line in lines[start + 1:start + 4]]
    dead = next(m for m in mirrors if down in m)
    reordered = [dead] + [m for m in mirrors if m != dead]
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "nightshade.yaml").write_text("\n".join(lines[:start + 1] + reordered + lines[start + 4:]) + "\n")
    env = crawl_env(tmp_path / "home", {**testbed.env(), "TRAWL_SITES_DIR": str(sites)})
    run = trawl(["crawl", "nightshade", "--budget", "12", "--json"], env)
    assert run.returncode == 0, run.stderr[-2000:]
    stats = json.loads(run.stdout.strip().splitlines()[-1])
    assert stats["mirror_rotations"] == 1
    assert down not in "".join(stats["mirrors"]) and sum(stats["mirrors"].values()) == stats["pages"]
    assert stats["listings"] > 0
    refused = [r for r in testbed.gateway_log if r.host == down.split("//")[1]]
    assert refused and all(r.outcome != "connected" for r in refused)


def test_cli_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    env = crawl_env(tmp_path / "home")
    unknown = trawl(["crawl", "nosuchsite"], env)
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: site 'nosuchsite'")
    assert len(unknown.stderr.strip().splitlines()) == 1
    broken = tmp_path / "sites"
    broken.mkdir()
    (broken / "bad.yaml").write_text(QUIRKY_YAML.replace("name: quirky", "name: bad").replace("kind:", "knd:"))
    env["TRAWL_SITES_DIR"] = str(broken)
    env["QUIRKY_URL"] = "http://127.0.0.1:9"
    crawl = trawl(["crawl", "bad"], env)
    assert crawl.returncode == 2 and len(crawl.stderr.strip().splitlines()) == 1
    assert f"{broken / 'bad.yaml'}:2: knd: unknown key" in crawl.stderr
    check = trawl(["sites", "check", str(broken / "bad.yaml")], env)
    assert check.returncode == 2 and f"{broken / 'bad.yaml'}:2: knd: unknown key (did you mean 'kind'?)" in check.stderr
    for command in (["crawl", "--help"], ["sites", "--help"], ["runs", "--help"], ["sites", "test", "--help"],
                    ["sites", "cookies", "import", "--help"], ["sites", "unpause", "--help"], ["sites", "check", "--help"]):
        assert "Example:" in trawl(command, env).stdout, command


def test_wrong_password_pauses_without_hammering(testbed: Any, tmp_path: Path) -> None:
    env = crawl_env(tmp_path / "home", {**testbed.env(), "TRAWL_TESTBED_PASSWORD": "not-the-password"})
    start = len(testbed.request_log)
    run = trawl(["crawl", "nightshade", "--json"], env)
    assert run.returncode == 3, run.stderr[-2000:]  # paused: waiting for a human
    stats = json.loads(run.stdout.strip().splitlines()[-1])
    assert stats["status"] == "paused" and "login failed" in stats["paused_reason"]
    posts = [e for e in testbed.request_log[start:] if e[0] == "nightshade" and e[1] == "POST" and e[2] == "/login"]
    assert len(posts) == 2  # login.max_attempts, then stop
    assert "not-the-password" not in run.stderr + run.stdout


def test_meta_refresh_wait_gate_is_passed(tmp_path: Path) -> None:
    server = Quirky(queue=True)
    server.start()
    try:
        sites = tmp_path / "sites"
        sites.mkdir()
        gate = ("  - name: queue\n    type: wait\n    markers: ['text:You are in the queue']\n"
                "    pass_meta_refresh: true\n")
        (sites / "quirky.yaml").write_text(QUIRKY_YAML.replace("gates:\n", "gates:\n" + gate))
        env = crawl_env(tmp_path / "home", {"QUIRKY_URL": server.url, "TRAWL_SITES_DIR": str(sites)})
        run = trawl(["crawl", "quirky", "--json"], env)
        assert run.returncode == 0, run.stderr[-2000:]
        stats = json.loads(run.stdout.strip().splitlines()[-1])
        assert stats["status"] == "finished" and stats["listings"] == 2 and stats["gate_hits"] == 1
        first, passed = [t for t, path in server.hits if path in ("/", "/queue-pass")][:2]
        assert passed - first >= 0.95  # waited the refresh delay the page asked for
    finally:
        server.stop()
