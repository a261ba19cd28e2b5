"""End to end through the CLI: two testbed markets crawled with a watch file, the alert log
delivered by `trawl alerts deliver --once` to a loopback webhook (signature checked) and a
STARTTLS SMTP server.  Exactly one alert per listing of the watched substance, one per
vendor that the second market shares with the first."""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.vocabulary import name_key
from tests.alerting.receivers import Receiver, SmtpServer, receiver, smtp_server
from tests.crawler.conftest import crawl_env, trawl

SECRET = "testbed-hook-secret"
CLOCK = "2026-08-03T12:00:00Z"


@pytest.fixture
def hook() -> Iterator[Receiver]:
    yield from receiver()


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    yield from smtp_server(tmp_path, "trawl", "smtp-pass")


@pytest.fixture(scope="module")
def testbed() -> Iterator[Any]:
    from testbed.server import run_testbed

    with run_testbed(port=0, day=0, seed=1) as tb:
        yield tb


@pytest.mark.slow
def test_watched_listings_and_shared_vendors_reach_webhook_and_mail(tmp_path: Path, testbed: Any, hook: Receiver,
                                                                    smtp: SmtpServer) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "watch.yaml").write_text("watch:\n  substances: [MDE]\n", encoding="utf-8")  # a synonym of mdea
    (home / "alert-channels.yaml").write_text(
        f"delivery: {{digest: {{after: 0}}}}\nchannels:\n"
        f"  ops: {{type: webhook, url: '{hook.url}/hook', secret: '${{HOOK_SECRET}}',"
        f" kinds: [watch_listing, vendor_new_market]}}\n"
        f"  mail: {{type: email, host: {smtp.host}, port: {smtp.port}, username: trawl, password: smtp-pass,"
        f" from: trawl@example.org, to: [duty@example.org], ca_file: '{smtp.cert}', kinds: [vendor_new_market]}}\n",
        encoding="utf-8")
    env = crawl_env(home, {**testbed.env(), "HOOK_SECRET": SECRET})
    for site in ("vortex", "nightshade"):
        run = trawl(["crawl", site, "--json", "--clock", CLOCK], env, timeout=300)
        assert run.returncode == 0, run.stderr[-3000:]
    delivered = trawl(["alerts", "deliver", "--once", "--json"], env, timeout=120)
    assert delivered.returncode == 0, delivered.stderr[-2000:]

    truth = {site: testbed.truth(site) for site in ("vortex", "nightshade")}
    watched = sorted(f"{site}:{item['native_id']}" for site, items in truth.items() for item in items
                     if item["substance"] == "mdea")
    first_market = {name_key(item["vendor"]) for item in truth["vortex"]}
    shared = sorted({name_key(item["vendor"]) for item in truth["nightshade"]} & first_market)
    bodies = [request.json() for request in hook.requests]
    assert all(request.headers["X-Trawl-Signature"] == "sha256=" + hmac.new(
        SECRET.encode(), request.body, hashlib.sha256).hexdigest() for request in hook.requests)
    assert sorted(b["data"]["listing_id"] for b in bodies if b["kind"] == "watch_listing") == watched
    vendors = sorted(name_key(b["data"]["vendor"]) for b in bodies if b["kind"] == "vendor_new_market")
    assert vendors == shared and len(shared) >= 2
    assert len(smtp.messages) == len(shared)
    assert json.loads(delivered.stdout)["dead"] == 0
