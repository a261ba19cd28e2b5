from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from core.errors import TrawlError
from core.records import CandidateSubstance, Records, Vendor
from enrich.vocabulary import default_vocabulary
from index import open_index
from index.api import SearchQuery
from index.sqlite_backend import SqliteBackend

from .records import CANDIDATES, LISTINGS, SNAPSHOTS, VENDORS


@pytest.fixture
def backend(tmp_path: Path) -> SqliteBackend:
    b = SqliteBackend(tmp_path / "index.sqlite", default_vocabulary())
    b.write(Records(listings=LISTINGS, snapshots=SNAPSHOTS, vendors=VENDORS, candidates=CANDIDATES))
    yield b
    b.close()


def ids(backend: SqliteBackend, **query: object) -> list[str]:
    return [h.listing.listing_id for h in backend.search(SearchQuery(limit=100, **query)).hits]  # type: ignore[arg-type]


def test_open_index_defaults_to_trawl_home(trawl_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRAWL_INDEX_URL", raising=False)
    with open_index() as b:
        b.write(Records(listings=LISTINGS[:1]))
        assert b.counts()["listings"] == 1
    assert (trawl_home / "index.sqlite").is_file()


def test_open_index_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "sub" / "x.sqlite"
    monkeypatch.setenv("TRAWL_INDEX_URL", f"sqlite://{target}")
    with open_index() as b:
        assert isinstance(b, SqliteBackend) and b.path == target
    with pytest.raises(TrawlError, match="unsupported scheme"):
        open_index("ftp://x")


def test_counts_and_roundtrip(backend: SqliteBackend) -> None:
    assert backend.counts() == {"listings": 5, "snapshots": 7, "vendors": 1, "candidates": 1}
    stored = backend.get_listing("nightshade:1")
    assert stored == LISTINGS[0]
    assert backend.get_listing("nope:1") is None
    assert [x.listing_id for x in backend.iter_listings()] == sorted(x.listing_id for x in LISTINGS)


def test_rewrite_is_idempotent(backend: SqliteBackend) -> None:
    before = (backend.counts(), list(backend.iter_listings()), list(backend.iter_snapshots()), backend.vendors(), backend.candidates())
    backend.write(Records(listings=LISTINGS, snapshots=SNAPSHOTS, vendors=VENDORS, candidates=CANDIDATES))
    after = (backend.counts(), list(backend.iter_listings()), list(backend.iter_snapshots()), backend.vendors(), backend.candidates())
    assert after == before
    assert backend.candidates()[0].occurrences == 1


def test_listing_upsert_keeps_seen_range(backend: SqliteBackend) -> None:
    older = dataclasses.replace(LISTINGS[0], title="old title", crawled_at="2025-06-01T00:00:00Z",
                                first_seen="2025-06-01T00:00:00Z", last_seen="2025-06-01T00:00:00Z")
    newer = dataclasses.replace(LISTINGS[0], title="new title", crawled_at="2026-03-01T00:00:00+01:00",
                                first_seen="2026-03-01T00:00:00+01:00", last_seen="2026-03-01T00:00:00+01:00")
    backend.write(Records(listings=[newer]))
    backend.write(Records(listings=[older]))  # a late backfill must not overwrite newer content
    got = backend.get_listing("nightshade:1")
    assert got is not None
    assert (got.title, got.first_seen, got.last_seen) == ("new title", "2025-06-01T00:00:00Z", "2026-02-28T23:00:00Z")
    assert ids(backend, text="new") == ["nightshade:1"]
    assert ids(backend, text="crystal") == []  # the FTS row was replaced, not duplicated


def test_vendor_and_candidate_merge(backend: SqliteBackend) -> None:
    backend.write(Records(vendors=[Vendor(vendor_id="nightshade:dutchchems", site="nightshade", name="DutchChems",
                                  pgp_fingerprints=["BBBB", "AAAA"], identifiers={"btc": ["bc1qbbb"], "xmr": ["4x"]},
                                  first_seen="2026-01-20T00:00:00Z", last_seen="2026-01-20T00:00:00Z", sales=10)]))
    (v,) = backend.vendors("dutchchems")
    assert v.pgp_fingerprints == ["AAAA", "BBBB"]
    assert v.identifiers == {"btc": ["bc1qaaa", "bc1qbbb"], "xmr": ["4x"]}
    assert (v.first_seen, v.last_seen, v.sales) == ("2026-01-05T00:00:00Z", "2026-01-20T00:00:00Z", 10)
    more = CandidateSubstance(token="3-cmc", first_seen="2026-01-01T00:00:00Z", last_seen="2026-01-30T00:00:00Z",
                              site="vortex", example_listing_ids=["vortex:8", "vortex:9"])
    backend.write(Records(candidates=[more]))
    backend.write(Records(candidates=[more]))
    (c,) = backend.candidates()
    assert (c.token, c.occurrences, c.example_listing_ids) == ("3-cmc", 2, ["vortex:8", "vortex:9"])
    assert (c.first_seen, c.last_seen) == ("2026-01-01T00:00:00Z", "2026-01-30T00:00:00Z")
    assert backend.candidates(since="2026-01-02") == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"text": "mephedrone"}, {"nightshade:1", "pillhub:3"}),
        ({"text": "mcat"}, {"nightshade:1", "pillhub:3"}),  # synonym
        ({"text": "4-mmc crystal"}, {"nightshade:1"}),
        ({"substance": "MEPHEDRONE"}, {"nightshade:1", "pillhub:3"}),
        ({"substance": "4-mmc"}, {"nightshade:1", "pillhub:3"}),
        ({"control": "1971"}, {"nightshade:1", "pillhub:3", "vortex:7"}),
        ({"control": "1971:IV"}, {"vortex:7"}),
        ({"control": "197"}, set()),
        ({"substance_class": "Stimulant"}, {"nightshade:2"}),
        ({"site": "vortex"}, {"vortex:7", "vortex:8"}),
        ({"market_kind": "pharmacy"}, {"pillhub:3"}),
        ({"vendor": "dutchchems"}, {"nightshade:1", "vortex:7"}),
        ({"vendor": "nightshade:dutchchems"}, {"nightshade:1"}),
        ({"origin": "nl"}, {"nightshade:1"}),
        ({"destination": "DE"}, {"nightshade:1", "nightshade:2", "pillhub:3"}),
        ({"destination": "US"}, {"pillhub:3"}),  # nightshade:2 is worldwide but excludes US
        ({"price_usd_min": 95, "price_usd_max": 200}, {"nightshade:1", "vortex:7"}),
        ({"usd_per_unit_max": 15}, {"vortex:7", "pillhub:3"}),
        ({"first_seen_to": "2025-12-31"}, {"nightshade:2"}),
        ({"last_seen_from": "2026-01-15"}, {"vortex:7"}),
    ],
)
def test_filters(backend: SqliteBackend, query: dict[str, object], expected: set[str]) -> None:
    result = backend.search(SearchQuery(limit=100, **query))  # type: ignore[arg-type]
    assert {h.listing.listing_id for h in result.hits} == expected
    assert result.total == len(expected)


