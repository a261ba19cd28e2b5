"""The enrich stage reads each text of a listing once (enrich.match_listing, enrich.match_reading)
and keeps fuzzy decisions and parsed PGP keys: the results must be exactly those of the plain
sequence of calls it replaced (kept below as the reference), on every testbed listing and
on real listings."""
from __future__ import annotations

import csv
import dataclasses
import gzip
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from core.items import RawListing, RawVendor
from core.records import CandidateSubstance, Listing, Vendor
from enrich import extract_identifiers, fuzzy, match, new_substance_candidates, parse_pgp_key, pgp
from enrich.match_listing import joined_text, primary_text
from enrich.match_reading import BoundedCache, cached_decisions, crosses_lines, join_readings
from enrich.matcher import get_matcher
from pipeline.enrich import _candidate, _merge_ids, enrich_listing, enrich_vendor
from testbed.catalogue import catalogue

WHEN = "2026-11-29T12:00:00Z"
TESTBED_SITES = ("nightshade", "vortex", "pillhub", "chemtrade", "rcshop")
# (title, category, description): each a case where reading the lines apart could go wrong
EDGE_CASES = [
    ("3-CMPVP 5g", "Stimulants > RCs", "also 5F-XYZ-PINACA, 7-Cl-MDMA and 4-chloro-metonitazene in stock"),
    ("7-Cl-MDMA 1g", "", "7-Cl-MDMA again, 3-CMPVP too, 4F-mephedrone"),  # a token in two lines: the first is kept
    ("4F-mephedrone 1g", "5F-amphetamine", "5F-amphetamine and 4F-mephedrone, bk-2C-B"),  # and in the category
    ("25b/25c-nbome blotters", "Psychedelics", "25I-NBMOe, mdma-nboh and 25b 25c NBOMe, 2C-B-FLY, Cl-MDMA"),
    ("safrole 94-59-7", "Precursors", "CAS 94-59-7 and 3-HO-PCE, 2-Me-MXE"),
    ("α-PVP 1g ｃｒｙｓｔａｌ", "Stimulants » α-PHiP", "α-pvp and 3-ＣＭＰＶＰ, ５F-amphetamine"),  # folded: offsets
    ("3-ＣＭＰＶＰ", "", "ｘ 7-Cl-MDMA"),
    ("buy m d", "m a", "a b\nc-pinaca 7-Cl-MDMA"),  # single letters at the line ends: read as one text
    ("x4 m", "d m a", "b 3-CMPVP"),
    ("4F-m d", "m a", ""),  # "4F-" + "m d\nm a" spelled out: an analogue only the joined text shows
    ("  Ketamine 5g 3-CMPVP  ", "  ", " 3-MMC 7-Cl-MDMA "),  # blanks stripped from title and category
    ("Ketamine 5g 3-HO-PCE", "Ketamine 5g 3-HO-PCE", "Ketamine 5g 3-HO-PCE"),  # one text three times
    ("Fresh batch", "", "MDMA crystals 84% or 5Cl-mephedrone"),  # the description is read
    ("", "Benzos > Xanax", ""),
    ("her0in #4 n0 fent", "Opioids", "no fentanyl, carfentanil-free, desethyl-etonitazene"),
    ("Oxycodone M30 x10 NON Fentanyl pills", "Opioids > Oxy", "5xfentanyl test strips, N-propyl-ketamine"),
]


def reference_enrich_listing(raw: RawListing, listing: Listing, when: str) -> list[CandidateSubstance]:
    """enrich_listing as it was: the title, the description and the joined text analysed apart."""
    hint = raw.substance_hint
    primary = f"{listing.title}\n{hint}".strip()
    found = match(listing.title, hint=hint or None)
    if not any(m.relation == "offered" for m in found):
        found += [m for m in match(listing.description) if m.relation == "offered"]
    listing.substances = [m.to_ref() for m in found if m.relation == "offered"]
    listing.mentioned_substances = [m.to_ref() for m in found if m.relation == "mentioned"]
    _merge_ids(listing.identifiers, extract_identifiers(listing.description))
    return [_candidate(c, listing, when) for c in new_substance_candidates(f"{primary}\n{listing.description}")]


