"""Watch rules: FILE:LINE validation, and a pipeline run over a real SQLite index raising
exactly one alert per matching listing, and one per vendor seen on a new market."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.alerts import VENDOR_NEW_MARKET, WATCH_LISTING, JsonlSink, read_alerts
from core.errors import TrawlError
from core.items import Fetch, RawListing, RawVendor
from core.vocabulary import Vocabulary
from index.sqlite_backend import SqliteBackend
from pipeline import Pipeline, Processor, Tally
from pipeline.watch import load_watch_rules

VOCAB = Vocabulary.from_groups({"mephedrone": ["4-MMC", "mcat"], "ketamine": ["ket"]})


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "watch.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_rules_load_and_resolve_synonyms(tmp_path: Path) -> None:
    path = write(tmp_path, "watch:\n  substances: [4-MMC]\n  vendors: [ChefRamsay]\n  countries: [nl]\n"
                           "  price_moves: {substances: [ketamine], threshold_pct: 25}\n")
    rules = load_watch_rules(path, VOCAB)
    assert rules.substances == ("4-MMC",) and rules.countries == ("NL",)
    assert rules.price_moves.threshold_pct == 25.0 and rules.price_term("ketamine") == "ketamine"
    assert rules._substance_keys["mephedrone"] == "4-MMC" and rules.watches_vendor("cheframsay")


@pytest.mark.parametrize(("text", "expected"), [
    ("watch:\n  substances: [a]\n  vendor: [x]\n", ":3: watch.vendor: unknown key"),
    ("watch:\n  countries:\n    - NL\n    - Netherlands\n", ":4: watch.countries[1]: expected an ISO alpha-2"),
    ("watch:\n  price_moves:\n    substances: [x]\n    threshold_pct: -5\n", ":4: watch.price_moves.threshold_pct"),
    ("watch:\n  new_market_vendors: sometimes\n", ":2: watch.new_market_vendors: expected one of all, watched, off"),
    ("watchlist: {}\n", ":1: (top): expected a mapping with a top-level `watch:` key"),
    ("watch:\n  substances: [a\n", ":3: (syntax)"),
])
def test_rule_errors_name_file_and_line(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(TrawlError) as caught:
        load_watch_rules(path, VOCAB)
    assert f"{path}{expected}" in str(caught.value)


def listing(site: str, native_id: str, title: str, vendor: str, price: str = "$50") -> RawListing:
    return RawListing(site=site, market_kind="darknet-market", url=f"http://{site}.onion/listing/{native_id}",
                      fields={"native_id": native_id, "title": title, "price": price, "vendor": vendor},
                      fetch=Fetch(key=f"/listing/{native_id}"))


def test_a_watched_substance_raises_one_alert_per_listing(tmp_path: Path, trawl_home: Path) -> None:
    rules = load_watch_rules(write(tmp_path, "watch:\n  substances: [mcat]\n  new_market_vendors: off\n"), VOCAB)
    items = [listing("vortex", "1", "Mephedrone 4-MMC crystals 5g", "alice"),
             listing("vortex", "2", "Ketamine 5g", "bob"),
             listing("vortex", "3", "4-MMC 10g top quality", "carol")]
    with SqliteBackend(tmp_path / "index.sqlite") as index:
        pipeline = Pipeline(index, clock="2026-11-01T00:00:00Z", run_id="r1", stats=Tally())
        pipeline.processor.watch.rules = rules
        for raw in items * 2:  # the second time the listings are unchanged: no new alert
            pipeline.handle(raw)
            pipeline.flush()
        # a changed listing (new price) is a new state: one more alert
        changed = Processor(index, clock="2026-11-02T00:00:00Z", run_id="r2", stats=Tally(), watch=rules)
        changed.process(listing("vortex", "3", "4-MMC 10g top quality", "carol", price="$80"))

    alerts = read_alerts(trawl_home / "alerts.jsonl", kind=WATCH_LISTING)
    assert [(a.data["listing_id"], a.data["novelty"]) for a in alerts] == [
        ("vortex:1", "new"), ("vortex:3", "new"), ("vortex:3", "changed")]
    assert alerts[0].data["rules"] == [{"rule": "substance", "value": "mcat"}]
    assert len({a.dedupe_key for a in alerts}) == 3


def test_a_vendor_known_on_one_market_appearing_on_another(tmp_path: Path, trawl_home: Path) -> None:
    sink = JsonlSink(trawl_home / "alerts.jsonl")
    with SqliteBackend(tmp_path / "index.sqlite") as index:
        first = Pipeline(index, clock="2026-11-01T00:00:00Z", run_id="a", stats=Tally(), alerts=sink)
        for raw in (listing("vortex", "1", "Ketamine 5g", "ChefRamsay"), listing("vortex", "2", "Ketamine 1g", "Solo")):
            first.handle(raw)
        first.flush()
        # a new crawl of the other market: its own Processor reads the vendors the index knows
        second = Pipeline(index, clock="2026-11-02T00:00:00Z", run_id="b", stats=Tally(), alerts=sink)
        for raw in (listing("nightshade", "9", "Ketamine 2g", "cheframsay"),
                    listing("nightshade", "10", "Ketamine 3g", "ChefRamsay"),  # same vendor again: no alert
                    listing("nightshade", "11", "Ketamine 3g", "Stranger")):
            second.handle(raw)
        second.handle(RawVendor(site="nightshade", market_kind="darknet-market", url="http://n.onion/v/cheframsay",
                                fields={"name": "ChefRamsay"}))
        second.flush()

    alerts = read_alerts(trawl_home / "alerts.jsonl", kind=VENDOR_NEW_MARKET)
    assert [(a.data["vendor"], a.data["site"], a.data["known_on"]) for a in alerts] == [
        ("cheframsay", "nightshade", ["vortex"])]


def test_one_listing_meeting_several_rules_lists_them_all(tmp_path: Path) -> None:
    from core.records import Listing, SubstanceRef

    rules = load_watch_rules(write(tmp_path, "watch:\n  substances: [4-MMC]\n  vendors: [Chef_Ramsay]\n"
                                             "  countries: [NL]\n"), VOCAB)
    listing = Listing(listing_id="v:1", site="v", market_kind="darknet-market", url="u", title="t",
                      vendor="cheframsay", origin="NL",
                      substances=[SubstanceRef(name="mephedrone", matched_text="meow")])
    other = Listing(listing_id="v:2", site="v", market_kind="darknet-market", url="u", title="t", vendor="x",
                    origin="DE", substances=[SubstanceRef(name="ketamine", matched_text="ket")])
    assert rules.matches(listing) == [("substance", "4-MMC"), ("vendor", "Chef_Ramsay"), ("country", "NL")]
    assert rules.matches(other) == []
