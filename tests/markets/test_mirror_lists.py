"""Signed mirror lists: verified with the market's key before any onion is trusted."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.errors import TrawlError
from crawler.engine.markets import get_market, usable_mirrors
from crawler.engine.markets_mirrors import import_signed_list
from crawler.sitedef.siteconfig import load_site
from testbed.onion import onion_address
from tests.markets.conftest import alerts, clear_sign, new_key, write_site

REPO = Path(__file__).resolve().parents[2]
A = "http://" + "a" * 56 + ".onion"
# two valid v3 onions (checksummed), as a market would list them
NEW1 = "http://" + onion_address(7, "mkt", 1)
NEW2 = "http://" + onion_address(7, "mkt", 2)


@pytest.fixture
def market_key(sites_dir: Path) -> Any:
    key = new_key("mkt market")
    (sites_dir / "mkt.asc").write_text(str(key.pubkey), encoding="utf-8")
    write_site(sites_dir, "mkt", [A], market="market:\n  pgp_key: mkt.asc\n")
    return key


def test_valid_list_adds_its_onions(market_key: Any, trawl_home: Path, tmp_path: Path) -> None:
    signed = tmp_path / "mirrors.txt"
    signed.write_text("Forum post\n\n" + clear_sign(market_key, f"Our mirrors:\n{NEW1}\n{NEW2}/\n"), encoding="utf-8")
    site = load_site("mkt")
    assert import_signed_list(site, signed) == [NEW1, NEW2]
    market = get_market("mkt")
    assert market is not None and {m.url: m.source for m in market.mirrors} == {NEW1: "signed-list", NEW2: "signed-list"}
    assert usable_mirrors("mkt", site.mirrors) == (A, NEW1, NEW2)
    assert alerts(trawl_home) == []


@pytest.mark.parametrize("how", ["tampered", "other key", "unsigned", "signature cut"])
def test_bad_lists_are_rejected_with_one_alert(market_key: Any, trawl_home: Path, tmp_path: Path, how: str) -> None:
    text = f"Our mirrors:\n{NEW1}\n"
    signed = {"tampered": lambda: clear_sign(market_key, text).replace(NEW1[7:17], NEW2[7:17]),
              "other key": lambda: clear_sign(new_key("phisher"), text),
              "unsigned": lambda: text,
              "signature cut": lambda: clear_sign(market_key, text).split("-----BEGIN PGP SIGNATURE-----")[0]}[how]()
    file = tmp_path / "mirrors.txt"
    file.write_text(signed, encoding="utf-8")
    with pytest.raises(TrawlError, match="mirror list rejected"):
        import_signed_list(load_site("mkt"), file)
    market = get_market("mkt")
    assert market is not None and market.mirrors == []  # nothing added, not even the YAML's (no run yet)
    rejected = alerts(trawl_home, "market_clone")
    assert len(rejected) == 1 and rejected[0]["data"]["event"] == "mirror_rejected"
    assert rejected[0]["data"]["site"] == "mkt" and rejected[0]["data"]["reason"].startswith("mirror list rejected")


def test_cli_import_and_rejection_exit_codes(market_key: Any, trawl_home: Path, sites_dir: Path, tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TRAWL_")}, "TRAWL_HOME": str(trawl_home),
           "TRAWL_SITES_DIR": str(sites_dir), "PYTHONPATH": str(REPO)}
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text(clear_sign(market_key, f"{NEW1}\n"), encoding="utf-8")
    bad.write_text(clear_sign(market_key, f"{NEW1}\n").replace("\n\n" + NEW1, "\n\n" + NEW2), encoding="utf-8")

    def trawl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "trawl.cli", "markets", *args], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=120)

    ok = trawl("mirrors", "import", "mkt", str(good))
    assert ok.returncode == 0 and NEW1 in ok.stdout, ok.stderr
    rejected = trawl("mirrors", "import", "mkt", str(bad))
    assert rejected.returncode == 2 and "mirror list rejected: bad signature" in rejected.stderr
    listing = trawl("--json")
    assert listing.returncode == 0 and '"signed-list"' in listing.stdout and NEW2 not in listing.stdout
