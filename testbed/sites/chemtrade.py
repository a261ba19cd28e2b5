"""chemtrade: clear-web B2B chemical marketplace (precursors and pre-precursors).

Server-rendered; product pages carry CAS numbers, purity, MOQ in kg, per-kg price
tiers, "custom synthesis", messenger handles and payment options.
"""
from __future__ import annotations

from typing import Any

from aiohttp import web

from testbed.clearweb import CHEM_CONTACT, CHEM_PAYMENTS, slugify
from testbed.sites.common import COUNTRY_NAMES, esc, int_param, page, paginate, state_of

PER_PAGE = 12
CATEGORIES = {
    "bmk-precursors": "BMK / P2P precursors", "pmk-precursors": "PMK / MDP2P precursors",
    "fentanyl-precursors": "Piperidines (pharma intermediates)", "amphetamine-precursors": "Ephedrine & phenylacetic",
    "cathinone-precursors": "Propiophenones", "solvents": "Solvents", "reagents": "Reagents",
    "lab-equipment": "Lab equipment",
}
CSS = "body{font-family:Helvetica,Arial,sans-serif;margin:0}.wrap{max-width:1100px;margin:auto}dl.specs dt{font-weight:bold}"


def _contact_block() -> str:
    rows = "".join(f'<li class="contact-{k}"><span class="label">{k.capitalize()}:</span> <span class="handle">{esc(v[0])}</span></li>'
                   for k, v in CHEM_CONTACT.items())
    return f'<div class="contact-box"><h4>Contact us 24/7</h4><ul class="contacts">{rows}</ul></div>'


def _frame(title: str, content: str) -> web.Response:
    nav = "".join(f'<li><a href="/category/{slug}">{esc(name)}</a></li>' for slug, name in CATEGORIES.items())
    payments = ", ".join(CHEM_PAYMENTS)
    body = f"""<div class="wrap"><header><a class="brand" href="/">ChemTrade Global</a> - B2B chemicals since 2011
<nav class="top"><a href="/products">All products</a> | <a href="/contact">Contact</a> | <a href="/account/logout">Sign out</a></nav></header>
<aside><ul class="categories">{nav}</ul>{_contact_block()}<p class="payments">Payment: {esc(payments)}</p></aside>
<main>{content}</main><footer>Custom synthesis available on request. &copy; ChemTrade Global</footer></div>"""
    return page(title, body, css=CSS)


def _card(item: dict[str, Any]) -> str:
    per_kg = item["price_tiers"][0]["price_amount"] if item["quantity_unit"] == "g" else item["price_amount"]
    unit = "/ kg" if item["quantity_unit"] == "g" else "/ set"
    return f"""<div class="product-item" data-id="{item['native_id']}">
<a class="product-link" href="{item['url']}">{esc(item['title'])}</a>
<span class="cas">{('CAS ' + item['cas']) if item['cas'] else ''}</span>
<span class="price">US$ {per_kg:,.2f} {unit}</span></div>"""


def _items(request: web.Request) -> list[dict[str, Any]]:
    return state_of(request).catalogue().listings["chemtrade"]


async def home(request: web.Request) -> web.Response:
    items = _items(request)[:6]
    content = ('<h1>Top selling products</h1><p class="intro">Factory direct supply of pharmaceutical intermediates. '
               '100% pass customs to EU, CA, AU, RU. Custom synthesis.</p>'
               f'<div class="product-list">{"".join(_card(i) for i in items)}</div><a href="/products">All products &raquo;</a>')
    return _frame("ChemTrade Global - pharmaceutical intermediates", content)


async def products(request: web.Request) -> web.Response:
    items = _items(request)
    if request.query.get("sort") == "name":
        items = sorted(items, key=lambda i: i["title"].lower())
    chunk, pages = paginate(items, int_param(request, "page"), PER_PAGE)
    current = min(max(1, int_param(request, "page")), pages)
    links = "".join(f'<a class="{"current" if n == current else "page-link"}" href="/products?page={n}">{n}</a>' for n in range(1, pages + 1))
    sort = (f'<a href="/products?page={current}&amp;sort=name">Sort A-Z</a> '
            f'<a href="/products?sort=name&amp;page={current}">(by name)</a>')
    content = (f'<h1>All products</h1><div class="sort">{sort}</div><div class="product-list">{"".join(_card(i) for i in chunk)}</div>'
               f'<div class="pager">{links}</div>')
    return _frame(f"Products - page {current}", content)


