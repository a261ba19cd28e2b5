"""Parse: raw page strings → typed Listing / Vendor values through `parsers` and its adapters
(`parsers/adapters.py` decides stored prices and USD values; `Shipping.to_listing_fields()` the
origin, "XX" for a stated worldwide one): this stage only routes fields and collects errors.

Every value a parser could not read stays None and leaves a "field: reason" line in
`parse_errors`, so a half-parsed listing is honest about what it lacks."""
from __future__ import annotations

import functools
import re
from typing import Any

import parsers
from core.items import RawListing, RawVendor
from core.records import Listing, ShippingOption, Vendor

_SPACE = re.compile(r"[ \t\r\f\v]+")
# A site's shipping cells and options repeat from listing to listing (a vendor's two or three
# options on each of its listings, a market's few origins): each distinct text is parsed once
# per process.  The results are frozen and what a listing keeps is copied out of them
# (`to_listing_fields`, `to_model_kwargs`), so a cached result is never changed.
_parse_shipping = functools.lru_cache(maxsize=8192)(parsers.parse_shipping)
_parse_shipping_option = functools.lru_cache(maxsize=8192)(parsers.parse_shipping_option)


def clean(text: Any) -> str:
    """Whitespace only: stored text is what the page showed (leetspeak and look-alike
    letters included: they are evidence); parsers and matchers normalise for themselves."""
    if text is None:
        return ""
    if isinstance(text, list):
        text = " ".join(str(t) for t in text)
    return "\n".join(_SPACE.sub(" ", line).strip() for line in str(text).splitlines()).strip()


class ParseErrors:
    """"field: reason ('text')" lines for the values a parser could not read."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, field: str, reason: str | None, text: object) -> None:
        self.lines.append(f"{field}: {reason or 'unparsed'} ({str(text)[:60]!r})")

    def integer(self, field: str, text: Any) -> int | None:
        if text in (None, ""):
            return None
        result = parsers.parse_int(str(text))
        if not result.ok:
            self.add(field, result.error, text)
        return result.value if result.ok else None


def _assign(record: Listing, fields: dict[str, Any]) -> None:
    """Copy an adapter's `to_listing_fields()` onto the listing (a misspelt field fails loudly)."""
    for name, value in fields.items():
        if not hasattr(record, name):
            raise AttributeError(f"Listing has no field {name!r}")
        setattr(record, name, value)


def _quantity(texts: list[str], errors: ParseErrors) -> parsers.Quantity | None:
    """The first text that states the offer's size (the quantity field, then the title); failing
    that, a strength without a count ("Xanax 2mg"), so the dose is stored without an amount."""
    dose_only = None
    for text in texts:
        if not text:
            continue
        quantity = parsers.parse_quantity(text)
        if quantity.ok:
            return quantity
        dose_only = dose_only or (quantity if quantity.dose_mg is not None else None)
        errors.add("quantity", quantity.error, text)
    return dose_only


def warm_up() -> None:
    """Read the rate file and the country-name table now, at start-up, not on the first page:
    a broken rate file fails before anything is fetched."""
    parsers.RateTable.default()
    parsers.parse_shipping("Germany", "Worldwide")


