"""Parse: raw page strings → typed Listing / Vendor values through `parsers`.

Every value a parser could not read stays None and leaves a "field: reason" line in
`parse_errors`, so a half-parsed listing is honest about what it lacks."""
from __future__ import annotations

import re
from typing import Any

import parsers
from crawler.stages import Stage
from index.model import Listing, ShippingOption, Vendor

_SPACE = re.compile(r"[ \t\r\f\v]+")


def clean(text: Any) -> str:
    """Whitespace only: stored text is what the page showed (leetspeak and look-alike
    letters included: they are evidence); parsers and matchers normalise for themselves."""
    if text is None:
        return ""
    if isinstance(text, list):
        text = " ".join(str(t) for t in text)
    return "\n".join(_SPACE.sub(" ", line).strip() for line in str(text).splitlines()).strip()


class Parsed:
    """Collects values and parse errors for one item."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def call(self, field: str, name: str, *args: Any, **kwargs: Any) -> Any:
        fn = getattr(parsers, name)
        try:
            result = fn(*args, **kwargs)
        except (TypeError, ValueError) as exc:
            self.errors.append(f"{field}: {type(exc).__name__}: {exc}")
            return None
        if getattr(result, "ok", True) is False:
            self.errors.append(f"{field}: {getattr(result, 'error', None) or 'unparsed'} ({str(args[0])[:60]!r})")
            return None
        return result

    def integer(self, field: str, text: Any) -> int | None:
        if text in (None, ""):
            return None
        result = self.call(field, "parse_int", str(text))
        return None if result is None else result.value


def _rates(fields: dict[str, Any], site: str, p: Parsed) -> Any:
    table = parsers.RateTable.default()
    if fields.get("page_rates"):
        text = fields["page_rates"] if isinstance(fields["page_rates"], str) else "\n".join(fields["page_rates"])
        rates = p.call("page_rates", "parse_page_rates", text)
        rates = getattr(rates, "rates", rates)
        if isinstance(rates, dict) and rates:
            table = table.with_page_rates(rates, site)
    return table


def _tier(text: str, p: Parsed, currency_hint: str | None, rates: Any, when: str) -> dict[str, Any] | None:
    qty = p.call("price_tiers", "parse_quantity", text)
    price = p.call("price_tiers", "parse_price", text, currency_hint=currency_hint)
    if qty is None or price is None:
        return None
    usd = p.call("price_tiers", "to_usd", price.amount, price.currency, rates=rates, when=when) if rates else None
    usd_value = getattr(usd, "usd", None)
    return {"quantity_amount": qty.amount, "quantity_unit": qty.unit, "price_amount": price.amount,
            "price_currency": price.currency, "price_usd": round(usd_value, 2) if usd_value is not None else None,
            "usd_per_unit": round(usd_value / qty.amount, 4) if usd_value and qty.amount else None}


def parse_listing(item: dict[str, Any], when: str) -> Listing:
    f, p = item["fields"], Parsed()
    site, native_id = item["site"], str(f["native_id"]).strip()
    title = clean(f.get("title"))
    vendor = clean(f.get("vendor")) or None
    listing = Listing(
        listing_id=f"{site}:{native_id}", site=site, market_kind=item["market_kind"], url=item["url"], title=title,
        description=clean(f.get("description")), vendor=vendor,
        vendor_id=f"{site}:{vendor.casefold()}" if vendor else None, category=clean(f.get("category")) or None,
        crawled_at=when, last_seen=when, content_hash=item.get("content_hash", ""),
    )
    currency_hint = clean(f.get("currency")) or None
    rates = _rates(f, site, p)
    if f.get("price"):
        price = p.call("price", "parse_price", clean(f["price"]), currency_hint=currency_hint)
        if price is not None:
            listing.price_amount, listing.price_currency = price.amount, price.currency
            conv = p.call("price_usd", "to_usd", price.amount, price.currency, rates=rates, when=when) if rates else None
            if conv is not None:
                listing.price_usd, listing.rate_source = round(conv.usd, 2), conv.rate_source
    qty = None
    if f.get("quantity"):
        qty = p.call("quantity", "parse_quantity", clean(f["quantity"]))
    if qty is None and title:
        qty = p.call("quantity", "parse_quantity", title)
    if qty is not None:
        listing.quantity_amount, listing.quantity_unit = qty.amount, qty.unit
        listing.dose_mg, listing.purity_pct = qty.dose_mg, qty.purity_pct
    if listing.price_usd is not None and listing.quantity_amount:
        per_unit = p.call("usd_per_unit", "price_per_unit", listing.price_usd, qty)
        value = getattr(per_unit, "value", per_unit) if per_unit is not None else listing.price_usd / listing.quantity_amount
        listing.usd_per_unit = round(value, 4) if isinstance(value, (int, float)) else None
    tiers = f.get("price_tiers") or []
    listing.price_tiers = [t for t in (_tier(clean(x), p, currency_hint or listing.price_currency, rates, when) for x in tiers) if t]
    if f.get("ships_from") or f.get("ships_to"):
        ship = p.call("ships", "parse_shipping", clean(f.get("ships_from")), clean(f.get("ships_to")))
        if ship is not None:
            listing.origin = getattr(ship, "origin", None)
            listing.destinations = list(getattr(ship, "destinations", []) or [])
            listing.destinations_excluded = list(getattr(ship, "excluded", None) or getattr(ship, "destinations_excluded", []) or [])
            listing.ships_worldwide = bool(getattr(ship, "worldwide", False) or getattr(ship, "ships_worldwide", False))
    for text in f.get("shipping_options") or []:
        option = p.call("shipping_options", "parse_shipping_option", clean(text))
        if option is not None:
            listing.shipping_options.append(ShippingOption(
                method=getattr(option, "method", "") or "", cost=getattr(option, "cost", None),
                currency=getattr(option, "currency", None), days_min=getattr(option, "days_min", None),
                days_max=getattr(option, "days_max", None), tracked=getattr(option, "tracked", None),
                stealth=getattr(option, "stealth", None), raw=clean(text)))
    if f.get("escrow"):
        escrow = p.call("escrow", "parse_escrow", clean(f["escrow"]))
        if escrow is not None:
            listing.escrow = getattr(escrow, "escrow", None)
            listing.finalize_early = getattr(escrow, "finalize_early", None)
    if f.get("finalize_early") and listing.finalize_early is None:
        fe = p.call("finalize_early", "parse_escrow", "FE " + clean(f["finalize_early"]))
        listing.finalize_early = getattr(fe, "finalize_early", None) if fe is not None else None
    listing.feedback_count = p.integer("feedback_count", f.get("feedback_count"))
    listing.stock = p.integer("stock", f.get("stock"))
    listing.parse_errors = p.errors
    return listing


def parse_vendor(item: dict[str, Any], when: str) -> Vendor:
    f, p = item["fields"], Parsed()
    name = clean(f.get("name"))
    vendor = Vendor(vendor_id=f"{item['site']}:{name.casefold()}", site=item["site"], name=name, url=item["url"],
                    first_seen=when, last_seen=when)
    if f.get("joined"):
        joined = p.call("joined", "parse_date", clean(f["joined"]), now=when)
        value = getattr(joined, "date", None) or getattr(joined, "value", None)
        vendor.joined = value.isoformat()[:10] if hasattr(value, "isoformat") else (str(value)[:10] if value else None)
    vendor.sales = p.integer("sales", f.get("sales"))
    vendor.feedback_count = p.integer("feedback_count", f.get("feedback_count"))
    if f.get("rating"):
        match = re.search(r"\d+(?:[.,]\d+)?", clean(f["rating"]))
        vendor.rating = float(match.group(0).replace(",", ".")) if match else None
    vendor.pgp_key = (f.get("pgp_key") or "").strip() if isinstance(f.get("pgp_key"), str) else ""
    aliases = [part for a in (f.get("aliases") or []) for part in clean(a).split(",")]
    vendor.aliases = [a.strip() for a in aliases if a.strip() and a.strip().lower() not in ("-", "none")]
    item["parse_errors"] = p.errors
    return vendor


class ParseStage(Stage):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        # read the rate file and the country-name table at start-up, not on the first page:
        # a broken rate file fails before anything is fetched
        parsers.RateTable.default()
        parsers.parse_shipping("Germany", "Worldwide")

    def process_item(self, item: dict[str, Any], spider: Any = None) -> dict[str, Any]:
        if item.get("unchanged") is not None:
            return item
        if item["type"] == "listing":
            item["listing"] = parse_listing(item, self.clock)
            errors = item["listing"].parse_errors
        else:
            item["vendor_record"] = parse_vendor(item, self.clock)
            errors = item.get("parse_errors", [])
        for error in errors:
            self.stats.inc_value(f"trawl/parse_errors/{error.split(':', 1)[0]}")
        return item
