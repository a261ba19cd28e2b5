"""Hostile search text and bad dates/numbers: the same answers from the CLI and the dashboard.

Search text is words, never FTS5 syntax: quotes, operators, column filters and
punctuation are either words or nothing, so no query can fail or reach the engine as
syntax.  Text without a searchable word is no text filter at all (like an empty query)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest
from click.testing import CliRunner

from core.records import Records
from dashboards.api import ApiSettings, create_app
from enrich.vocabulary import default_vocabulary
from index import open_index
from index.api import SearchQuery
from testbed.synthetic_index import generate
from tests.dashboards.test_api import ADMIN, READ, LiveServer
from trawl.cli import cli, main

N_LISTINGS = 40

# (text, expected total): None = every listing (no searchable word), 0 = no match, "some" = at least one
HOSTILE: list[tuple[str, int | str | None]] = [
    ('"', None), ("'", None), ("*", None), ("(", None), (")", None), ("^", None), ("-", None), ("", None),
    ("   ", None),
    ('""', None), ("\u202e", None), ("🙂", None), ("\x00", None),
    ("NEAR(", 0), ("NEAR(coke cocaine)", 0), ("AND", 0), ("OR", 0), ("NOT", 0), ("x OR y", 0), ("cocaine NOT", 0),
    ("-x", 0), ("col:val", 0), ("title:cocaine", 0), ("{title description}: cocaine", 0), ('a"b', 0),
    ("ñandú", 0), ("ǅ", 0), ("e\u0301", 0), ("x" * 5000, 0), (" ".join(f"w{i}" for i in range(500)), 0),
    ('"cocaine', "some"), ("cocaine*", "some"), ("^cocaine", "some"), ("(cocaine)", "some"), ("coke \x00", "some"),
    ("COKE", "some"), (" ".join(["coke"] * 200), "some"),
]


@pytest.fixture(scope="module")
def index_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('index') / 'index.sqlite'}"
    data = generate(n_listings=N_LISTINGS, days=20)
    with open_index(url) as backend:
        backend.write(Records(listings=data.listings, snapshots=data.snapshots, vendors=data.vendors,
                      candidates=data.candidates))
    yield url


@pytest.fixture(scope="module")
def dashboard(index_url: str) -> Iterator[str]:
    index = open_index(index_url, vocabulary=default_vocabulary())
    server = LiveServer(create_app(ApiSettings(admin_token=ADMIN, read_token=READ), index=index))
    yield f"http://127.0.0.1:{server.port}"
    server.stop()
    index.close()


def get(url: str) -> Any:
    """GET with the analyst token, as every dashboard route needs it."""
    return urlopen(Request(url, headers={"Authorization": f"Bearer {READ}"}), timeout=20)


def check_total(total: int, expected: int | str | None) -> None:
    if expected is None:
        assert total == N_LISTINGS
    elif expected == "some":
        assert 0 < total < N_LISTINGS
    else:
        assert total == expected


@pytest.mark.parametrize("text, expected", HOSTILE, ids=[repr(t[:20]) for t, _ in HOSTILE])
def test_hostile_text_on_cli_and_dashboard(index_url: str, dashboard: str, text: str,
                                           expected: int | str | None) -> None:
    # CLI: "--" so that text starting with "-" is text; every sort order (relevance uses bm25/snippet)
    for sort in ("relevance", "-usd_per_unit"):
        result = CliRunner().invoke(cli, ["search", "--json", "--sort", sort, "--index-url", index_url, "--", text],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        check_total(json.loads(result.output)["total"], expected)
    # dashboard: JSON API and the HTML page
    with get(f"{dashboard}/api/search?{urlencode({'q': text})}") as response:
        assert response.status == 200
        check_total(json.loads(response.read())["total"], expected)
    with get(f"{dashboard}/?{urlencode({'q': text})}") as response:
        assert response.status == 200 and "listing(s)" in response.read().decode()
    # export streams through the same query path
    with open_index(index_url) as backend:
        exported = sum(1 for _ in backend.iter_listings(SearchQuery(text=text)))
        assert exported == backend.search(SearchQuery(text=text)).total
        list(backend.iter_snapshots(SearchQuery(text=text)))


def test_synonyms_still_work_through_the_quoting(index_url: str) -> None:
    with open_index(index_url, vocabulary=default_vocabulary()) as backend:
        coke = backend.search(SearchQuery(text="coke", limit=100))
        quoted = backend.search(SearchQuery(text='"coke"', limit=100))
        mcat = backend.search(SearchQuery(text='"mcat"', limit=100))
    assert coke.total > 0 and {h.listing.listing_id for h in coke.hits} == {h.listing.listing_id for h in quoted.hits}
    assert all(any(s.name == "cocaine" for s in h.listing.substances) for h in coke.hits)
    # "mcat" is a synonym of mephedrone: found through the vocabulary, quotes and all
    assert mcat.total > 0 and all(any(s.name == "mephedrone" for s in h.listing.substances) for h in mcat.hits)


@pytest.mark.parametrize("args, message", [
    (["trends", "--from", "2026-13-45"], "error: --from: '2026-13-45' is not a valid date"),
    (["trends", "--to", "2026-02-30"], "error: --to: '2026-02-30' is not a valid date"),
    (["trends", "--from", "yesterday"], "error: --from: 'yesterday' is not an ISO-8601 time"),
    (["trends", "--to", "2026-01-01T25:00:00Z"], "error: --to: '2026-01-01T25:00:00Z' is not an ISO-8601 time"),
    (["search", "--first-seen-from", "2026-00-10"], "error: --first-seen-from: '2026-00-10' is not a valid date"),
    (["search", "--last-seen-to", "2026-04-31"], "error: --last-seen-to: '2026-04-31' is not a valid date"),
    (["search", "--price-min", "nan"], "error: --price-min: expected a finite number, got 'nan'"),
    (["search", "--ppu-max", "inf"], "error: --ppu-max: expected a finite number, got 'inf'"),
    (["search", "--price-max", "cheap"], "error: --price-max: expected a number, got 'cheap'"),
    (["search", "--limit", "-1"], "error: --limit: -1 is outside 0..1000000000"),
    (["search", "--offset", "99999999999999999999"], "error: --offset: 99999999999999999999 is outside 0..1000000000"),
    (["export", "snapshots", "--out", "x.csv", "--crawled-from", "2026-99-01"],
     "error: --crawled-from: '2026-99-01' is not a valid date"),
    (["export", "trends", "--out", "x.csv", "--to", "2026-02-31"], "error: --to: '2026-02-31' is not a valid date"),
    (["export", "listings", "--out", "x.csv", "--price-min", "nan"], "error: --price-min: expected a finite number"),
])
def test_bad_dates_and_numbers_are_one_line_exit_2(index_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str], args: list[str],
                                                   message: str) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--index-url", index_url])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.startswith(message) and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []  # nothing exported


def test_good_dates_still_work(index_url: str) -> None:
    result = CliRunner().invoke(cli, ["trends", "--from", "2025-01-01", "--to", "2025-12-31T23:59:59+02:00", "--json",
                                      "--index-url", index_url], catch_exceptions=False)
    assert result.exit_code == 0 and json.loads(result.output)


def test_dashboard_date_free_params_are_422(dashboard: str) -> None:
    for query in ({"sort": "colour"}, {"limit": "-1"}, {"price_min": "nan"}):
        with pytest.raises(HTTPError) as info:
            get(f"{dashboard}/?{urlencode({'q': 'coke', **query})}")
        assert info.value.code == 422, query