def parse_listing(raw: RawListing, when: str) -> Listing:
    f, errors = raw.fields, ParseErrors()
    site = raw.site
    title = clean(f.get("title"))
    vendor = clean(f.get("vendor")) or None
    listing = Listing(
        listing_id=raw.listing_id, site=site, market_kind=raw.market_kind, url=raw.url, title=title,
        description=clean(f.get("description")), vendor=vendor,
        vendor_id=f"{site}:{vendor.casefold()}" if vendor else None, category=clean(f.get("category")) or None,
        crawled_at=when, last_seen=when, content_hash=raw.fields_hash,
    )
    currency_hint = clean(f.get("currency")) or None
    page_rates = f.get("page_rates") or ""
    rates = parsers.page_rate_table(page_rates if isinstance(page_rates, str) else list(page_rates), source=site)
    if f.get("price"):
        # the adapter decides the USD value: a USD amount the page states wins over any rate
        price = parsers.listing_price(clean(f["price"]), rates=rates, when=when, currency_hint=currency_hint)
        if not price.ok:
            errors.add("price", price.error, price.raw)
        else:
            _assign(listing, price.to_listing_fields())
            if price.usd_error:
                errors.add("price_usd", price.usd_error, price.amount)
    # a unit price ("3.10 USD/gram") buys its own unit, not the title's size (parsers.offer_quantity)
    qty = parsers.offer_quantity(price if f.get("price") else None, _quantity([clean(f.get("quantity")), title], errors))
    if qty is not None:
        listing.quantity_amount, listing.quantity_unit = qty.amount, qty.unit
        listing.dose_mg, listing.purity_pct = qty.dose_mg, qty.purity_pct
        listing.usd_per_unit = parsers.usd_per_unit(listing.price_usd, qty)
    tier_hint = currency_hint or listing.price_currency
    for text in f.get("price_tiers") or []:
        tier = parsers.listing_tier(clean(text), rates=rates, when=when, currency_hint=tier_hint)
        if tier.error:
            errors.add("price_tiers", tier.error, tier.raw)
        if tier.ok:
            listing.price_tiers.append(parsers.tier_fields(tier))
    if f.get("ships_from") or f.get("ships_to"):
        ship = _parse_shipping(clean(f.get("ships_from")), clean(f.get("ships_to")))
        if ship.ok:
            _assign(listing, ship.to_listing_fields())  # a stated worldwide/unknown origin is "XX"
        else:
            if ship.origin_stated:  # "Ships from: AGORA": a stated origin no place reads is "XX", error kept
                _assign(listing, ship.to_listing_fields())
            errors.add("ships", ship.error, ship.raw_from)
    for text in f.get("shipping_options") or []:
        option = _parse_shipping_option(clean(text))
        if option.ok:
            listing.shipping_options.append(ShippingOption(**option.to_model_kwargs()))
        else:
            errors.add("shipping_options", option.error, option.raw)
    if f.get("escrow"):
        escrow = parsers.parse_escrow(clean(f["escrow"]))
        if escrow.ok:
            listing.escrow, listing.finalize_early = escrow.escrow, escrow.finalize_early
        else:
            errors.add("escrow", escrow.error, escrow.raw)
    if f.get("finalize_early") and listing.finalize_early is None:
        fe = parsers.parse_escrow("FE " + clean(f["finalize_early"]))
        if fe.ok:
            listing.finalize_early = fe.finalize_early
        else:
            errors.add("finalize_early", fe.error, fe.raw)
    listing.feedback_count = errors.integer("feedback_count", f.get("feedback_count"))
    listing.stock = errors.integer("stock", f.get("stock"))
    listing.sold_count = errors.integer("sold_count", f.get("sold_count"))
    listing.views = errors.integer("views", f.get("views"))
    extra = f.get("extra")
    listing.extra = {str(k): clean(v) for k, v in extra.items() if clean(v)} if isinstance(extra, dict) else {}
    listing.field_sources = dict(raw.field_sources)
    listing.card_hash = raw.card_hash
    listing.page_fields = dict(raw.page_fields)
    listing.page_crawled_at = raw.page_crawled_at or (when if raw.page_fields else "")
    listing.parse_errors = errors.lines
    return listing


def parse_vendor(raw: RawVendor, when: str) -> tuple[Vendor, list[str]]:
    """The vendor record and the "field: reason" lines of what could not be read
    (a Vendor record has no parse_errors field)."""
    f, errors = raw.fields, ParseErrors()
    name = clean(f.get("name"))
    vendor = Vendor(vendor_id=f"{raw.site}:{name.casefold()}", site=raw.site, name=name, url=raw.url,
                    first_seen=when, last_seen=when)
    if f.get("joined"):
        joined = parsers.parse_date(clean(f["joined"]), now=when)
        if joined.ok and joined.value is not None:
            vendor.joined = joined.value.date().isoformat()
        else:
            errors.add("joined", joined.error, joined.raw)
    vendor.sales = errors.integer("sales", f.get("sales"))
    vendor.feedback_count = errors.integer("feedback_count", f.get("feedback_count"))
    if f.get("rating"):
        match = re.search(r"\d+(?:[.,]\d+)?", clean(f["rating"]))
        vendor.rating = float(match.group(0).replace(",", ".")) if match else None
    vendor.pgp_key = (f.get("pgp_key") or "").strip() if isinstance(f.get("pgp_key"), str) else ""
    aliases = [part for a in (f.get("aliases") or []) for part in clean(a).split(",")]
    vendor.aliases = [a.strip() for a in aliases if a.strip() and a.strip().lower() not in ("-", "none")]
    return vendor, errors.lines

