"""A page object named in the YAML overrides single fields; YAML selectors still run."""
from __future__ import annotations

import json
from pathlib import Path

from crawler.engine.sitetest import extract_page
from crawler.sitedef.pages import PageInput
from crawler.sitedef.pages.base import SelectorPage
from crawler.sitedef.siteconfig import load_site_file


class OfferJsonPage(SelectorPage):
    """Tiers live in a JSON blob the page's script would render."""

    def field_price_tiers(self) -> list[str] | None:
        raw = self.css("script#offer::text").get()
        if not raw:
            return None
        return [f"{t['qty']} {t['price']}" for t in json.loads(raw)["tiers"]]


YAML = """\
name: jsonshop
kind: vendor-shop
network: clearnet
mirrors: [http://127.0.0.1:9]
start_urls: [/]
listing:
  url_pattern: '^/p/\\d+$'
  id_from_url: '^/p/(\\d+)$'
  page_object: tests.crawler.test_page_objects.OfferJsonPage
  fields:
    title: "h1"
    price_tiers: "li.tier"
"""


def test_page_object_overrides_one_field(tmp_path: Path) -> None:
    path = tmp_path / "jsonshop.yaml"
    path.write_text(YAML)
    site = load_site_file(path, env={})
    html = ('<h1>Bromazolam pellets</h1><script id="offer">{"tiers": [{"qty": "10 pellets", "price": "€20"},'
            ' {"qty": "50 pellets", "price": "€80"}]}</script>')
    kind, result, _ = extract_page(site, PageInput("http://127.0.0.1:9/p/7", html))
    assert kind == "listing" and result is not None
    assert result.fields == {"title": "Bromazolam pellets", "native_id": "7",
                             "price_tiers": ["10 pellets €20", "50 pellets €80"]}
    assert result.selectors["price_tiers"] == "OfferJsonPage.field_price_tiers()"
    # without the blob the YAML selector's value stands
    _, plain, _ = extract_page(site, PageInput("http://127.0.0.1:9/p/8", "<h1>x</h1><li class='tier'>1 g €5</li>"))
    assert plain is not None and plain.fields["price_tiers"] == ["1 g €5"]


def test_nightshade_page_object_states_the_rate_unit() -> None:
    from crawler.sitedef.siteconfig import load_site

    site = load_site("nightshade", env={})
    html = ('<h1 class="title">x</h1><table class="exchangeRateListing"><tr><td class="cur">BTC</td>'
            '<td class="rate" data-cur="BTC">64000.00</td></tr><tr><td class="cur">XMR</td>'
            '<td class="rate" data-cur="XMR">160.00</td></tr></table>')
    _, result, _ = extract_page(site, PageInput("http://x.onion/listing/123", html))
    assert result is not None and result.fields["page_rates"] == ["1 BTC = 64000.00 USD", "1 XMR = 160.00 USD"]
    import parsers

    assert parsers.parse_page_rates("\n".join(result.fields["page_rates"])) == {"BTC": 64000.0, "XMR": 160.0}
