"""Pure text -> value parsers for listing fields (quantity, price, rates, shipping, dates, text).

Every `parse_*` returns a frozen result with `.raw`, `.ok`, `.error` and `to_dict()`; none
raises on any str input (non-str input raises TypeError).  See docs in each module.
"""
from __future__ import annotations

from parsers.pagerates import parse_page_rates
from parsers.price import Price, format_price, parse_price
from parsers.quantity import Quantity, parse_quantity
from parsers.rates import Conversion, RateTable, to_usd
from parsers.text import CleanText, clean_text, normalize_text
from parsers.tiers import PriceTier, parse_price_tiers, price_per_unit

__all__ = [
    "CleanText", "Conversion", "Price", "PriceTier", "Quantity", "RateTable",
    "clean_text", "format_price", "normalize_text", "parse_page_rates", "parse_price", "parse_price_tiers",
    "parse_quantity", "price_per_unit", "to_usd",
]