def _pair(n: int, site: str, title: str, hint: str, description: str) -> tuple[RawListing, Listing]:
    listing = Listing(listing_id=f"{site}:{n}", site=site, market_kind="darknet-market", url="", title=title,
                      description=description, crawled_at=WHEN, first_seen=WHEN, last_seen=WHEN)
    return RawListing(site=site, market_kind="darknet-market", url="", fields={"substance_hint": hint}), listing


def _assert_same_results(items: list[tuple[str, str, str, str]]) -> int:
    """Both compositions over (site, title, hint, description); returns how many had candidates."""
    with_candidates = 0
    for n, (site, title, hint, description) in enumerate(items):
        raw, expected = _pair(n, site, title, hint, description)
        _, listing = _pair(n, site, title, hint, description)
        expected_candidates = reference_enrich_listing(raw, expected, WHEN)
        candidates = enrich_listing(raw, listing, WHEN)
        assert dataclasses.asdict(listing) == dataclasses.asdict(expected), (title, hint)
        assert [dataclasses.asdict(c) for c in candidates] == [dataclasses.asdict(c) for c in expected_candidates]
        with_candidates += bool(candidates)
    return with_candidates


def _assert_joined_reading_is_the_reading(items: list[tuple[str, str, str, str]]) -> int:
    """join_readings of the lines == reading the joined text, for every item (the join is
    otherwise only taken when a line has a candidate); returns how many were joined."""
    matcher = get_matcher()
    joined_count = 0
    for _, title, hint, description in items:
        lines = primary_text(title, hint).split("\n") + [description]  # split() so every piece is a line
        readings = [matcher.read(line) for line in lines]
        joined = join_readings(readings)
        assert (joined is None) == crosses_lines(readings)
        if joined is None:
            continue
        text = joined_text(title, hint, description)
        assert joined.text == text
        assert matcher.finish_reading(joined) == matcher.prepare(text), (title, hint)
        joined_count += 1
    return joined_count


def _testbed_items() -> list[tuple[str, str, str, str]]:
    cat = catalogue(1, 0)
    return [(site, str(item["title"]), str(item.get("category") or ""), str(item.get("description") or ""))
            for site in TESTBED_SITES for item in cat.listings[site]]


def _real_items(real_data_dir: Path, every: int) -> list[tuple[str, str, str, str]]:
    """Real listings, every `every`-th row: titles with descriptions (AlphaBay 2015, Tochka
    2019, medicines from five markets 2025) and titles with their category (ToRReZ 2021)."""
    items: list[tuple[str, str, str, str]] = []
    with gzip.open(real_data_dir / "alphabay-grams-2015/Alpha.csv.gz", "rt", encoding="utf-8", errors="replace") as fh:
        items += [("alphabay", r["name"], "", r["description"]) for r in islice(csv.DictReader(fh), 0, None, every)]
    with gzip.open(real_data_dir / "medrepro-2025/filtered_medicines_llm.csv.gz", "rt", encoding="utf-8",
                   errors="replace") as fh:
        items += [("medrepro", r["listing_title"], r["category"] or "", r["description"] or "")
                  for r in islice(csv.DictReader(fh), 0, None, every)]
    with open(real_data_dir / "tochka-vape-2019/tochka.csv", encoding="utf-8", errors="replace") as fh:
        items += [("tochka", r["listing"], r["drug category"], r["description"]) for r in csv.DictReader(fh)]
    with gzip.open(real_data_dir / "torrez-2021/Product_dataset_new.csv.gz", "rt", encoding="utf-8",
                   errors="replace") as fh:
        items += [("torrez", r["product"], r["highest_category"] or "", "")
                  for r in islice(csv.DictReader(fh), 0, None, 4 * every)]
    return items


def test_edge_cases_match_the_reference() -> None:
    items = [("vortex", *case) for case in EDGE_CASES]
    assert _assert_same_results(items) == len(items) - 1  # all but the one with no analogue
    assert _assert_joined_reading_is_the_reading(items) == len(items) - 3  # the three spelled-out cases


def test_a_word_spelled_out_across_lines_is_read_as_one_text() -> None:
    matcher = get_matcher()
    readings = [matcher.read("buy m d"), matcher.read("m a")]
    assert crosses_lines(readings) and join_readings(readings) is None
    assert "mdma" in [a.text for a in matcher.read("buy m d\nm a").atoms]  # why: the lines alone never say so
    assert not crosses_lines([matcher.read("buy m d "), matcher.read("m a")])
    raw, listing = _pair(0, "vortex", "4F-m d", "m a", "")
    assert [(c.token, c.pattern) for c in enrich_listing(raw, listing, WHEN)] == [("4f-m d\nm a", "modified-name")]


