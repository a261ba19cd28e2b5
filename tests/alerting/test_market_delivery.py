"""Must-show of issue 18: the testbed switches a market off and on; the crawls raise the
registry's alerts and `trawl alerts deliver --once` (run after each crawl, as a scheduler
job would) delivers exactly one "down" and one "back" to a loopback webhook (signature
verified) and to a STARTTLS SMTP server."""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from tests.alerting.receivers import Receiver, SmtpServer, receiver, smtp_server
from tests.crawler.conftest import crawl_env, trawl

SITE = "vmarket"
SECRET = "market-hook-secret"
SITE_YAML = """\
name: {name}
kind: darknet-market
network: tor
mirrors:
  - {mirror}
start_urls: [/]
throttle: {{concurrency: 2, delay: 0, retries: 1, backoff: 0.1, page_budget: 3, timeout: 10}}
navigation:
  listing_links: "tr.listingRow td.lt-title a::attr(href)"
listing:
  url_pattern: '^/item/\\d+$'
  id_from_url: '^/item/(\\d+)'
  fields:
    title: "h2.item-title"
    vendor: "p.soldBy b a"
    price: ".buyForm span.price-xmr"
"""


@pytest.fixture(scope="module")
def testbed() -> Iterator[Any]:
    from testbed.server import run_testbed

    with run_testbed(port=0, day=0, seed=1, rate_limit=False, faults=False) as tb:
        yield tb


@pytest.fixture
def hook() -> Iterator[Receiver]:
    yield from receiver()


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    yield from smtp_server(tmp_path, "trawl", "smtp-pass")


@pytest.mark.slow
def test_market_off_and_on_is_one_down_and_one_back_delivered(tmp_path: Path, testbed: Any, hook: Receiver,
                                                              smtp: SmtpServer) -> None:
    sites, home = tmp_path / "sites", tmp_path / "home"
    sites.mkdir()
    home.mkdir()
    (sites / f"{SITE}.yaml").write_text(SITE_YAML.format(name=SITE, mirror=testbed.sites["vortex"].base_url.rstrip("/")),
                                        encoding="utf-8")
    kinds = "[market_down, market_back]"
    (home / "alert-channels.yaml").write_text(
        f"channels:\n  ops: {{type: webhook, url: '{hook.url}/hook', secret: '${{HOOK_SECRET}}', kinds: {kinds}}}\n"
        f"  mail: {{type: email, host: {smtp.host}, port: {smtp.port}, username: trawl, password: smtp-pass,"
        f" from: trawl@example.org, to: [duty@example.org], ca_file: '{smtp.cert}', kinds: {kinds}}}\n",
        encoding="utf-8")
    env = crawl_env(home, {**testbed.env(), "TRAWL_SITES_DIR": str(sites), "HOOK_SECRET": SECRET})

    def crawl_and_deliver(expected_exit: int) -> None:
        run = trawl(["crawl", SITE, "--json"], env, timeout=180)
        assert run.returncode == expected_exit, run.stderr[-2000:]
        delivered = trawl(["alerts", "deliver", "--once", "--json"], env, timeout=120)
        assert delivered.returncode == 0 and json.loads(delivered.stdout)["dead"] == 0, delivered.stderr[-2000:]

    try:
        testbed.set_market("vortex", "off")
        crawl_and_deliver(4)  # every page failed: the market is down
        crawl_and_deliver(4)  # still down: no second alert
        testbed.set_market("vortex", "on")
        crawl_and_deliver(0)  # back
        crawl_and_deliver(0)  # still up: nothing new
    finally:
        testbed.set_market("vortex", "on")

    bodies = [request.json() for request in hook.requests]
    assert [(b["kind"], b["data"]["site"]) for b in bodies] == [("market_down", SITE), ("market_back", SITE)]
    for request in hook.requests:
        expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(request.headers["X-Trawl-Signature"], expected)
    subjects = [message_from_bytes(m.original_content)["Subject"] for m in smtp.messages]
    assert len(subjects) == 2 and subjects[0].startswith("[trawl] ") and smtp.logins == ["trawl", "trawl"]
    first_lines = []
    for envelope in smtp.messages:
        body = message_from_bytes(envelope.original_content).get_payload(decode=True)
        assert isinstance(body, bytes)
        first_lines.append(body.decode().splitlines()[0].split(" ", 1)[1])  # "<time> <kind>: <summary>"
    assert [line.split(":", 1)[0] for line in first_lines] == ["market_down", "market_back"]
