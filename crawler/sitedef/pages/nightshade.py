"""nightshade: the exchange box is a bare two-column table (currency | number) whose unit
(USD per coin) is only implied; the parsers need it stated, so the rows are restated."""
from __future__ import annotations

from crawler.sitedef.pages.base import SelectorPage


class NightshadeListing(SelectorPage):
    def field_page_rates(self) -> list[str] | None:
        rates = []
        for cell in self.css("table.exchangeRateListing td.rate"):
            currency, value = cell.attrib.get("data-cur"), (cell.css("::text").get() or "").strip()
            if currency and value:
                rates.append(f"1 {currency} = {value} USD")
        return rates or None
