"""rcshop: clear-web research-chemical shop; products exist only after JavaScript runs.

Plain HTTP sees the same empty shell on every page; `/static/rcshop.js` fetches
`/api/products` (list) or `/api/products/<slug>` (detail) and renders them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from testbed.clearweb import RC_DISCLAIMER, RC_SHOP_NAME
from testbed.sites.common import COUNTRY_NAMES, esc, state_of

JS_PATH = Path(__file__).resolve().parent.parent / "static" / "rcshop.js"

SHELL = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{RC_SHOP_NAME} - research chemicals</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
</head>
<body>
<header class="site-header"><a href="/" class="logo">{RC_SHOP_NAME}</a>
<nav><a href="/">Shop</a> <a href="/faq">FAQ</a> <a href="/account/logout">Logout</a></nav></header>
<main id="app"><p class="loading">Loading catalogue&hellip;</p>
<noscript>This shop needs JavaScript enabled.</noscript></main>
<footer><p class="legal">{esc(RC_DISCLAIMER)}</p></footer>
<script src="/static/rcshop.js"></script>
</body>
</html>
"""


def _items(request: web.Request) -> list[dict[str, Any]]:
    return state_of(request).catalogue().listings["rcshop"]


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    return {"id": item["native_id"], "slug": item["slug"], "name": item["title"], "category": item["category"],
            "price_from": item["price_amount"], "url": item["url"]}


async def shell(request: web.Request) -> web.Response:
    return web.Response(text=SHELL, content_type="text/html", charset="utf-8")


async def product_shell(request: web.Request) -> web.Response:
    if not any(i["slug"] == request.match_info["slug"] for i in _items(request)):
        raise web.HTTPNotFound(text="Product not found")
    return await shell(request)


async def api_products(request: web.Request) -> web.Response:
    rate = state_of(request).catalogue().rates.eur_usd
    return web.json_response({"currency": "EUR", "usd_rate": rate, "products": [_summary(i) for i in _items(request)]})


async def api_product(request: web.Request) -> web.Response:
    item = next((i for i in _items(request) if i["slug"] == request.match_info["slug"]), None)
    if item is None:
        return web.json_response({"error": "not found"}, status=404)
    rate = state_of(request).catalogue().rates.eur_usd
    return web.json_response({
        **_summary(item), "price": item["price_amount"], "currency": "EUR", "usd_rate": rate,
        "tiers": [{"label": t["text"], "price": t["price_amount"]} for t in item["price_tiers"]],
        "ships_from": COUNTRY_NAMES.get(item["origin"], item["origin"]), "ships_to": item["ships_to_text"],
        "shipping": [s["text"] for s in item["shipping_options"]], "description": item["description"],
        "disclaimer": RC_DISCLAIMER,
    })


async def script(request: web.Request) -> web.Response:
    return web.Response(body=JS_PATH.read_bytes(), content_type="application/javascript")


async def faq(request: web.Request) -> web.Response:
    text = (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>FAQ</title></head><body><h1>FAQ</h1>"
            f"<p>All products are sold for research purposes only. {esc(RC_DISCLAIMER)}</p>"
            "<p>We accept SEPA bank transfer, BTC and XMR.</p></body></html>")
    return web.Response(text=text, content_type="text/html", charset="utf-8")


async def refuse(request: web.Request) -> web.Response:
    return web.Response(status=403, text="Checkout and accounts are disabled on this testbed.\n")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/", shell), web.get("/product/{slug}", product_shell), web.get("/api/products", api_products),
        web.get("/api/products/{slug}", api_product), web.get("/static/rcshop.js", script), web.get("/faq", faq),
        web.post("/cart/add", refuse), web.get("/account/logout", refuse),
    ]
