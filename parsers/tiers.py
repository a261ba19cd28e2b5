"""Price tiers ("1g - $60 | 5g - $250 | 10g - $450", or table cells ["1 g", "€ 60,00", ...])
and the derived USD price per base unit."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from parsers._base import Result
from parsers.price import Price, parse_price
from parsers.quantity import Quantity, parse_quantity
from parsers.rates import Conversion, RateTable, to_usd

# tier separators; a comma only with a space after it, so "€ 12,50" stays whole
_SPLIT = re.compile(r"\s*(?:\||\n|;|,\s+|\s/\s)\s*")


@dataclass(frozen=True)
class PriceTier(Result):
    raw: str
    ok: bool
    quantity: Quantity
    price: Price
    error: str | None = None
    price_usd: float | None = None
    usd_per_unit: float | None = None
    rate_source: str | None = None

    def to_listing_dict(self) -> dict[str, Any]:
        """The shape of `Listing.price_tiers` entries."""
        return {
            "quantity_amount": self.quantity.amount, "quantity_unit": self.quantity.unit,
            "price_amount": self.price.amount, "price_currency": self.price.currency,
            "price_usd": self.price_usd, "usd_per_unit": self.usd_per_unit,
        }


def price_per_unit(price_usd: float | None, quantity: Quantity) -> float | None:
    """USD per g / ml / unit (per `quantity.unit`); None when either side is unknown."""
    if price_usd is None or quantity is None or not quantity.ok or not quantity.amount:
        return None
    return round(price_usd / quantity.amount, 6)


def price_to_usd(price: Price, *, rates: RateTable, when: str | datetime | date | None = None,
                 prefer_stated: bool = True) -> Conversion:
    """USD value of a parsed price; a USD amount stated beside it ("0.0021 BTC (≈ $85)") is the
    page's own rate and wins when `prefer_stated`, recorded as rate_source "page:stated"."""
    if not price.ok:
        return Conversion(amount=price.amount, currency=price.currency, error=price.error or "price not parsed")
    if prefer_stated and price.currency != "USD":
        stated_usd = next((e.amount for e in price.equivalents if e.currency == "USD" and e.amount), None)
        if stated_usd is not None and price.amount:
            return Conversion(amount=price.amount, currency=price.currency, ok=True, usd=stated_usd,
                              rate=round(stated_usd / price.amount, 10), rate_source="page:stated")
    return to_usd(price.amount, price.currency, rates=rates, when=when)


def parse_price_tiers(rows: list[str] | str, *, site_locale: str | None = None, currency_hint: str | None = None,
                      default_unit: str | None = None, rates: RateTable | None = None,
                      when: str | datetime | date | None = None) -> list[PriceTier]:
    """Tiers from a text ("1g - $60 | 5g - $250") or from cells/rows; a quantity-only cell pairs
    with the price-only cell that follows it.  With `rates`, USD and USD per unit are filled."""
    if isinstance(rows, str):
        pieces = [p for p in _SPLIT.split(rows) if p.strip()]
    elif isinstance(rows, (list, tuple)):
        pieces = [r for r in rows if isinstance(r, str) and r.strip()]
    else:
        raise TypeError("rows must be a str or a list of str")
    tiers: list[PriceTier] = []
    pending: tuple[str, Quantity] | None = None
    for piece in pieces:
        q = parse_quantity(piece, default_unit=default_unit)
        p = parse_price(piece, site_locale=site_locale, currency_hint=currency_hint if not q.ok else None)
        if q.ok and p.ok:
            tiers.append(_tier(piece, q, p, rates, when))
            pending = None
        elif q.ok:
            pending = (piece, q)
        elif p.ok and pending is not None:
            tiers.append(_tier(f"{pending[0]} | {piece}", pending[1], p, rates, when))
            pending = None
        elif pending is not None and currency_hint:
            hinted = parse_price(piece, site_locale=site_locale, currency_hint=currency_hint)
            if hinted.ok:
                tiers.append(_tier(f"{pending[0]} | {piece}", pending[1], hinted, rates, when))
                pending = None
    return tiers


def _tier(raw: str, q: Quantity, p: Price, rates: RateTable | None, when: str | datetime | date | None) -> PriceTier:
    if rates is None:
        return PriceTier(raw=raw, ok=True, quantity=q, price=p)
    conv = price_to_usd(p, rates=rates, when=when)
    if not conv.ok:
        return PriceTier(raw=raw, ok=True, quantity=q, price=p, error=conv.error)
    return PriceTier(raw=raw, ok=True, quantity=q, price=p, price_usd=conv.usd,
                     usd_per_unit=price_per_unit(conv.usd, q), rate_source=conv.rate_source)
