"""rcshop (JS-rendered), chemtrade (CAS, MOQ), pillhub (EUR in European format)."""
from __future__ import annotations

import json
import urllib.request


def fetch(tb, site: str, path: str) -> tuple[int, str]:
    with urllib.request.urlopen(tb.sites[site].base_url.rstrip("/") + path, timeout=5) as response:
        return response.status, response.read().decode("utf-8")


def test_rcshop_shell_has_no_products_but_api_does(tb) -> None:
    truth = tb.truth("rcshop")
    status, shell = fetch(tb, "rcshop", "/")
    assert status == 200 and '<script src="/static/rcshop.js">' in shell
    _, product_shell = fetch(tb, "rcshop", truth[0]["url"])
    for record in truth:
        assert record["title"] not in shell and record["title"] not in product_shell
    _, listing = fetch(tb, "rcshop", "/api/products")
    names = {p["name"] for p in json.loads(listing)["products"]}
    assert names == {t["title"] for t in truth}
    _, detail = fetch(tb, "rcshop", f"/api/products/{truth[0]['url'].rsplit('/', 1)[1]}")
    data = json.loads(detail)
    assert [t["label"] for t in data["tiers"]][:4] in (["1g", "5g", "10g", "25g"], ["10 pellets", "20 pellets", "50 pellets", "100 pellets"])
    assert "NOT FOR HUMAN CONSUMPTION" in data["disclaimer"]
    _, script = fetch(tb, "rcshop", "/static/rcshop.js")
    assert "/api/products" in script


def test_chemtrade_product_shows_cas_moq_contacts(tb) -> None:
    record = next(t for t in tb.truth("chemtrade") if t["substance"] == "apaan")
    assert record["cas"] == "4468-48-8"
    _, page = fetch(tb, "chemtrade", record["url"])
    assert '<dd class="spec-cas">4468-48-8</dd>' in page
    assert "Custom synthesis" in page and "Telegram" in page and "Western Union" in page
    assert '<dd class="spec-moq">' in page


def test_pillhub_european_prices(tb) -> None:
    record = tb.truth("pillhub")[0]
    _, page = fetch(tb, "pillhub", record["url"])
    first = record["price_tiers"][0]
    euros = f"{first['price_amount']:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    assert f"\u20ac {euros}" in page
    assert "without prescription" in page.lower() and " x " in page and "mg tablets" in page


def test_pillhub_currency_switch_reprices_same_products(tb) -> None:
    record = tb.truth("pillhub")[0]
    _, gbp = fetch(tb, "pillhub", record["url"] + "?cur=GBP")
    _, usd = fetch(tb, "pillhub", record["url"] + "?cur=USD")
    eur = record["price_tiers"][0]["price_amount"]
    assert f"\u00a3{eur * 1.08 / 1.27:,.2f}" in gbp and "All prices in GBP" in gbp
    assert f"US$ {record['price_usd']:,.2f}" in usd and "All prices in USD" in usd
    assert record["title"] in gbp and record["title"] in usd
