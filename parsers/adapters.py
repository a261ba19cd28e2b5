"""Adapters: the page strings of one listing → the values a stored listing holds.

The crawl's parse stage calls these instead of combining parsers by hand, so the rules that
decide a stored value live here, next to the parsers, and are tested here:
- a USD amount the page states beside a price ("0.1234 XMR (USD 19.75)") is the price in USD;
  a rate (page ticker, then the built-in table) converts only when the page states none;
- USD values are stored to the cent, USD per unit to four decimals;
- a stated but unknown/worldwide origin is "XX" (`Shipping.to_listing_fields()`).

Every result keeps the raw text beside the clean values; `to_listing_fields()` names them as
`core.records.Listing` does (parsers import nothing of the index).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from parsers._base import Result
from parsers.pagerates import parse_page_rates
from parsers.price import parse_price
from parsers.quantity import Quantity, parse_quantity
from parsers.rates import RateTable
from parsers.tiers import PriceTier, price_per_unit, price_to_usd

When = str | datetime | date | None


def page_rate_table(texts: Sequence[str] | str, *, source: str, base: RateTable | None = None) -> RateTable:
    """`base` (default: the built-in table) with the rates the page states; `source` names them.

    >>> table = page_rate_table(["XMR/USD 160.12", "BTC/USD 64233.10"], source="vortex")
    >>> table.rate("XMR")[:2]
    (160.12, 'page:vortex')
    >>> page_rate_table("no rates here", source="vortex").page_rates
    {}
    """
    table = base if base is not None else RateTable.default()
    text = texts if isinstance(texts, str) else "\n".join(texts)
    rates = parse_page_rates(text) if text.strip() else {}
    return table.with_page_rates(rates, source) if rates else table


@dataclass(frozen=True)
class ListingPrice(Result):
    raw: str
    ok: bool = False
    error: str | None = None  # why no price was read
    amount: float | None = None
    currency: str | None = None
    usd: float | None = None  # to the cent
    rate_source: str | None = None  # "page:stated", "page:<site>", "table:<name>:<date>", "identity"
    usd_error: str | None = None  # why a read price has no USD value (no rate for its currency)
    per_unit: str | None = None  # "g" | "ml" | "unit" when the price is a unit price ("3.10 USD/gram")
    per_amount: float | None = None  # how much of `per_unit` the price buys

    def to_listing_fields(self) -> dict[str, Any]:
        """`core.records.Listing` price fields."""
        return {"price_amount": self.amount, "price_currency": self.currency, "price_usd": self.usd,
                "rate_source": self.rate_source}


def listing_price(text: str, *, rates: RateTable, when: When = None, currency_hint: str | None = None,
                  site_locale: str | None = None) -> ListingPrice:
    """The listed price and its USD value; a USD amount the page states beside it wins.

    >>> table = RateTable.default()
    >>> p = listing_price("0.1234 XMR (USD 19.75)", rates=table, when="2026-08-03")
    >>> (p.raw, p.amount, p.currency, p.usd, p.rate_source)
    ('0.1234 XMR (USD 19.75)', 0.1234, 'XMR', 19.75, 'page:stated')
    >>> listing_price("0.1234 XMR", rates=table, when="2026-08-03").to_listing_fields()
    {'price_amount': 0.1234, 'price_currency': 'XMR', 'price_usd': 46.89, 'rate_source': 'table:default:2026-07'}
    >>> listing_price("$1,234.56", rates=table).to_listing_fields()
    {'price_amount': 1234.56, 'price_currency': 'USD', 'price_usd': 1234.56, 'rate_source': 'identity'}
    >>> p = listing_price("250 NOK", rates=table)
    >>> (p.ok, p.amount, p.currency, p.usd, p.usd_error)
    (True, 250.0, 'NOK', None, 'no rate for NOK')
    >>> listing_price("ask vendor", rates=table).ok
    False
    """
    price = parse_price(text, site_locale=site_locale, currency_hint=currency_hint)
    if not price.ok:
        return ListingPrice(raw=text, error=price.error or "unparsed")
    conv = price_to_usd(price, rates=rates, when=when)
    if not conv.ok or conv.usd is None:
        return ListingPrice(raw=text, ok=True, amount=price.amount, currency=price.currency,
                            usd_error=conv.error or "not converted", per_unit=price.per_unit,
                            per_amount=price.per_amount)
    return ListingPrice(raw=text, ok=True, amount=price.amount, currency=price.currency, usd=round(conv.usd, 2),
                        rate_source=conv.rate_source, per_unit=price.per_unit, per_amount=price.per_amount)


def offer_quantity(price: ListingPrice | None, quantity: Quantity | None) -> Quantity | None:
    """The size the stored price buys: a unit price ("3.10 USD/gram") buys its own unit, whatever
    size the title names ("1 OZ" there is a tier or the stock, and dividing by it would make the
    per-gram price 28x too low); otherwise the title's quantity.  The strength read from the title
    is kept.

    >>> p = listing_price("3.10 USD/gram", rates=RateTable.default())
    >>> q = offer_quantity(p, parse_quantity("Lemon Haze 1 OZ"))
    >>> (q.amount, q.unit, usd_per_unit(p.usd, q))
    (1.0, 'g', 3.1)
    >>> offer_quantity(listing_price("$90", rates=RateTable.default()), parse_quantity("1 OZ")).amount
    28.349523
    """
    if price is None or not price.ok or price.per_unit is None or not price.per_amount:
        return quantity
    title = quantity.raw if quantity is not None else ""
    unit, amount = price.per_unit, price.per_amount
    return Quantity(raw=title, ok=True, amount=amount, unit=unit,
                    count=int(amount) if unit == "unit" and float(amount).is_integer() else None,
                    dose_mg=quantity.dose_mg if quantity else None, dose_unit=quantity.dose_unit if quantity else None,
                    dose_value=quantity.dose_value if quantity else None,
                    purity_pct=quantity.purity_pct if quantity else None,
                    matched=price.raw, notes=[f"offer size from the unit price {price.raw!r}"])


def listing_tier(text: str, *, rates: RateTable, when: When = None, currency_hint: str | None = None) -> PriceTier:
    """One price-tier row ("5 g - 0.4321 XMR"): quantity and price read from the same text, USD as
    `listing_price` does it.  `ok` is False, with the reason, when either is missing; a tier whose
    currency has no rate is ok with `price_usd` None and the reason in `error`.

    >>> t = listing_tier("5 g 0.4321 XMR (USD 69.00)", rates=RateTable.default())
    >>> (t.ok, t.quantity.amount, t.quantity.unit, t.price.amount, t.price_usd, t.rate_source)
    (True, 5.0, 'g', 0.4321, 69.0, 'page:stated')
    >>> listing_tier("5 g", rates=RateTable.default()).ok
    False
    """
    quantity = parse_quantity(text)
    price = parse_price(text, currency_hint=currency_hint)
    if not (quantity.ok and price.ok):
        return PriceTier(raw=text, ok=False, quantity=quantity, price=price,
                         error=(quantity.error if not quantity.ok else price.error) or "unparsed")
    conv = price_to_usd(price, rates=rates, when=when)
    if not conv.ok:
        return PriceTier(raw=text, ok=True, quantity=quantity, price=price, error=conv.error)
    return PriceTier(raw=text, ok=True, quantity=quantity, price=price, price_usd=conv.usd,
                     usd_per_unit=price_per_unit(conv.usd, quantity), rate_source=conv.rate_source)


def tier_fields(tier: PriceTier) -> dict[str, Any]:
    """A `Listing.price_tiers` entry: USD to the cent, USD per unit to four decimals (from the
    unrounded USD value, so small tiers keep their precision).

    >>> fields = tier_fields(listing_tier("3 x 2mg bars 0.0625 XMR", rates=RateTable.default(), when="2026-08-03"))
    >>> fields["quantity_amount"], fields["quantity_unit"], fields["price_amount"], fields["price_currency"]
    (3.0, 'unit', 0.0625, 'XMR')
    >>> fields["price_usd"], fields["usd_per_unit"]
    (23.75, 7.9167)
    """
    fields = tier.to_listing_dict()
    usd = tier.price_usd
    fields["price_usd"] = round(usd, 2) if usd is not None else None
    amount = tier.quantity.amount
    fields["usd_per_unit"] = round(usd / amount, 4) if usd and amount else None
    return fields


def usd_per_unit(price_usd: float | None, quantity: Quantity) -> float | None:
    """USD per g / ml / unit of the listed offer, to four decimals (None when either is unknown).

    >>> usd_per_unit(19.75, parse_quantity("3.5g"))
    5.6429
    >>> usd_per_unit(None, parse_quantity("3.5g")) is None
    True
    """
    value = price_per_unit(price_usd, quantity)
    return round(value, 4) if value is not None else None
