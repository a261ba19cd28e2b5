"""Hostile site definitions and hostile pages stay bounded: YAML bombs, deep nesting and
binary files give a one-line FILE:LINE error; YAML regexes run in linear time (RE2) or
are refused naming the field; a page over its extraction budget is dropped by name."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.crawler.conftest import REPO, crawl_env, trawl
from tests.crawler.loopback_site import LoopbackSite, html

MINIMAL = """\
name: demo
kind: vendor-shop
network: clearnet
mirrors: ["http://127.0.0.1:9"]
start_urls: [/]
listing:
  url_pattern: '^/item/'
  fields:
    title: "h1"
"""


def _check(path: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`trawl sites check PATH` in a subprocess, bounded: a hang fails the test."""
    return subprocess.run([sys.executable, "-m", "trawl.cli", "sites", "check", str(path)],
                          env=crawl_env(tmp_path / "home"), cwd=REPO, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def _alias_bomb() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 9) + "]")
    return MINIMAL + "\n".join(lines) + "\n"


HOSTILE = {
    "alias_bomb": (_alias_bomb(), "aliases expand to more than"),
    "deep_flow": ("name: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than 100 levels"),
    "deep_block": ("a:\n" + "".join(" " * i + "b:\n" for i in range(1, 400)), "nested deeper than 100 levels"),
    "self_alias": ("a: &x [1, *x]\n", "alias *x refers to a node that contains it"),
    "many_nodes": ("k: [" + ",".join(["1"] * 30000) + "]\n", "more than 20000 nodes"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_yaml_is_one_line_error(case: str, tmp_path: Path) -> None:
    text, reason = HOSTILE[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    proc = _check(path, tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith(f"{path}:") and reason in lines[0], lines
    assert len(lines) == 2  # the problem, then "error: 1 problem(s) ..."


@pytest.mark.parametrize("content, reason", [
    (b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)) * 8, ":1: (file): binary content"),
    (b"name: demo\nkind: \xff\xfe caf\xe9\n", ":2: (file): not UTF-8 text"),
    (b"name: demo\n" + b"# padding\n" * 120_000, "a site YAML may be at most"),
])
def test_binary_undecodable_and_huge_files_are_refused(content: bytes, reason: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    proc = _check(path, tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"{path}") and reason in proc.stderr.splitlines()[0], proc.stderr


def test_unsupported_regex_syntax_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(MINIMAL.replace('    title: "h1"', '    title: "h1"\n    price: {select: "b", re: \'(\\d)\\1\'}')
                    + "deny: ['(?!x)y']\ngates:\n  - {name: g, type: captcha, markers: ['url:a(?<=b)']}\n")
    proc = _check(path, tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{path}:10: listing.fields.price: bad regular expression" in proc.stderr
    assert "backreferences are not supported" in proc.stderr
    assert f"{path}:11: deny[0]: bad regular expression '(?!x)y'" in proc.stderr
    assert f"{path}:13: gates[0].markers[0]: bad url marker regex" in proc.stderr


CATASTROPHIC = """\
import time
from parsel import Selector
from crawler.sitedef.siteconfig import load_site_file
from crawler.sitedef.pages import PageInput, SelectorPage
site = load_site_file({path!r})
text = "a" * 200_000 + "b"
page = PageInput("http://127.0.0.1:9/item/1", "<html><body><h1>" + text + "</h1><p>" + text + "</p></body></html>")
fields = SelectorPage(page, site.listing, site).extract().fields
print(fields["title"] is None, fields["price"] is None, site.url_allowed("/item/" + text))
"""


def test_catastrophic_regexes_run_in_linear_time(tmp_path: Path) -> None:
    """`^(a+)+$` and `(a+)+$` take exponential time in Python's re on "aaa…b"; with RE2
    the same YAML finishes at once (a hang here is a subprocess timeout, not a slow pass)."""
    path = tmp_path / "demo.yaml"
    path.write_text(MINIMAL.replace('    title: "h1"', '    title: {select: "h1", re: \'^(a+)+$\'}\n'
                                    '    price: {select: "p", re: \'(a+)+$\'}') + "deny: ['(a+)+$']\n")
    script = tmp_path / "probe.py"
    script.write_text(CATASTROPHIC.format(path=str(path)))
    proc = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env=crawl_env(tmp_path / "home"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    # ^(a+)+$ cannot match "a…ab"; (a+)+$ cannot either (the text ends in b); the URL is allowed
    assert proc.stdout.split() == ["True", "True", "True"]


ITEM_SITE = """\
name: {name}
kind: vendor-shop
network: clearnet
mirrors: ["${{LOOPBACK_URL}}"]
start_urls: [/]
throttle: {throttle}
navigation:
  listing_links: "a.item::attr(href)"
listing:
  url_pattern: '^/item/\\d+'
  fields:
    title: "h1"
"""


def _crawl_item_site(tmp_path: Path, name: str, throttle: str, home_links: str) -> tuple[LoopbackSite, dict[str, Any]]:
    """`trawl crawl` of a loopback site whose home page holds `home_links` and whose other pages
    are items; returns the site (its request log) and the run's summary."""
    async def handler(request: web.Request) -> web.StreamResponse:
        return html(home_links if request.path == "/" else "<h1>Item</h1>")

    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / f"{name}.yaml").write_text(ITEM_SITE.format(name=name, throttle=throttle))
    with LoopbackSite(handler) as site:
        env = crawl_env(tmp_path / "home", {"LOOPBACK_URL": site.url, "TRAWL_SITES_DIR": str(sites)})
        run = trawl(["crawl", name, "--json"], env, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    return site, json.loads(run.stdout.strip().splitlines()[-1])


def test_page_over_extraction_budget_is_dropped_by_name(tmp_path: Path) -> None:
    """A crawl whose pages all exceed a (tiny) extraction budget: each page is dropped as
    `extraction_budget`, counted in the run, and the crawl still finishes."""
    site, summary = _crawl_item_site(tmp_path, "budget", "{delay: 0, extract_budget: 0.000000001}",
                                     "<a class='item' href='/item/1'>1</a>")
    assert summary["status"] == "finished"
    assert summary["drops_by_reason"] == {"extraction_budget": 1}  # the start page, before its links
    assert site.paths() == ["/"]
    assert summary["listings"] == 0


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    import os

    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)  # opening it for reading would wait for a writer forever
    proc = _check(path, tmp_path)
    assert proc.returncode == 2 and f"{path}:1: (file): not a regular file" in proc.stderr


def test_secrets_file_has_the_same_bounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.errors import TrawlError
    from crawler.engine.session import load_credentials
    from crawler.sitedef.siteconfig import LoginConfig

    secrets = tmp_path / "secrets.yaml"
    monkeypatch.setenv("TRAWL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TRAWL_SECRETS_FILE", str(secrets))
    login = LoginConfig(url="/login", username_env="NO_SUCH_USER_VAR", password_env="NO_SUCH_PASSWORD_VAR")
    secrets.write_text("demo: {username: u, password: pw-1234}\n")
    creds = load_credentials("demo", login)
    assert creds is not None and creds.password == "pw-1234"
    secrets.write_text(_alias_bomb().replace("name: demo", "demo: {username: u, password: pw-1234}"))
    with pytest.raises(TrawlError, match=r"secrets\.yaml:\d+: \(file\): aliases expand to more than"):
        load_credentials("demo", login)


def test_links_longer_than_a_browser_takes_are_not_followed(tmp_path: Path) -> None:
    """A link over 2083 characters (what Scrapy's URL-length middleware refused; trawl's spider
    checks it itself) is counted as `trawl/links/too_long` and never requested."""
    long_path = "/item/2?q=" + "x" * 2100
    site, summary = _crawl_item_site(tmp_path, "longurl", "{delay: 0}",
                                     f"<a class='item' href='/item/1'>1</a><a class='item' href='{long_path}'>2</a>")
    stats = json.loads((Path(summary["run_dir"]) / "stats.json").read_text())["stats"]
    assert site.paths() == ["/", "/item/1"]
    assert stats["trawl/links/too_long"] == 1
