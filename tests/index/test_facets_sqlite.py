"""SQLite facet counts and search totals, both fast paths (facet_totals kept at write time; packed
listing_facets rows counted in one pass) against a plain reference: the listings the search
returns, read back whole with iter_listings and counted in Python.  Also: the tables the writes
maintained equal a rebuild from scratch, and a schema-8 file gets them through the upgrade."""
from __future__ import annotations

import dataclasses
import random
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.records import Listing, Records, SubstanceRef
from core.vocabulary import Vocabulary
from index.api import SearchQuery
from index.facets import FACET_FIELDS, MAX_FACET_SIZE, facet_counts
from index.sqlite_backend import SqliteBackend
from index.sqlite_facets import rebuild
from index.sqlite_query import scan_in_order
from index.sqlite_schema import SCHEMA_VERSION

VOCABULARY = Vocabulary.from_groups({"mephedrone": ["4-MMC", "mcat"], "mdma": ["ecstasy", "molly"]})
# (name, class, controls): odd control ids on purpose (prefix rules), and separators in crawled text
SUBSTANCES = [
    ("mephedrone", "synthetic cathinone", ["1971:II", "nps-ews"]),
    ("4-MMC", "synthetic cathinone", ["1971:II"]),  # a synonym stored as a name of its own
    ("mdma", "phenethylamine", ["1971:I"]),
    ("cocaine", "stimulant", ["1961:I", "1971"]),
    ("ketamine", "", ["a:b:c", "a:"]),
    ("odd%1E name\x1e x", "weird\x1fclass", ["1971:"]),
]
SITES = ["nightshade", "PillHub", "vortex", "ümlaut"]
VENDORS = [None, "", "Alpha", "beta%25", "gamma\x1ex"]
ORIGINS = [None, "", "NL", "DE", "nl", "XX"]
COUNTRIES = ["DE", "NL", "US", "GB", "FR"]


def make_listing(rng: random.Random, number: int, crawled_at: str) -> Listing:
    def ref(choice: tuple[str, str, list[str]]) -> SubstanceRef:
        return SubstanceRef(name=choice[0], substance_class=choice[1], controls=list(choice[2]))

    site = rng.choice(SITES)
    return Listing(
        listing_id=f"{site.lower()}:{number}", site=site, market_kind=rng.choice(["darknet", "clearnet"]),
        url=f"http://{site}/{number}", title=f"listing {number} {rng.choice(['pure', 'crystal', 'pills'])}",
        vendor=rng.choice(VENDORS), substances=[ref(s) for s in rng.sample(SUBSTANCES, rng.choice([0, 1, 1, 2]))],
        mentioned_substances=[ref(s) for s in rng.sample(SUBSTANCES, rng.choice([0, 0, 1]))],
        origin=rng.choice(ORIGINS), destinations=rng.sample(COUNTRIES, rng.randint(0, 3)),
        destinations_excluded=rng.sample(COUNTRIES, rng.choice([0, 0, 1])), ships_worldwide=rng.random() < 0.2,
        price_usd=rng.choice([None, 10.0, 50.0, 200.0]), usd_per_unit=rng.choice([None, 5.0, 40.0]),
        crawled_at=crawled_at, first_seen="2025-12-01T00:00:00Z", last_seen=rng.choice([crawled_at, "2025-12-15T00:00:00Z"]),
    )