def test_testbed_listings_match_the_reference() -> None:
    items = _testbed_items()
    assert len(items) > 150
    assert _assert_same_results(items) > 0
    assert _assert_joined_reading_is_the_reading(items) > 150


def test_real_listings_match_the_reference(real_data_dir: Path) -> None:
    items = _real_items(real_data_dir, every=12)  # about 630 of the four sources (all ~6,700: slow test)
    assert len(items) > 600
    assert _assert_same_results(items) > 0
    assert _assert_joined_reading_is_the_reading(items) > 600


@pytest.mark.slow
def test_all_real_listings_match_the_reference(real_data_dir: Path) -> None:
    items = _real_items(real_data_dir, every=1)  # about 6,700
    assert len(items) > 6000
    assert _assert_same_results(items) > 5
    assert _assert_joined_reading_is_the_reading(items) > 6000


def test_fuzzy_decisions_kept_are_the_scored_ones() -> None:
    matcher = get_matcher()
    queries = ["metamfetamine", "alprozolam", "methylphenidatte", "kokain", "ketamin", "nothingness"]
    scored = fuzzy.score_cdist(sorted(queries), matcher.choices)
    assert scored["metamfetamine"] is not None and scored["nothingness"] is None
    calls: list[list[str]] = []

    def score(todo: list[str]) -> dict[str, Any]:
        calls.append(todo)
        return fuzzy.score_cdist(todo, matcher.choices)

    cache: BoundedCache[str, Any] = BoundedCache(4)
    assert cached_decisions(cache, queries[:3], score) == {q: scored[q] for q in queries[:3]}
    assert cached_decisions(cache, queries, score) == scored
    assert calls == [sorted(queries[:3]), sorted(queries[3:])]  # nothing scored twice
    assert list(cache) == ["methylphenidatte", *sorted(queries[3:])]  # the oldest are forgotten
    assert matcher.decisions(queries) == scored == matcher.decisions(queries, "plain")


def _testbed_vendors() -> list[tuple[RawVendor, Vendor]]:
    pairs = []
    for site, vendors in catalogue(1, 0).vendors.items():
        for v in vendors:
            raw = RawVendor(site=site, market_kind="darknet-market", url="",
                            fields={"name": v["name"], "identifiers_text": [str(v.get("bio") or ""), str(v["identifiers"])]})
            pairs.append((raw, Vendor(vendor_id=f"{site}:{v['name']}", site=site, name=v["name"],
                                      pgp_key=str(v.get("pgp_block") or ""))))
    return pairs


def test_parsed_pgp_keys_are_kept_and_the_same_as_parsing_again() -> None:
    vendors = _testbed_vendors()
    keys = sorted({v.pgp_key for _, v in vendors if v.pgp_key})
    assert len(keys) > 10
    for key in keys:
        blocks = pgp.find_blocks(key)
        fresh = pgp._parse_block(blocks[0][1]) if blocks else None
        first, second = parse_pgp_key(key), parse_pgp_key(key)
        assert first == second and first is not second
        if fresh is not None:
            assert first == fresh
    assert any(parse_pgp_key(k).ok for k in keys) and any(not parse_pgp_key(k).ok for k in keys)  # a malformed key too
    kept = parse_pgp_key(keys[0])
    kept.user_ids.append("changed by a caller")
    assert "changed by a caller" not in parse_pgp_key(keys[0]).user_ids
    for raw, vendor in vendors:  # enrich_vendor twice (the second from kept keys): same records
        first_vendor, second_vendor = dataclasses.replace(vendor), dataclasses.replace(vendor, identifiers={})
        assert enrich_vendor(raw, first_vendor) == enrich_vendor(raw, second_vendor)
        assert dataclasses.asdict(first_vendor) == dataclasses.asdict(second_vendor)


def test_parsed_pgp_keys_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgp, "PARSED_CACHE_SIZE", 2)
    monkeypatch.setattr(pgp, "_PARSED", pgp.OrderedDict())
    blocks = [f"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQENBF0AAA{c}=\n-----END PGP PUBLIC KEY BLOCK-----" for c in "ABC"]
    results = [parse_pgp_key(b) for b in blocks]
    assert all(not r.ok and r.error for r in results) and len(pgp._PARSED) == 2
