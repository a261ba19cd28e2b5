"""pillhub: illegal online pharmacy ("no prescription needed"), EUR prices in European format."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from testbed.catalogue import eur_european
from testbed.clearweb import PILLHUB_NAME
from testbed.sites.common import COUNTRY_NAMES, esc, page, state_of

CATEGORIES = {"painkillers": "Pain relief", "anxiety": "Anxiety & panic", "sleep": "Sleeping pills", "adhd-focus": "ADHD & focus"}
CSS = "body{font-family:Georgia,serif;background:#fff}.price{color:#c00;font-weight:bold}"


CURRENCIES = ("EUR", "GBP", "USD")


def _currency(request: web.Request) -> str:
    """?cur=GBP|USD re-prices every page (same products: a duplicate-URL trap); EUR is the default."""
    cur = request.query.get("cur", "EUR").upper()
    return cur if cur in CURRENCIES else "EUR"


def money(request: web.Request, eur: float) -> str:
    rates = state_of(request).catalogue().rates
    cur = _currency(request)
    if cur == "GBP":
        return f"\u00a3{eur * rates.eur_usd / rates.gbp_usd:,.2f}"
    if cur == "USD":
        return f"US$ {eur * rates.eur_usd:,.2f}"
    return eur_european(eur)


def _items(request: web.Request) -> list[dict[str, Any]]:
    return state_of(request).catalogue().listings["pillhub"]


def _frame(request: web.Request, title: str, content: str) -> web.Response:
    rates = state_of(request).catalogue().rates
    cur = _currency(request)
    note = {"EUR": f"All prices in EUR (1 &euro; = {rates.eur_usd:.2f} US$).",
            "GBP": f"All prices in GBP (1 &pound; = {rates.gbp_usd:.2f} US$).",
            "USD": "All prices in USD."}[cur]
    active = {c: ' class="active"' if c == cur else "" for c in CURRENCIES}
    switch = " ".join(f'<a href="?cur={c}"{active[c]}>{c}</a>' for c in CURRENCIES)
    nav = "".join(f'<li><a href="/category/{slug}">{esc(name)}</a></li>' for slug, name in CATEGORIES.items())
    body = f"""<header><a class="logo" href="/">{PILLHUB_NAME}</a>
<p class="claim">No prescription needed &middot; Discreet worldwide delivery &middot; Licensed Indian generics</p>
<a href="/cart">Cart (0)</a> <a href="/account/logout">Log out</a>
<div class="currency-switch">Currency: {switch}</div></header>
<nav><ul class="categories">{nav}</ul></nav><main>{content}</main>
<footer><p class="currency-note">{note} We accept Visa, BTC, bank transfer.</p></footer>"""
    return page(f"{title} | {PILLHUB_NAME}", body, css=CSS, lang="en")


def _card(request: web.Request, item: dict[str, Any]) -> str:
    first = item["price_tiers"][0]
    return f"""<div class="product-box" data-sku="{item['native_id']}">
<a class="product-title" href="{item['url']}">{esc(item['title'])}</a>
<span class="pack">pack of {first['quantity_amount']:g}</span> <span class="price">from {money(request, first['price_amount'])}</span>
<span class="rx-note">without prescription</span></div>"""


async def home(request: web.Request) -> web.Response:
    items = _items(request)
    return _frame(request, "Buy medicines online without prescription",
                  f'<h1>Bestsellers</h1><div class="products">{"".join(_card(request, i) for i in items[:10])}</div>')


async def category(request: web.Request) -> web.Response:
    slug = request.match_info["slug"]
    if slug not in CATEGORIES:
        raise web.HTTPNotFound(text="No such category")
    items = [i for i in _items(request) if i["category"] == slug]
    return _frame(request, CATEGORIES[slug], f'<h1>{esc(CATEGORIES[slug])}</h1><div class="products">{"".join(_card(request, i) for i in items)}</div>')


async def product(request: web.Request) -> web.Response:
    item = next((i for i in _items(request) if i["slug"] == request.match_info["slug"]), None)
    if item is None:
        raise web.HTTPNotFound(text="Product not found")
    rows = "".join(
        f"""<tr class="package"><td class="pack-size">{esc(t['text'])}</td><td class="pack-price price">{money(request, t['price_amount'])}</td>
<td class="per-pill">{money(request, t['price_amount'] / t['quantity_amount'])} per pill</td>
<td><form method="post" action="/cart/add"><input type="hidden" name="sku" value="{item['native_id']}-{t['quantity_amount']:g}"><button>Add to cart</button></form></td></tr>"""
        for t in item["price_tiers"]
    )
    ship = "".join(f'<li class="shipping-option">{esc(s["method"])} + {money(request, s["cost"])}</li>' for s in item["shipping_options"])
    content = f"""<div class="product-page" data-sku="{item['native_id']}">
<h1 class="product-name">{esc(item['title'])}</h1>
<p class="active-ingredient">Active ingredient: <span class="ingredient">{esc(item['substance'].capitalize())}</span> &middot; Strength: <span class="strength">{item['dose_mg']:g} mg</span></p>
<p class="rx">Without prescription &ndash; no doctor visit needed</p>
<table class="packages"><tr><th>Package</th><th>Price</th><th>Per pill</th><th></th></tr>{rows}</table>
<ul class="delivery"><li class="ships-from">Ships from: {esc(COUNTRY_NAMES.get(item['origin'], item['origin']))}</li>
<li class="ships-to">Delivery to: {esc(item['ships_to_text'])}</li>{ship}</ul>
<div class="description">{esc(item['description'])}</div></div>"""
    return _frame(request, item["title"], content)


async def refuse(request: web.Request) -> web.Response:
    return web.Response(status=403, text="Checkout is disabled on this testbed.\n")


def routes() -> list[web.RouteDef]:
    from testbed.sites import pillhub_grid  # the unlinked "quick order" grid pages

    return [
        web.get("/", home), web.get("/category/{slug}", category), web.get("/product/{slug}", product),
        web.post("/cart/add", refuse), web.get("/cart", refuse), web.get("/account/logout", refuse),
        *pillhub_grid.routes(),
    ]