async def category(request: web.Request) -> web.Response:
    slug = request.match_info["slug"]
    if slug not in CATEGORIES:
        raise web.HTTPNotFound(text="No such category")
    items = [i for i in _items(request) if i["category"] == slug]
    return _frame(CATEGORIES[slug], f'<h1>{esc(CATEGORIES[slug])}</h1><div class="product-list">{"".join(_card(i) for i in items)}</div>')


async def product(request: web.Request) -> web.Response:
    item = state_of(request).catalogue().listing("chemtrade", request.match_info["id"])
    if item is None or item["slug"] != request.match_info["slug"]:
        raise web.HTTPNotFound(text="Product not found")
    is_chem = item["quantity_unit"] == "g"
    tiers = ""
    for t in item["price_tiers"]:
        if is_chem:
            kg = t["quantity_amount"] / 1000
            tiers += (f'<tr class="tier"><td class="tier-qty">{esc(t["text"])}</td><td class="tier-unit-price">US$ {t["price_amount"] / kg:,.2f} / kg</td>'
                      f'<td class="tier-total">US$ {t["price_amount"]:,.2f}</td></tr>')
        else:
            tiers += f'<tr class="tier"><td class="tier-qty">{esc(t["text"])}</td><td class="tier-unit-price">US$ {t["price_amount"]:,.2f}</td><td class="tier-total">US$ {t["price_amount"]:,.2f}</td></tr>'
    specs = [("Product name", item["title"])]
    if item["cas"]:
        specs += [("CAS No.", item["cas"]), ("Purity", f"{item['purity_pct']}%"), ("MOQ", f"{item['moq_kg']:g} kg")]
    specs += [("Price", f"US$ {item['price_amount']:,.2f} / {'kg' if is_chem else 'set'}"),
              ("Origin", COUNTRY_NAMES.get(item["origin"], item["origin"])), ("Shipping to", item["ships_to_text"]),
              ("Supplier", item["vendor"]), ("Payment", ", ".join(CHEM_PAYMENTS))]
    css_names = {"CAS No.": "cas", "Purity": "purity", "MOQ": "moq", "Price": "price", "Origin": "origin",
                 "Shipping to": "ships-to", "Supplier": "supplier", "Payment": "payment", "Product name": "name"}
    dl = "".join(f'<dt>{esc(k)}</dt><dd class="spec-{css_names[k]}">{esc(v)}</dd>' for k, v in specs)
    ship = "".join(f'<li class="shipping-option">{esc(s["method"])} +US$ {s["cost"]:.2f}</li>' for s in item["shipping_options"])
    content = f"""<div class="product-detail" data-id="{item['native_id']}">
<h1 class="product-name">{esc(item['title'])}</h1>
<span class="badge custom-synthesis">Custom synthesis</span>
<dl class="specs">{dl}</dl>
<table class="price-tiers"><tr><th>Quantity</th><th>Unit price</th><th>Total</th></tr>{tiers}</table>
<ul class="shipping">{ship}</ul>
<div class="description">{esc(item['description'])}</div>
{_contact_block()}
<form class="inquiry" action="/inquiry" method="post"><input type="hidden" name="product" value="{item['native_id']}">
<input name="email" placeholder="Your e-mail"><textarea name="message">I want to order</textarea><button>Send inquiry</button></form>
<p class="supplier-link">Supplier: <a href="/supplier/{slugify(item['vendor'])}">{esc(item['vendor'])}</a></p></div>"""
    return _frame(item["title"], content)


async def supplier(request: web.Request) -> web.Response:
    slug = request.match_info["slug"]
    items = [i for i in _items(request) if slugify(i["vendor"]) == slug]
    if not items:
        raise web.HTTPNotFound(text="No such supplier")
    content = (f'<div class="supplier"><h1 class="supplier-name">{esc(items[0]["vendor"])}</h1>'
               f'<p>Verified supplier. Gold member.</p>{_contact_block()}<div class="product-list">{"".join(_card(i) for i in items)}</div></div>')
    return _frame(items[0]["vendor"], content)


async def contact(request: web.Request) -> web.Response:
    return _frame("Contact", f"<h1>Contact</h1>{_contact_block()}<p>Reply within 12 hours. Custom synthesis of any intermediate.</p>")


async def refuse(request: web.Request) -> web.Response:
    return web.Response(status=403, text="Inquiries and accounts are disabled on this testbed.\n")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/", home), web.get("/products", products), web.get("/category/{slug}", category),
        web.get("/product/{id}/{slug}", product), web.get("/supplier/{slug}", supplier), web.get("/contact", contact),
        web.post("/inquiry", refuse), web.get("/account/logout", refuse),
    ]
