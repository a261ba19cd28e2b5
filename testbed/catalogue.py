"""One day of the range: every listing resolved to displayed values and ground truth.

`catalogue(seed, day)` is cached; site renderers and `Testbed.truth` both read it, so what a
page shows and what the truth says come from the same dict.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from testbed import clearweb, generator
from testbed.generator import EPOCH, Rates, destinations_of, rates_for

# the testbed serves its control page on port P and the sites on P+1..P+5 in this order
SITE_ORDER = ("nightshade", "vortex", "rcshop", "chemtrade", "pillhub")
SITE_COUNTS = {"nightshade": 64, "vortex": 56}
# vortex charges a USD-priced listing in XMR at its checkout rate: the ticker rate less this fee,
# so the page's "(USD 19.75)" and XMR x ticker rate differ, and only the former is the price
VORTEX_CHECKOUT_FEE = 0.04
SITE_KIND = {
    "nightshade": "darknet-market", "vortex": "darknet-market", "rcshop": "vendor-shop",
    "chemtrade": "chemical-b2b", "pillhub": "pharmacy",
}
TRUTH_KEYS = (
    "site", "native_id", "url", "title", "vendor", "substance", "substance_text", "price_amount",
    "price_currency", "price_usd", "quantity_amount", "quantity_unit", "dose_mg", "origin",
    "destinations", "ships_worldwide", "destinations_excluded", "escrow", "finalize_early",
    "feedback_count", "category", "cas", "price_tiers", "shipping_options", "novel", "purity_pct",
    "moq_kg", "stock", "posted_date",
)


def usd(amount: float) -> str:
    return f"${amount:,.2f}"


def eur_european(amount: float) -> str:
    """"€ 1.189,00" (European grouping and decimal comma)."""
    whole, frac = f"{amount:,.2f}".split(".")
    return f"\u20ac {whole.replace(',', '.')},{frac}"


@dataclass
class Catalogue:
    seed: int
    day: int
    rates: Rates
    listings: dict[str, list[dict[str, Any]]]
    vendors: dict[str, list[dict[str, Any]]]

    def listing(self, site: str, native_id: str) -> dict[str, Any] | None:
        return self._by_id[site].get(native_id)

    def vendor(self, site: str, name: str) -> dict[str, Any] | None:
        return next((v for v in self.vendors[site] if v["name"] == name), None)

    @functools.cached_property
    def _by_id(self) -> dict[str, dict[str, dict[str, Any]]]:
        # per instance: a functools.cache on the method would keep every catalogue alive
        return {site: {item["native_id"]: item for item in items} for site, items in self.listings.items()}

    def __hash__(self) -> int:
        return hash((self.seed, self.day))


def _present(appear: int, vanish: int | None, day: int) -> bool:
    return appear <= day and (vanish is None or day < vanish)


def _darknet_listing(base: generator.BaseListing, seed: int, day: int, rates: Rates) -> dict[str, Any]:
    factor = generator.day_factor(seed, f"{base.site}:{base.native_id}", base.substance.drift_per_day, day)
    tiers = []
    for qty, usd0 in base.tiers:
        price_usd = round(usd0 * factor, 2)
        xmr = round(price_usd / rates.xmr_usd, 4)
        amount, unit = (qty.amount, qty.unit) if qty.stated else (None, None)
        tier = {"text": qty.text, "quantity_amount": amount, "quantity_unit": unit, "dose_mg": qty.dose_mg,
                "price_usd": price_usd, "btc": round(price_usd / rates.btc_usd, 8), "xmr": xmr}
        if base.site == "vortex" and base.usd_pegged:  # the vendor's USD price stands; XMR follows at checkout
            tier["xmr"] = round(price_usd / (rates.xmr_usd * (1 - VORTEX_CHECKOUT_FEE)), 4)
        elif base.site == "vortex":  # XMR is the listed price there; USD follows from the stated rate
            tier["price_usd"] = round(xmr * rates.xmr_usd, 2)
        tiers.append(tier)
    first = tiers[0]
    # days after EPOCH the listing went up: new listings are posted the day they appear
    posted = base.appear_day if base.appear_day else -base.posted_days_ago
    dests, worldwide, excluded = destinations_of(base.ships_to_text)
    currency = "XMR" if base.site == "vortex" else "USD"
    url = f"/listing/{base.native_id}" if base.site == "nightshade" else f"/item/{base.native_id}"
    shipping = [{"method": m, "days_min": lo, "days_max": hi, "cost": cost, "currency": "USD",
                 "text": f"{m} ({lo}-{hi} days) +${cost:.2f}" if lo != hi else f"{m} ({lo} day) +${cost:.2f}"}
                for m, lo, hi, cost in base.shipping]
    return {
        "site": base.site, "native_id": base.native_id, "url": url, "title": base.title,
        "vendor": base.vendor.name, "vendor_url": base.vendor.url, "vendor_identity": base.vendor.identity,
        "substance": base.substance.canonical, "substance_text": base.substance_text,
        "price_amount": first["xmr"] if currency == "XMR" else first["price_usd"], "price_currency": currency,
        "price_usd": first["price_usd"], "price_btc": first["btc"], "price_xmr": first["xmr"],
        "quantity_amount": first["quantity_amount"], "quantity_unit": first["quantity_unit"],
        "dose_mg": first["dose_mg"], "origin": generator.vocab.COUNTRIES[base.origin_name],
        "origin_name": base.origin_name, "ships_to_text": base.ships_to_text, "destinations": dests,
        "ships_worldwide": worldwide, "destinations_excluded": excluded, "escrow": base.escrow,
        "finalize_early": base.finalize_early, "feedback_count": base.feedback_base + base.feedback_growth * day,
        "category": base.substance.category, "cas": None, "novel": base.substance.novel,
        "price_tiers": [{"quantity_amount": t["quantity_amount"], "quantity_unit": t["quantity_unit"],
                         "price_amount": t["xmr"] if currency == "XMR" else t["price_usd"],
                         "price_currency": currency, "price_usd": t["price_usd"], "text": t["text"],
                         "price_btc": t["btc"], "price_xmr": t["xmr"]} for t in tiers],
        "usd_pegged": base.usd_pegged,
        "shipping_options": shipping, "description": base.description, "purity_pct": base.purity, "moq_kg": None,
        "stock": max(0, base.stock - 3 * day), "posted_days_ago": day - posted,
        "posted_date": (EPOCH + timedelta(days=posted)).isoformat(),
    }


def _clear_listing(product: clearweb.ClearProduct, seed: int, day: int, rates: Rates) -> dict[str, Any]:
    factor = generator.day_factor(seed, f"{product.site}:{product.native_id}", product.drift, day)
    to_usd = rates.eur_usd if product.currency == "EUR" else 1.0
    tiers = []
    for label, amount, unit, price0 in product.tiers:
        price = round(price0 * factor, 0 if product.site == "pillhub" else 2)
        tiers.append({"text": label, "quantity_amount": amount, "quantity_unit": unit, "price_amount": price,
                      "price_currency": product.currency, "price_usd": round(price * to_usd, 2)})
    first = tiers[0]
    dests, worldwide, excluded = destinations_of(product.ships_to_text)
    symbol = "\u20ac" if product.currency == "EUR" else "$"
    shipping = [{"method": m, "days_min": lo, "days_max": hi, "cost": cost, "currency": product.currency,
                 "text": f"{m} +{symbol}{cost:.2f}"} for m, lo, hi, cost in product.shipping]
    path = {"rcshop": f"/product/{product.slug}", "chemtrade": f"/product/{product.native_id}/{product.slug}",
            "pillhub": f"/product/{product.slug}"}[product.site]
    return {
        "site": product.site, "native_id": product.native_id, "url": path, "title": product.title,
        "slug": product.slug, "vendor": product.vendor, "substance": product.substance,
        "substance_text": product.substance_text, "price_amount": first["price_amount"],
        "price_currency": product.currency, "price_usd": first["price_usd"],
        "quantity_amount": first["quantity_amount"], "quantity_unit": first["quantity_unit"],
        "dose_mg": product.dose_mg, "origin": product.origin, "ships_to_text": product.ships_to_text,
        "destinations": dests, "ships_worldwide": worldwide, "destinations_excluded": excluded,
        "escrow": False, "finalize_early": False, "feedback_count": None, "category": product.category,
        "cas": product.cas, "novel": product.novel, "price_tiers": tiers, "shipping_options": shipping,
        "description": product.description, "purity_pct": product.purity, "moq_kg": product.moq_kg,
        "stock": None,
    }


def _vendor_dict(vendor: generator.Vendor, day: int) -> dict[str, Any]:
    identifiers: dict[str, list[str]] = {"btc": list(vendor.btc), **{k: list(v) for k, v in vendor.contact.items()}}
    if vendor.pgp_fingerprint:
        identifiers["pgp"] = [vendor.pgp_fingerprint]
    return {
        "site": vendor.site, "name": vendor.name, "url": vendor.url, "identity": vendor.identity,
        "joined": vendor.joined.isoformat(), "sales": vendor.sales_base + 4 * day, "rating": vendor.rating,
        "pgp_fingerprint": vendor.pgp_fingerprint, "pgp_block": vendor.pgp_block, "aliases": list(vendor.aliases),
        "identifiers": identifiers, "fe_enabled": vendor.fe_enabled, "bio": vendor.bio,
    }


def _clear_vendors(site: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = sorted({item["vendor"] for item in items})
    out = []
    for name in names:
        identifiers = dict(clearweb.CHEM_CONTACT) if site == "chemtrade" else {}
        url = f"/supplier/{clearweb.slugify(name)}" if site == "chemtrade" else "/"
        out.append({"site": site, "name": name, "url": url, "identity": name, "joined": None, "sales": None,
                    "rating": None, "pgp_fingerprint": None, "aliases": [], "identifiers": identifiers})
    return out


@functools.lru_cache(maxsize=32)
def catalogue(seed: int, day: int) -> Catalogue:
    rates = rates_for(seed, day)
    vendors = generator.build_vendors(seed)
    listings: dict[str, list[dict[str, Any]]] = {}
    for site in generator.DARKNET_SITES:
        bases = generator.build_darknet_listings(seed, site, vendors[site], SITE_COUNTS[site])
        listings[site] = [_darknet_listing(b, seed, day, rates) for b in bases if _present(b.appear_day, b.vanish_day, day)]
    builders = {"rcshop": clearweb.build_rcshop, "chemtrade": clearweb.build_chemtrade, "pillhub": clearweb.build_pillhub}
    for site, build in builders.items():
        listings[site] = [_clear_listing(p, seed, day, rates) for p in build(seed) if _present(p.appear_day, p.vanish_day, day)]
    vendor_dicts = {site: [_vendor_dict(v, day) for v in vendors[site]] for site in generator.DARKNET_SITES}
    for site in generator.CLEARNET_SITES:
        vendor_dicts[site] = _clear_vendors(site, listings[site])
    return Catalogue(seed=seed, day=day, rates=rates, listings=listings, vendors=vendor_dicts)


def truth_record(item: dict[str, Any]) -> dict[str, Any]:
    record = {key: item.get(key) for key in TRUTH_KEYS}
    record["price_tiers"] = [{k: t[k] for k in ("quantity_amount", "quantity_unit", "price_amount", "price_currency", "price_usd")}
                             for t in item["price_tiers"]]
    record["shipping_options"] = [{k: s[k] for k in ("method", "cost", "currency", "days_min", "days_max")}
                                  for s in item["shipping_options"]]
    record["substance_aliases"] = list(generator.vocab.SUBSTANCE_ALIASES.get(item["substance"] or "", ()))
    record["destinations"] = list(item["destinations"])
    record["destinations_excluded"] = list(item["destinations_excluded"])
    return record


VENDOR_TRUTH_KEYS = ("site", "name", "url", "joined", "sales", "rating", "pgp_fingerprint", "aliases", "identifiers", "identity")


def vendor_truth_record(vendor: dict[str, Any]) -> dict[str, Any]:
    return {key: vendor.get(key) for key in VENDOR_TRUTH_KEYS}