def reference(backend: SqliteBackend, query: SearchQuery) -> tuple[list[str], dict[str, Counter[str]]]:
    """The ids the search selects (in its order) and what facets.py documents counting for them."""
    listings = list(backend.iter_listings(query))
    counts: dict[str, Counter[str]] = {name: Counter() for name in FACET_FIELDS}
    for x in listings:
        counts["substance"].update({r.name.lower() for r in x.substances})
        counts["control"].update({c.lower() for r in x.substances for c in r.controls})
        counts["class"].update({r.substance_class.lower() for r in x.substances if r.substance_class})
        counts["destination"].update(set(x.destinations))
        for name, value in (("site", x.site.lower()), ("vendor", (x.vendor or "").lower()), ("origin", x.origin)):
            if value:
                counts[name][value] += 1
    return [x.listing_id for x in listings], counts


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteBackend]:
    """200 listings written in batches, then a later crawl that changes a third of them (substances,
    site, vendor...: what a reprocess or a re-crawl does), and one batch written twice."""
    rng = random.Random(17)
    b = SqliteBackend(tmp_path_factory.mktemp("facets") / "index.sqlite", VOCABULARY)
    first = [make_listing(rng, n, "2026-01-01T00:00:00Z") for n in range(200)]
    for start in range(0, 200, 60):
        b.write(Records(listings=first[start:start + 60]))
    changed = [dataclasses.replace(make_listing(rng, n, "2026-02-01T00:00:00Z"), listing_id=first[n].listing_id)
               for n in rng.sample(range(200), 70)]
    b.write(Records(listings=changed))
    b.write(Records(listings=changed[:10]))
    yield b
    b.close()


def queries() -> list[dict[str, object]]:
    out: list[dict[str, object]] = [{}, {"sort": "-last_seen"}, {"offset": 7, "limit": 5}, {"text": '"'}]
    for name, substance_class, controls in SUBSTANCES:
        out += [{"substance": name}, {"substance": name.upper(), "sort": "-last_seen"}, {"control": controls[0]}]
        out += [{"substance_class": substance_class}] if substance_class else []
    out += [{"substance": "molly"}, {"substance": "mcat"}, {"substance": "4-mmc", "include_mentioned": True},
            {"substance": "unknown"}, {"control": "1971"}, {"control": " 1971 "}, {"control": "a"}, {"control": "a:b"},
            {"control": "a:"}, {"control": "1971:"}, {"control": "1961"}, {"control": ":"}, {"control": " "},
            {"site": "pillhub"}, {"site": "ÜMLAUT"}, {"origin": "nl"}, {"origin": "XX"}, {"market_kind": "darknet"},
            {"vendor": "alpha"}, {"destination": "DE"}, {"text": "crystal"}, {"text": "pills", "site": "vortex"},
            {"control": "1971", "origin": "NL"}, {"substance": "mdma", "usd_per_unit_max": 10.0},
            {"control": "1971", "sort": "-last_seen", "offset": 3, "limit": 4},
            {"substance_class": "synthetic cathinone", "sort": "last_seen"}, {"price_usd_min": 0.0}]
    return out


@pytest.mark.parametrize("query", queries(), ids=repr)
def test_counts_and_totals_equal_a_plain_count(backend: SqliteBackend, query: dict[str, object]) -> None:
    q = SearchQuery(**{"limit": 20, **query})  # type: ignore[arg-type]
    ids, expected = reference(backend, q)
    got = facet_counts(backend, q, FACET_FIELDS, MAX_FACET_SIZE)
    assert {name: {c.value: c.count for c in counts} for name, counts in got.items()} == {
        name: dict(counter) for name, counter in expected.items()}
    for counts in got.values():  # most frequent first, ties by value
        assert [(-c.count, c.value) for c in counts] == sorted((-c.count, c.value) for c in counts)
    result = backend.search(q)
    assert result.total == len(ids)
    assert [h.listing.listing_id for h in result.hits] == ids[q.offset:q.offset + q.limit]


def test_facet_size_keeps_the_most_frequent(backend: SqliteBackend) -> None:
    for query in (SearchQuery(), SearchQuery(text="crystal")):
        full = facet_counts(backend, query, ["vendor", "destination"], MAX_FACET_SIZE)
        assert facet_counts(backend, query, ["vendor", "destination"], 2) == {k: v[:2] for k, v in full.items()}


