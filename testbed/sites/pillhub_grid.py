"""pillhub's "quick order" grid: the same products as cards, 4 per page, under /grid.

Not linked from the shop (the shipped pillhub.yaml and the demo never see it); the site
definition crawler/sites/pillhub-grid.yaml reads it.  A card shows what grid markets show:
title and link, a bare USD price (the currency is stated only once, in the page footer),
units sold, views, stock, a rating and sometimes a badge.  `grid_truth()` is what every
card shows, for tests."""
from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import web

from testbed.catalogue import Catalogue
from testbed.sites.common import esc, page, paginate, state_of

PER_PAGE = 4
CATEGORIES = {"painkillers": "Pain relief", "anxiety": "Anxiety & panic", "sleep": "Sleeping pills",
              "adhd-focus": "ADHD & focus"}


def _number(native_id: str, salt: str, modulo: int) -> int:
    return int(hashlib.sha256(f"{salt}:{native_id}".encode()).hexdigest()[:8], 16) % modulo


def card_values(item: dict[str, Any], eur_usd: float) -> dict[str, Any]:
    """What the card of `item` shows (the ground truth of one card)."""
    native = str(item["native_id"])
    first = item["price_tiers"][0]
    badge = ("Bestseller", "New", "")[_number(native, "badge", 3)]
    extra = {"rating": f"{3 + _number(native, 'rating', 21) / 10:.1f}"}
    if badge:
        extra["badge"] = badge
    return {"native_id": native, "title": item["title"], "url": item["url"], "category": item["category"],
            "price_usd": round(first["price_amount"] * eur_usd, 2), "sold_count": 5 + _number(native, "sold", 2000),
            "views": 100 + _number(native, "views", 90_000), "stock": _number(native, "stock", 60), "extra": extra}


def grid_truth(catalogue: Catalogue) -> list[dict[str, Any]]:
    """Every card of every grid page, in page order."""
    rate = catalogue.rates.eur_usd
    return [card_values(item, rate) for slug in CATEGORIES
            for item in catalogue.listings["pillhub"] if item["category"] == slug]


def _card(values: dict[str, Any]) -> str:
    badge = f'<span class="badge">{esc(values["extra"]["badge"])}</span>' if "badge" in values["extra"] else ""
    return f"""<div class="card" data-sku="{values['native_id']}">{badge}
<a class="card-title" href="{values['url']}">{esc(values['title'])}</a>
<div class="card-price"><span class="amount">{values['price_usd']:.2f}</span></div>
<ul class="card-stats"><li class="sold">{values['sold_count']:,} sold</li><li class="views">{values['views']:,} views</li>
<li class="stock">In stock: {values['stock']}</li><li class="rating">Rating {values['extra']['rating']}/5</li></ul></div>"""


async def grid_index(request: web.Request) -> web.Response:
    links = "".join(f'<li><a href="/grid/{slug}">{esc(name)}</a></li>' for slug, name in CATEGORIES.items())
    return page("Quick order", f'<h1>Quick order</h1><ul class="grid-categories">{links}</ul>')


async def grid_page(request: web.Request) -> web.Response:
    slug = request.match_info["slug"]
    if slug not in CATEGORIES:
        raise web.HTTPNotFound(text="No such category")
    catalogue = state_of(request).catalogue()
    cards = [card_values(i, catalogue.rates.eur_usd) for i in catalogue.listings["pillhub"] if i["category"] == slug]
    number = max(1, int(request.query.get("page", "1") or 1))
    shown, pages = paginate(cards, number, PER_PAGE)
    more = f'<a class="next" href="/grid/{slug}?page={number + 1}">Next</a>' if number < pages else ""
    body = (f'<h1>{esc(CATEGORIES[slug])}</h1><div class="grid">{"".join(_card(c) for c in shown)}</div>{more}'
            '<footer><p class="currency-note">Quick-order prices are in US dollars.</p></footer>')
    return page(f"{CATEGORIES[slug]} - quick order", body)


def routes() -> list[web.RouteDef]:
    return [web.get("/grid", grid_index), web.get("/grid/{slug}", grid_page)]
