"""Pure text -> value parsers for listing fields (quantity, price, rates, shipping, dates, text).

Every `parse_*` returns a frozen result with `.raw`, `.ok`, `.error` and `to_dict()`; none
raises on any str input (non-str input raises TypeError).  Each module documents its rules.
"""
from __future__ import annotations

from parsers.adapters import (
    ListingPrice,
    listing_price,
    listing_tier,
    offer_quantity,
    page_rate_table,
    tier_fields,
    usd_per_unit,
)
from parsers.dates import DateResult, parse_date
from parsers.numbers import IntResult, parse_int
from parsers.options import EscrowResult, ShippingOptionResult, parse_escrow, parse_shipping_option
from parsers.pagerates import parse_page_rates
from parsers.price import Price, format_price, parse_price
from parsers.quantity import Quantity, parse_quantity
from parsers.rates import Conversion, RateTable, to_usd
from parsers.regions import country_code
from parsers.shipping import Shipping, parse_shipping
from parsers.text import CleanText, clean_text, normalize_text
from parsers.tiers import PriceTier, parse_price_tiers, price_per_unit, price_to_usd

__all__ = [
    "CleanText", "Conversion", "DateResult", "EscrowResult", "IntResult", "ListingPrice", "Price", "PriceTier",
    "Quantity", "RateTable", "Shipping", "ShippingOptionResult",
    "clean_text", "country_code", "format_price", "listing_price", "listing_tier", "normalize_text", "offer_quantity", "page_rate_table",
    "parse_date", "parse_escrow", "parse_int",
    "parse_page_rates", "parse_price", "parse_price_tiers", "parse_quantity", "parse_shipping",
    "parse_shipping_option", "price_per_unit", "price_to_usd", "tier_fields", "to_usd", "usd_per_unit",
]
