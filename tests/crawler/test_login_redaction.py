"""A site whose login form submits by GET: trawl refuses unless the YAML allows it, and
when allowed the password reaches the site but no byte of it lands in the WARCs, the
manifest, the debug log or anything else under $TRAWL_HOME."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from aiohttp import web

from tests.crawler.conftest import REPO, crawl_env, trawl
from tests.crawler.loopback_site import LoopbackSite, html

USER = "watcher"
PASSWORD = "G3t-L0gin!pw/7&q=x y"  # needs URL-encoding: every encoded form must go too

GETLOGIN_YAML = """\
name: getlogin
kind: vendor-shop
network: clearnet
mirrors: ["${GETLOGIN_URL}"]
start_urls: [/]
throttle: {concurrency: 1, delay: 0, retries: 0}
login:
  url: /
  form: form.login
  username_field: user
  password_field: pw
  needed_markers: ["css:form.login"]
  success_markers: ["text:Welcome"]
navigation:
  listing_links: "a.item::attr(href)"
listing:
  url_pattern: '^/item/\\d+$'
  id_from_url: '^/item/(\\d+)'
  fields:
    title: "h1"
"""

LOGIN_FORM = ("<form class='login' method='get' action='/do-login'><input name='user'>"
              "<input name='pw' type='password'><input type='submit' value='Go'></form>")


async def _site(request: web.Request) -> web.StreamResponse:
    if request.path == "/do-login":
        if request.query.get("user") == USER and request.query.get("pw") == PASSWORD:
            response = html("<p>Welcome back</p><a class='item' href='/item/1'>1</a>")
            response.set_cookie("sid", "ok")
            return response
        return html("<p>Wrong password</p>" + LOGIN_FORM)
    if request.cookies.get("sid") != "ok":
        return html(LOGIN_FORM)
    if request.path == "/":
        return html("<a class='item' href='/item/1'>1</a><a class='item' href='/item/2'>2</a>")
    return html(f"<h1>Item {request.path.rsplit('/', 1)[1]}</h1>")


@pytest.fixture
def getlogin(tmp_path: Path) -> Iterator[tuple[LoopbackSite, Path, dict[str, str]]]:
    with LoopbackSite(_site) as site:
        sites = tmp_path / "sites"
        sites.mkdir()
        env = crawl_env(tmp_path / "home", {
            # the default profile: the test profile would quiet Scrapy's log to WARNING
            "GETLOGIN_URL": site.url, "TRAWL_SITES_DIR": str(sites), "TRAWL_LOG_LEVEL": "DEBUG", "TRAWL_PROFILE": "default",
            "TRAWL_SITE_GETLOGIN_USERNAME": USER, "TRAWL_SITE_GETLOGIN_PASSWORD": PASSWORD})
        yield site, sites, env


def _all_bytes(home: Path) -> Iterator[tuple[Path, bytes]]:
    for path in home.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            yield path, raw
            if raw[:2] == b"\x1f\x8b":
                yield path, gzip.decompress(raw)  # WARCs: one gzip member per record


def test_get_login_refused_without_explicit_permission(getlogin: tuple[LoopbackSite, Path, dict[str, str]]) -> None:
    site, sites, env = getlogin
    (sites / "getlogin.yaml").write_text(GETLOGIN_YAML)
    run = trawl(["crawl", "getlogin", "--json"], env, timeout=120)
    assert not any(path.startswith("/do-login") for path in site.paths())  # the password was never sent
    assert "allow_credentials_in_url" in run.stderr and f"{sites / 'getlogin.yaml'}:7" in run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["status"] == "login_refused"
    assert PASSWORD not in run.stdout + run.stderr


def test_get_login_allowed_is_redacted_everywhere(getlogin: tuple[LoopbackSite, Path, dict[str, str]]) -> None:
    site, sites, env = getlogin
    (sites / "getlogin.yaml").write_text(GETLOGIN_YAML.replace(
        "  password_field: pw\n", "  password_field: pw\n  allow_credentials_in_url: true\n"))
    log_file = Path(env["TRAWL_HOME"]) / "crawl-debug.log"  # scanned with everything under TRAWL_HOME
    run = trawl(["crawl", "getlogin", "--json", "-vv", "--log-file", str(log_file)], env, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert "do-login?user=[REDACTED]&pw=[REDACTED]" in log_file.read_text()  # logged, redacted
    logins = [path for path in site.paths() if path.startswith("/do-login")]
    assert len(logins) == 1 and quote_plus(PASSWORD) in logins[0]  # the site got the password by GET
    assert summary["listings"] == 2
    # the next request carried the login URL as its Referer: the case to redact in the WARC
    assert any("/do-login" in headers.get("Referer", "") for _m, _p, headers in site.requests)
    assert "Crawled (200)" in run.stderr  # the debug log was on
    needles = {PASSWORD, quote_plus(PASSWORD), quote(PASSWORD, safe=""), quote(PASSWORD)}
    home = Path(env["TRAWL_HOME"])
    scanned = set()
    for path, blob in _all_bytes(home):
        scanned.add(path.name)
        for needle in needles:
            assert needle.encode() not in blob, f"password ({needle!r}) found in {path}"
    assert {"manifest.jsonl", "crawl-debug.log"} <= scanned and any(name.endswith(".warc.gz") for name in scanned)
    for needle in needles:
        assert needle not in run.stdout + run.stderr
    run_dir = Path(summary["run_dir"])
    manifest = (run_dir / "manifest.jsonl").read_text()
    assert "/do-login?user=%5BREDACTED%5D&pw=%5BREDACTED%5D" in manifest or "pw=[REDACTED]" in manifest
    warc = b"".join(gzip.decompress(p.read_bytes()) for p in (run_dir / "warc").glob("*.warc.gz"))
    assert b"GET /do-login?user=[REDACTED]&pw=[REDACTED] HTTP/1.1" in warc
    assert b"Referer: " + site.url.encode() + b"/do-login?user=[REDACTED]&pw=[REDACTED]" in warc
    verify = subprocess.run([sys.executable, "-m", "trawl.cli", "evidence", "verify", run_dir.name],
                            env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_get_method_in_yaml_needs_permission(tmp_path: Path) -> None:
    path = tmp_path / "getlogin.yaml"
    path.write_text(GETLOGIN_YAML.replace("  password_field: pw\n", "  password_field: pw\n  method: GET\n"))
    env = crawl_env(tmp_path / "home", {"GETLOGIN_URL": "http://127.0.0.1:9"})
    run = trawl(["sites", "check", str(path)], env, timeout=60)
    assert run.returncode == 2
    assert f"{path}:12: login.method: a GET login puts the password in the URL" in run.stderr
    path.write_text(GETLOGIN_YAML.replace("  password_field: pw\n",
                                          "  password_field: pw\n  method: GET\n  allow_credentials_in_url: true\n"))
    assert trawl(["sites", "check", str(path)], env, timeout=60).returncode == 0
