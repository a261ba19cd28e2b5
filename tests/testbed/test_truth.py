"""Ground truth agrees with the pages; same seed+day gives the same bytes; days move prices."""
from __future__ import annotations

import hashlib
import html
import json
import re
import urllib.request

import pgpy
import pytest

from testbed.server import run_testbed
from tests.testbed.socks_http import OnionSession
from tests.testbed.test_nightshade import logged_in

TRUTH_FIELDS = {"site", "native_id", "url", "title", "vendor", "substance", "substance_text", "price_amount",
                "price_currency", "price_usd", "quantity_amount", "quantity_unit", "dose_mg", "origin",
                "destinations", "ships_worldwide", "destinations_excluded", "escrow", "finalize_early",
                "feedback_count", "category", "cas", "price_tiers"}


def visible_text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def clear_get(tb, site: str, path: str) -> str:
    with urllib.request.urlopen(tb.sites[site].base_url.rstrip("/") + path, timeout=5) as response:
        return response.read().decode("utf-8")


def fetch_listing(tb, site: str, record: dict, session: OnionSession | None) -> str:
    if site == "rcshop":
        data = json.loads(clear_get(tb, site, "/api/products/" + record["url"].rsplit("/", 1)[1]))
        return json.dumps(data, ensure_ascii=False)
    if session is not None:
        response = session.get(record["url"])
        assert response.status == 200, record["url"]
        return response.text
    return clear_get(tb, site, record["url"])


def test_sizes_and_schema(tb) -> None:
    for site, (low, high) in {"nightshade": (40, 80), "vortex": (40, 80), "rcshop": (20, 40),
                              "chemtrade": (20, 40), "pillhub": (20, 40)}.items():
        records = tb.truth(site)
        assert low <= len(records) <= high, (site, len(records))
        for record in records:
            assert TRUTH_FIELDS <= set(record), site
            assert record["quantity_unit"] in ("g", "ml", "unit") or record["substance"] is None
            assert record["url"].startswith("/")
            json.dumps(record)
    nightshade = tb.truth("nightshade")
    assert any(r["substance"] is None for r in nightshade)
    assert any("\u0435" in r["title"] for site in ("nightshade", "vortex") for r in tb.truth(site)) or \
        any("\u0435" in r["substance_text"] for site in ("nightshade", "vortex") for r in tb.truth(site))


@pytest.mark.parametrize("site", ["nightshade", "vortex", "rcshop", "chemtrade", "pillhub"])
def test_every_listing_page_shows_truth_title_and_vendor(tb, site: str) -> None:
    session = None
    if site == "nightshade":
        session = logged_in(tb)
    elif site == "vortex":
        session = OnionSession(tb.socks_port, tb.sites["vortex"].onion)
    for record in tb.truth(site):
        page = fetch_listing(tb, site, record, session)
        text = page if site == "rcshop" else visible_text(page)
        assert record["title"] in text, (site, record["url"])
        if site != "rcshop":
            assert record["vendor"] in text, (site, record["url"])


def test_vendor_pages_and_pgp(tb) -> None:
    session = logged_in(tb)
    vortex = OnionSession(tb.socks_port, tb.sites["vortex"].onion)
    fingerprints: dict[str, set[str]] = {}
    malformed = 0
    for site, client in (("nightshade", session), ("vortex", vortex)):
        for vendor in tb.vendor_truth(site):
            page = html.unescape(client.get(vendor["url"]).text)
            block = re.search(r"-----BEGIN PGP PUBLIC KEY BLOCK-----.*?-----END PGP PUBLIC KEY BLOCK-----", page, re.S)
            assert block, vendor["url"]
            if vendor["pgp_fingerprint"] is None:
                malformed += 1
                with pytest.raises(Exception):  # noqa: B017 - PGPy raises assorted types on a damaged key
                    pgpy.PGPKey.from_blob(block.group(0))
                continue
            key, _ = pgpy.PGPKey.from_blob(block.group(0))
            assert str(key.fingerprint).replace(" ", "") == vendor["pgp_fingerprint"]
            fingerprints.setdefault(site, set()).add(vendor["pgp_fingerprint"])
            for kind in ("btc", "xmr", "wickr", "email"):
                for value in vendor["identifiers"].get(kind, []):
                    assert value in page, (vendor["url"], kind)
    assert malformed == 1
    assert len(fingerprints["nightshade"] & fingerprints["vortex"]) >= 1
    ns = {v["name"]: v for v in tb.vendor_truth("nightshade")}
    vx = {v["name"]: v for v in tb.vendor_truth("vortex")}
    assert ns["DutchGold"]["pgp_fingerprint"] == vx["dutch_gold"]["pgp_fingerprint"]


def _snapshot(tb) -> str:
    digest = hashlib.sha256()
    session = logged_in(tb)
    vortex = OnionSession(tb.socks_port, tb.sites["vortex"].onion)
    for record in tb.truth("nightshade")[:10]:
        digest.update(session.get(record["url"]).body)
    for record in tb.truth("vortex")[:10]:
        digest.update(vortex.get(record["url"]).body)
    for site in ("rcshop", "chemtrade", "pillhub"):
        digest.update(clear_get(tb, site, "/").encode())
        for record in tb.truth(site)[:5]:
            digest.update(clear_get(tb, site, record["url"]).encode())
    digest.update(clear_get(tb, "rcshop", "/api/products").encode())
    return digest.hexdigest()


def test_two_runs_serve_identical_bytes() -> None:
    hashes = []
    for _ in range(2):
        with run_testbed(seed=7, day=1, rate_limit=False, faults=False) as tb:
            hashes.append(_snapshot(tb))
    assert hashes[0] == hashes[1]


def test_day_change_moves_prices_and_listings(tb) -> None:
    before = {r["native_id"]: r for r in tb.truth("nightshade")}
    session = logged_in(tb)
    sample = next(iter(before.values()))
    tb.set_day(3)
    try:
        after = {r["native_id"]: r for r in tb.truth("nightshade")}
        common = set(before) & set(after)
        moved = [i for i in common if before[i]["price_usd"] != after[i]["price_usd"]]
        assert len(moved) > len(common) // 2
        assert set(before) != set(after)  # some listings appeared or vanished
        assert all(after[i]["feedback_count"] >= before[i]["feedback_count"] for i in common)
        if sample["native_id"] in after:
            page = session.get(sample["url"]).text
            assert f'${after[sample["native_id"]]["price_usd"]:,.2f}' in page
        for site in ("vortex", "rcshop", "chemtrade", "pillhub"):
            assert tb.truth(site, day=0) != tb.truth(site)
    finally:
        tb.set_day(0)


SNAPSHOT_SCRIPT = """
import hashlib, json, sys
from testbed.server import run_testbed
from tests.testbed.test_truth import _snapshot
with run_testbed(seed=3, day=2, rate_limit=False, faults=False) as tb:
    truth = json.dumps([tb.truth(s) for s in tb.sites] + [tb.vendor_truth(s) for s in tb.sites], sort_keys=True)
    print(_snapshot(tb), hashlib.sha256(truth.encode()).hexdigest())
"""


def test_identical_bytes_across_processes_and_hash_seeds() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    outputs = []
    for hash_seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        proc = subprocess.run([sys.executable, "-c", SNAPSHOT_SCRIPT], cwd=root, env=env, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout.strip())
    assert outputs[0] == outputs[1] and len(outputs[0]) == 129
