"""Shared helpers of the market lifecycle tests: a small site YAML on a testbed market,
PGP keys made in the test, and the alert log."""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

SMALL_SITE = """\
name: {name}
kind: darknet-market
network: tor
mirrors:
{mirrors}
start_urls: [/]
throttle: {{concurrency: 2, delay: 0, retries: 1, backoff: 0.1, page_budget: {budget}, timeout: 10}}
navigation:
  listing_links: "tr.listingRow td.lt-title a::attr(href)"
listing:
  url_pattern: '^/item/\\d+$'
  id_from_url: '^/item/(\\d+)'
  fields:
    title: "h2.item-title"
    vendor: "p.soldBy b a"
    price: ".buyForm span.price-xmr"
{market}"""


def write_site(directory: Path, name: str, mirrors: list[str], *, budget: int = 4, market: str = "") -> Path:
    """A vortex-shaped site YAML with a small page budget (a crawl takes a few seconds)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.yaml"
    path.write_text(SMALL_SITE.format(name=name, mirrors="".join(f"  - {m.rstrip('/')}\n" for m in mirrors),
                                      budget=budget, market=market), encoding="utf-8")
    return path


def new_key(name: str) -> Any:
    """A fresh Ed25519 signing key (PGPy): milliseconds, unlike RSA."""
    from pgpy import PGPUID, PGPKey
    from pgpy.constants import EllipticCurveOID, HashAlgorithm, KeyFlags, PubKeyAlgorithm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        key = PGPKey.new(PubKeyAlgorithm.EdDSA, EllipticCurveOID.Ed25519)
        key.add_uid(PGPUID.new(name), usage={KeyFlags.Sign, KeyFlags.Certify}, hashes=[HashAlgorithm.SHA256])
    return key


def clear_sign(key: Any, text: str) -> str:
    from pgpy import PGPMessage

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        message = PGPMessage.new(text, cleartext=True)
        message |= key.sign(message)
    return str(message)


def alerts(home: Path, kind: str | None = None) -> list[dict[str, Any]]:
    path = home / "alerts.jsonl"
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if kind is None or r["kind"] == kind]


@pytest.fixture
def sites_dir(trawl_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = trawl_home.parent / "sites"
    directory.mkdir()
    monkeypatch.setenv("TRAWL_SITES_DIR", str(directory))
    return directory
