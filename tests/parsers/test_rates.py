"""Rate table (file formats, errors naming file and line), page rates, conversion sources."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from core.errors import TrawlError
from parsers import RateTable, parse_page_rates, parse_price, price_to_usd, to_usd
from parsers.rates import DEFAULT_RATES_FILE

REQUIRED = ("USD", "EUR", "GBP", "AUD", "CAD", "CHF", "SEK", "PLN", "BTC", "XMR", "LTC", "ETH")


def test_default_table_covers_required_currencies_2018_to_2026_and_says_approximate() -> None:
    table = RateTable.default()
    assert set(REQUIRED) <= set(table.currencies)
    header = DEFAULT_RATES_FILE.read_text(encoding="utf-8").splitlines()[0]
    assert "APPROXIMATE" in header
    for year in range(2018, 2027):
        for code in REQUIRED:
            conv = to_usd(1.0, code, rates=table, when=f"{year}-06-15")
            assert conv.ok and conv.usd and conv.usd > 0, (code, year)
            if code != "USD":
                assert conv.rate_source and conv.rate_source.startswith(f"table:default:{year}-")


@pytest.mark.parametrize(("code", "when", "low", "high"), [
    ("BTC", "2019-03-04", 3000, 5000), ("BTC", "2021-04-10", 50000, 65000), ("BTC", "2024-12-20", 80000, 110000),
    ("XMR", "2019-03-04", 40, 60), ("EUR", "2022-10-01", 0.95, 1.05), ("GBP", "2019-06-01", 1.2, 1.35),
    ("CHF", "2025-09-01", 1.15, 1.3), ("PLN", "2020-06-01", 0.23, 0.28), ("ETH", "2021-11-15", 3500, 5000),
])
def test_default_rates_are_plausible(code: str, when: str, low: float, high: float) -> None:
    conv = to_usd(1.0, code, rates=RateTable.default(), when=when)
    assert low <= (conv.rate or 0) <= high


def test_csv_file_and_lookup_picks_latest_point_on_or_before(tmp_path: Path) -> None:
    f = tmp_path / "rates.csv"
    f.write_text("# my rates\ndate,currency,usd_per_unit\n2019-03,BTC,4000\n2019-03-15,BTC,4200\n2019-04-01,btc,5000\n", encoding="utf-8")
    table = RateTable.from_file(f)
    assert to_usd(1, "BTC", rates=table, when="2019-03-10").usd == 4000
    c = to_usd(2, "BTC", rates=table, when=datetime(2019, 3, 20, tzinfo=timezone.utc))
    assert (c.usd, c.rate, c.rate_source) == (8400, 4200, "table:rates:2019-03-15")
    assert to_usd(1, "BTC", rates=table, when="2019-05-01").usd == 5000
    early = to_usd(1, "BTC", rates=table, when="2018-01-01")
    assert early.usd == 4000 and "precedes" in early.notes[0]


def test_json_file(tmp_path: Path) -> None:
    f = tmp_path / "r.json"
    f.write_text(json.dumps({"rates": [{"date": "2020-01", "currency": "EUR", "usd_per_unit": 1.11}]}), encoding="utf-8")
    assert to_usd(10, "EUR", rates=RateTable.from_file(f), when="2020-02-02").usd == pytest.approx(11.1)


@pytest.mark.parametrize(("content", "needle"), [
    ("date,currency,usd_per_unit\n2019-03,BTC,abc\n", ":2: field 'usd_per_unit'"),
    ("date,currency,usd_per_unit\n2019-03,BTC,4000\n03/2019,BTC,1\n", ":3: field 'date'"),
    ("date,currency,usd_per_unit\n2019-03,B1,4000\n", ":2: field 'currency'"),
    ("date,currency,usd_per_unit\n2019-03,BTC,-5\n", ":2: field 'usd_per_unit'"),
    ("day,cur,rate\n2019-03,BTC,1\n", ":1: header"),
    ("date,currency,usd_per_unit\n2019-03,BTC\n", ":2:"),
    ("# only a comment\n", "empty rate file"),
])
def test_malformed_csv_names_file_and_line(tmp_path: Path, content: str, needle: str) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(TrawlError) as err:
        RateTable.from_file(f)
    assert str(f) in str(err.value) and needle in str(err.value)


def test_malformed_json_and_missing_file(tmp_path: Path) -> None:
    f = tmp_path / "bad.json"
    f.write_text('[{"date": "2019-01", "currency": "EUR"', encoding="utf-8")
    with pytest.raises(TrawlError, match=r"bad\.json:1: invalid JSON"):
        RateTable.from_file(f)
    f.write_text('[{"date": "2019-01", "currency": "EUR", "usd_per_unit": "x"}]', encoding="utf-8")
    with pytest.raises(TrawlError, match=r"rates\[0\]: field 'usd_per_unit'"):
        RateTable.from_file(f)
    with pytest.raises(TrawlError, match="cannot read"):
        RateTable.from_file(tmp_path / "missing.csv")


def test_page_rates_win_and_are_recorded() -> None:
    table = RateTable.default().with_page_rates(parse_page_rates("1 BTC = 8,512.33 USD"), source="nightshade")
    c = to_usd(0.01, "BTC", rates=table, when="2019-03-04")
    assert (c.usd, c.rate_source) == (pytest.approx(85.1233), "page:nightshade")
    assert to_usd(10, "EUR", rates=table, when="2019-03-04").rate_source == "table:default:2019-03"
    assert to_usd(5, "usd", rates=table).rate_source == "identity"
    assert RateTable.default().page_rates == {}  # the original is unchanged


def test_conversion_failures_are_results() -> None:
    table = RateTable.default()
    assert to_usd(1, "DOGE", rates=table).error == "no rate for DOGE"
    assert not to_usd(None, "USD", rates=table).ok
    assert not to_usd(1.0, None, rates=table).ok
    c = to_usd(1.0, "EUR", rates=table, when="garbage")
    assert c.ok and "unreadable date" in c.notes[0]


def test_stated_usd_equivalent_is_the_pages_own_rate() -> None:
    c = price_to_usd(parse_price("0.0021 BTC (≈ $85)"), rates=RateTable.default(), when="2019-03-04")
    assert (c.usd, c.rate_source) == (85.0, "page:stated")
    c2 = price_to_usd(parse_price("0.0021 BTC (≈ $85)"), rates=RateTable.default(), when="2019-03-04", prefer_stated=False)
    assert c2.rate_source == "table:default:2019-03" and c2.usd == pytest.approx(0.0021 * 3800)


PAGE_RATES = [
    ("1 BTC = 8,512.33 USD", {"BTC": 8512.33}),
    ("BTC/USD: 9 001.12", {"BTC": 9001.12}),
    ("XMR $142.10", {"XMR": 142.10}),
    ("XMR/USD 95.31 BTC/USD 9045.89", {"XMR": 95.31, "BTC": 9045.89}),  # vortex header
    ("BTC 9045.89 XMR 95.31", {}),  # a ticker without a USD figure gives nothing
    ("All prices in EUR (1 € = 1.09 US$)", {}),  # pillhub states it in prose; not a supported form
    ("1 EUR = 1.09 USD", {"EUR": 1.09}),
    ("1 USD = 0.92 EUR", {"EUR": pytest.approx(1 / 0.92)}),
    ("1 XMR = 0.0123 BTC, 1 BTC = 9000 USD", {"BTC": 9000.0, "XMR": pytest.approx(110.7)}),
    ("BTC: $9,001.50 | XMR: $95.20 | LTC: $60.10", {"BTC": 9001.5, "XMR": 95.2, "LTC": 60.1}),
    ("nothing here", {}),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(*r, id=f"page-rates: {r[0]}") for r in PAGE_RATES])
def test_parse_page_rates(text: str, expected: dict[str, float]) -> None:
    got = parse_page_rates(text)
    assert got == {k: (v if hasattr(v, "expected") else pytest.approx(v)) for k, v in expected.items()}