def test_sort_paging_and_highlight(backend: SqliteBackend) -> None:
    assert ids(backend, sort="usd_per_unit") == ["vortex:7", "pillhub:3", "nightshade:1", "nightshade:2", "vortex:8"]
    assert ids(backend, sort="-price_usd") == ["pillhub:3", "vortex:7", "nightshade:1", "nightshade:2", "vortex:8"]
    page = backend.search(SearchQuery(sort="-price_usd", limit=2, offset=1))
    assert page.total == 5 and [h.listing.listing_id for h in page.hits] == ["vortex:7", "nightshade:1"]
    hit = backend.search(SearchQuery(text="fishscale")).hits[0]
    assert "[fishscale]" in hit.highlight and hit.score > 0
    with pytest.raises(TrawlError, match="sort"):
        backend.search(SearchQuery(sort="colour"))


def test_iter_snapshots_filters(backend: SqliteBackend) -> None:
    snaps = list(backend.iter_snapshots(SearchQuery(substance="mephedrone", crawled_from="2026-01-12", crawled_to="2026-01-19")))
    assert [(s.listing_id, s.crawled_at) for s in snaps] == [
        ("nightshade:1", "2026-01-12T00:00:00Z"), ("pillhub:3", "2026-01-12T00:00:00Z"), ("nightshade:1", "2026-01-19T00:00:00Z")
    ]


def test_failed_batch_leaves_nothing(backend: SqliteBackend) -> None:
    bad = dataclasses.replace(LISTINGS[0], listing_id="nightshade:99", crawled_at="not a time")
    with pytest.raises(TrawlError, match=r"nightshade:99\.crawled_at"):
        backend.write(Records(listings=[dataclasses.replace(LISTINGS[1], listing_id="nightshade:98"), bad]))
    assert backend.counts()["listings"] == 5
    assert backend.integrity_check() == "ok"


def test_substance_filter_resolves_reference_list_names(tmp_path: Path) -> None:
    """A name only enrich/'s reference lists know still finds the canonical substance."""
    from core.records import SubstanceRef
    from enrich.lists import default_lists

    vocabulary = default_vocabulary()
    lists = default_lists()
    # a street name: resolves through the aliases though it is in no search group
    entry = next(e for e in lists.names.values() if e.canonical.lower() != e.text.lower() and e.context_only
                 and e.text.lower() not in (n.lower() for n in vocabulary.groups[e.canonical]))
    b = SqliteBackend(tmp_path / "i.sqlite", vocabulary)
    b.write(Records(listings=[dataclasses.replace(LISTINGS[4], substances=[SubstanceRef(name=entry.canonical)])]))
    assert [h.listing.listing_id for h in b.search(SearchQuery(substance=entry.text)).hits] == ["vortex:8"]
    # without a vocabulary the index knows no names: the filter matches canonical names only
    bare = SqliteBackend(tmp_path / "i.sqlite")
    assert bare.search(SearchQuery(substance=entry.text)).total == 0
    assert [h.listing.listing_id for h in bare.search(SearchQuery(substance=entry.canonical)).hits] == ["vortex:8"]


def test_odd_paths_and_streaming_reads(tmp_path: Path) -> None:
    odd = tmp_path / "dir with space #1?" / "index.sqlite"
    b = SqliteBackend(odd)
    b.write(Records(listings=LISTINGS, snapshots=SNAPSHOTS))
    assert len(list(b.iter_listings(SearchQuery(text="mephedrone")))) == 2
    assert len(list(b.iter_snapshots())) == len(SNAPSHOTS)
    b.close()