def test_the_paths_in_use_are_the_ones_tested(backend: SqliteBackend) -> None:
    """Not vacuous: the one-filter searches do read facet_totals, the others do not."""
    assert backend.facet_filter(SearchQuery()) == ("", "")
    assert backend.facet_filter(SearchQuery(control=" 1971 ")) == ("control", "1971")
    assert backend.facet_filter(SearchQuery(substance="molly")) == ("substance", "mdma")
    assert backend.facet_filter(SearchQuery(substance="mcat")) is None  # "mephedrone" and "4-mmc" both stored
    assert backend.facet_filter(SearchQuery(origin="nl")) == ("origin", "NL")
    for query in (SearchQuery(text="crystal"), SearchQuery(control="1971", origin="NL"), SearchQuery(control=" "),
                  SearchQuery(substance="mdma", include_mentioned=True), SearchQuery(vendor="alpha")):
        assert backend.facet_filter(query) is None
    assert backend._query("SELECT count(*) FROM facet_totals WHERE filter_kind = 'control'")[0][0] > 20
    # the page of a broad term filter is read along listings_last_seen (checked against the reference above)
    broad = SearchQuery(control="1971", sort="-last_seen", offset=3, limit=4)
    assert scan_in_order(broad, backend.search(broad).total, 200)


def table_rows(conn: sqlite3.Connection) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    return (conn.execute("SELECT * FROM listing_facets ORDER BY rid").fetchall(),
            conn.execute("SELECT * FROM facet_totals WHERE n > 0 ORDER BY 1, 2, 3, 4").fetchall())


def test_tables_kept_by_writes_equal_a_rebuild(backend: SqliteBackend, tmp_path: Path) -> None:
    kept = table_rows(backend.conn)
    assert len(kept[0]) == 200
    assert backend._query("SELECT count(*) FROM facet_totals WHERE n <= 0")[0][0] == 0  # zeros are deleted
    backend.conn.execute("VACUUM INTO ?", (str(tmp_path / "copy.sqlite"),))
    conn = sqlite3.connect(tmp_path / "copy.sqlite", isolation_level=None)
    conn.execute("BEGIN")
    rebuild(conn, chunk=7)  # several chunks: the streamed merge of listings and terms across their edges
    assert table_rows(conn) == kept
    conn.execute("ROLLBACK")
    conn.close()


def test_a_schema_8_index_is_upgraded_with_its_counts(tmp_path: Path, backend: SqliteBackend) -> None:
    path = tmp_path / "old.sqlite"
    backend.conn.execute("VACUUM INTO ?", (str(path),))
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE listing_facets")
    conn.execute("DROP TABLE facet_totals")
    conn.execute("PRAGMA user_version=8")
    conn.commit()
    conn.close()
    upgraded = SqliteBackend(path, VOCABULARY)
    try:
        assert upgraded.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 9
        assert table_rows(upgraded.conn) == table_rows(backend.conn)
        q = SearchQuery(control="1971")
        assert facet_counts(upgraded, q) == facet_counts(backend, q)
    finally:
        upgraded.close()


@pytest.mark.parametrize("sort", ["-usd_per_unit", "usd_per_unit", "-price_usd", "-last_seen"])
def test_sorted_pages_put_unknown_values_last(backend: SqliteBackend, sort: str) -> None:
    """Descending sorts no longer say (x IS NULL) ASC: NULL already sorts lowest; checked against Python."""
    field, descending = sort.lstrip("-"), sort.startswith("-")
    listings = list(backend.iter_listings(SearchQuery()))
    known = [x for x in listings if getattr(x, field) is not None]
    known.sort(key=lambda x: x.listing_id)
    known.sort(key=lambda x: getattr(x, field), reverse=descending)  # stable: ties keep listing_id order
    expected = [x.listing_id for x in known] + sorted(x.listing_id for x in listings if getattr(x, field) is None)
    got = [h.listing.listing_id for h in backend.search(SearchQuery(sort=sort, limit=500)).hits]
    assert got == expected
    assert any(getattr(x, field) is None for x in listings) or field == "last_seen"
