"""vortex: an Empire-Market-like onion market with a table layout.

XMR-first prices (USD secondary, from the rate in the header; one listing priced in USD by its
vendor states it beside the XMR amount), relative dates ("3 days ago", "yesterday"), "Load
more" links (?after=cursor) instead of page numbers, and the rate limiting / 5xx faults from
the common middlewares.  No login.
"""
from __future__ import annotations

import base64
from datetime import date
from typing import Any

from aiohttp import web

from testbed.sites.common import CATEGORY_TITLES, categories_of, esc, page, state_of

PER_LOAD = 12
CSS = "body{font-family:Arial,sans-serif;background:#f2f2f2}table.listingTable td{border-bottom:1px solid #ccc;padding:4px}"


def relative_date(days: int) -> str:
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days < 14:
        return f"{days} days ago"
    if days < 60:
        return f"{days // 7} weeks ago"
    return f"{days // 30} months ago"


def xmr_price(item: dict[str, Any]) -> str:
    """"0.1234 XMR"; a listing its vendor priced in USD also states that price: "0.1234 XMR (USD 19.75)"."""
    text = f"{item['price_xmr']:.4f} XMR"
    return f"{text} (USD {item['price_usd']:.2f})" if item.get("usd_pegged") else text


def encode_cursor(native_id: str) -> str:
    return base64.urlsafe_b64encode(f"id:{native_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return raw[3:] if raw.startswith("id:") else None


def _ordered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda i: (i["posted_days_ago"], i["native_id"]))


def _frame(request: web.Request, title: str, content: str) -> web.Response:
    cat = state_of(request).catalogue()
    nav = "".join(f'<li><a href="/c/{slug}">{CATEGORY_TITLES[slug].upper()} ({n})</a></li>'
                  for slug, n in categories_of(cat.listings["vortex"]))
    body = f"""<div class="header"><div class="img-logo"><a href="/">VORTEX MARKET</a></div>
<div class="right-session"><p class="padp">Logged in as <b>guest</b> [<a href="/index/logout">Logout</a>]</p></div></div>
<div class="sm-nav"><ul class="rates"><li class="rate" data-cur="XMR">XMR/USD {cat.rates.xmr_usd:.2f}</li>
<li class="rate" data-cur="BTC">BTC/USD {cat.rates.btc_usd:.2f}</li></ul></div>
<div class="body-content"><nav id="primary_nav_wrap"><ul><li><a href="/">HOME</a></li>{nav}</ul></nav>
<div class="right-content">{content}</div></div>"""
    return page(title, body, css=CSS)


def _table(items: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"""<tr class="listingRow" data-id="{i['native_id']}">
<td class="lt-title"><a href="{i['url']}">{esc(i['title'])}</a></td>
<td class="lt-vendor"><a href="{esc(i['vendor_url'])}">{esc(i['vendor'])}</a></td>
<td class="lt-price"><b class="price-xmr">{xmr_price(i)}</b><br><small class="price-usd">USD {i['price_usd']:.2f}</small></td>
<td class="lt-origin">{esc(i['origin_name'])}</td>
<td class="lt-date">{relative_date(i['posted_days_ago'])}</td></tr>"""
        for i in items
    )
    return ('<table class="listingTable"><thead><tr><th>Product</th><th>Vendor</th><th>Price</th>'
            f'<th>Origin</th><th>Listed</th></tr></thead><tbody>{rows}</tbody></table>')


async def home(request: web.Request) -> web.Response:
    items = _ordered(state_of(request).catalogue().listings["vortex"])[:PER_LOAD]
    return _frame(request, "Vortex Market - Home", f'<h3 class="sub_head">Newest listings</h3>{_table(items)}')


async def category(request: web.Request) -> web.Response:
    slug = request.match_info["slug"]
    if slug not in CATEGORY_TITLES:
        raise web.HTTPNotFound(text="Category not found")
    items = _ordered([i for i in state_of(request).catalogue().listings["vortex"] if i["category"] == slug])
    start = 0
    if "after" in request.query:
        after = decode_cursor(request.query["after"])
        ids = [i["native_id"] for i in items]
        if after not in ids:
            raise web.HTTPBadRequest(text="invalid or expired cursor")
        start = ids.index(after) + 1
    chunk = items[start : start + PER_LOAD]
    more = ""
    if start + PER_LOAD < len(items):
        cursor = encode_cursor(chunk[-1]["native_id"])
        more = f'<div class="loadMore"><a class="load-more" rel="next" data-after="{cursor}" href="/c/{slug}?after={cursor}">Load more</a></div>'
    content = f'<h3 class="sub_head">{CATEGORY_TITLES[slug]}</h3>{_table(chunk)}{more}'
    return _frame(request, f"Vortex Market - {CATEGORY_TITLES[slug]}", content)


async def item(request: web.Request) -> web.Response:
    cat = state_of(request).catalogue()
    info = cat.listing("vortex", request.match_info["id"])
    if info is None:
        raise web.HTTPNotFound(text="Listing not found")
    vendor = cat.vendor("vortex", info["vendor"]) or {}
    since = date.fromisoformat(vendor.get("joined", "2020-01-01")).strftime("%B %d, %Y")
    options = "".join(f'<option value="{n}">{esc(s["method"])} - {s["days_min"]}-{s["days_max"]} days - USD + {s["cost"]:.2f}</option>'
                      for n, s in enumerate(info["shipping_options"]))
    bulk = "".join(f'<tr class="bulkRow"><td class="bulk-qty">{esc(t["text"])}</td><td class="bulk-xmr">{t["price_xmr"]:.4f} XMR</td>'
                   f'<td class="bulk-usd">USD {t["price_usd"]:.2f}</td></tr>' for t in info["price_tiers"])
    payment = "Escrow" if info["escrow"] else "FE (100% finalize early)"
    if info["escrow"] and info["finalize_early"]:
        payment = "Escrow / FE allowed"
    content = f"""<div class="listDes" data-id="{info['native_id']}">
<h2 class="item-title">{esc(info['title'])}</h2>
<p class="soldBy">Sold by <b><a href="{esc(info['vendor_url'])}">{esc(info['vendor'])}</a></b> - <span class="vendorSales">{vendor.get('sales', 0)} sold since {since}</span>
<span class="levelSet">Trust level {1 + (vendor.get('sales', 0) // 500)}</span></p>
<table class="productTbl"><tbody>
<tr><td><b>Product Class</b></td><td class="p-class">{CATEGORY_TITLES[info['category']]}</td><td><b>Origin Country</b></td><td class="p-origin">{esc(info['origin_name'])}</td></tr>
<tr><td><b>Quantity Left</b></td><td class="p-stock">{info['stock']}</td><td><b>Ships to</b></td><td class="p-shipsto">{esc(info['ships_to_text'])}</td></tr>
<tr><td><b>Listed</b></td><td class="p-listed">{relative_date(info['posted_days_ago'])}</td><td><b>Payment</b></td><td class="p-payment">{payment}</td></tr>
<tr><td><b>Feedback</b></td><td class="p-feedback">{info['feedback_count']} reviews</td><td></td><td></td></tr>
</tbody></table>
<form action="/item/{info['native_id']}/queue" method="post" class="buyForm">
<select name="shippingOption" class="marginShip">{options}</select>
<p class="padp"><b>Purchase price:</b> <span class="price-xmr">{xmr_price(info)}</span></p>
<p class="price-secondary">&asymp; <span class="price-usd">USD {info['price_usd']:.2f}</span> / {info['price_btc']:.6f} BTC</p>
Qty: <input value="1" type="number" min="1" name="Qty"><input type="submit" class="btnbuy" value="Buy Now" name="btnBuy_xmr"></form>
<h4>Bulk pricing</h4><table class="bulkTbl">{bulk}</table>
<div class="tab"><a class="tablinks focus" href="{info['url']}">Description</a> <a class="tablinks" href="{info['url']}/feedback">Feedback ({info['feedback_count']})</a></div>
<div class="tabcontent"><h3>Description</h3><p id="desc_prod" style="white-space: pre-wrap;">{esc(info['description'])}</p></div>
</div>"""
    return _frame(request, f"Vortex Market - {info['title']}", content)


async def user(request: web.Request) -> web.Response:
    cat = state_of(request).catalogue()
    info = cat.vendor("vortex", request.match_info["name"])
    if info is None:
        raise web.HTTPNotFound(text="User not found")
    since = date.fromisoformat(info["joined"]).strftime("%B %d, %Y")
    own = _ordered([i for i in cat.listings["vortex"] if i["vendor"] == info["name"]])
    aliases = ", ".join(esc(a) for a in info["aliases"]) or "-"
    content = f"""<div class="user-profile" data-user="{esc(info['name'])}">
<h2 class="user-name">{esc(info['name'])}</h2>
<table class="userTbl">
<tr><td>Member since</td><td class="u-joined">{since}</td></tr>
<tr><td>Sales</td><td class="u-sales">{info['sales']}</td></tr>
<tr><td>Rating</td><td class="u-rating">{info['rating']:.2f}/5</td></tr>
<tr><td>Other markets</td><td class="u-aliases">{aliases}</td></tr>
<tr><td>BTC</td><td class="u-btc">{esc(info['identifiers']['btc'][0])}</td></tr>
</table>
<h3>About</h3><p class="u-about" style="white-space: pre-wrap;">{esc(info['bio'])}{_contact_lines(info)}</p>
<h3>PGP</h3><textarea class="u-pgp" readonly rows="12" cols="66">{esc(info['pgp_block'])}</textarea>
<h3>Listings</h3>{_table(own)}</div>"""
    return _frame(request, f"Vortex Market - {info['name']}", content)


FEEDBACK_COMMENTS = (
    "fast shipping, great stealth", "top quality as always", "arrived in 4 days, thanks!", "good comms, will order again",
    "a bit slow but product is fire", "weight was spot on", "5/5 legit vendor", "package took 2 weeks, ok product",
    "reship arrived, thanks for the support", "best on the market",
)
FEEDBACK_SHOWN = 15


def feedback_entries(info: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    """Newest feedback first: the `feedback_count - base` newest were left on crawl days 1..day."""
    from testbed.generator import rng

    total = info["feedback_count"]
    out = []
    for k in range(min(FEEDBACK_SHOWN, total)):
        number = total - k  # feedback number, 1 = oldest
        r = rng("feedback", seed, info["native_id"], number)
        age = min(info["posted_days_ago"], r.randrange(0, 3) + k // 3)
        out.append({"number": number, "rating": 5 if r.random() < 0.85 else r.choice((3, 4)), "buyer": f"{r.choice('abcdefghkmnprstw')}***{r.choice('aeiouxyz')}",
                    "comment": r.choice(FEEDBACK_COMMENTS), "days_ago": age, "price_usd": info["price_usd"]})
    return out


async def feedback(request: web.Request) -> web.Response:
    state = state_of(request)
    info = state.catalogue().listing("vortex", request.match_info["id"])
    if info is None:
        raise web.HTTPNotFound(text="Listing not found")
    rows = "".join(
        f"""<tr class="feedbackRow" data-n="{e['number']}"><td class="fb-rating">{e['rating']}/5</td><td class="fb-comment">{esc(e['comment'])}</td>
<td class="fb-buyer">{e['buyer']}</td><td class="fb-price">USD {e['price_usd']:.2f}</td><td class="fb-date">{relative_date(e['days_ago'])}</td></tr>"""
        for e in feedback_entries(info, state.seed)
    )
    content = (f'<div class="listDes" data-id="{info["native_id"]}"><h2 class="item-title">{esc(info["title"])}</h2>'
               f'<p class="fb-total">{info["feedback_count"]} reviews (showing the latest {FEEDBACK_SHOWN})</p>'
               f'<table class="feedbackTbl"><thead><tr><th>Rating</th><th>Comment</th><th>Buyer</th><th>Price</th><th>When</th></tr></thead>'
               f'<tbody>{rows}</tbody></table><a class="tablinks" href="{info["url"]}">Back to description</a></div>')
    return _frame(request, f"Vortex Market - Feedback - {info['title']}", content)


def _contact_lines(info: dict[str, Any]) -> str:
    lines = {"wickr": "wickr me: {}", "email": "mail: {}", "xmr": "XMR for direct deals (trusted buyers only): {}"}
    return "".join("\n" + esc(lines[k].format(v[0])) for k, v in info["identifiers"].items() if k in lines)


async def logout(request: web.Request) -> web.Response:
    raise web.HTTPFound("/")


async def refuse_post(request: web.Request) -> web.Response:
    return web.Response(status=403, text="Orders are disabled on this testbed.\n")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/", home), web.get("/c/{slug}", category), web.get("/item/{id}", item), web.get("/item/{id}/feedback", feedback),
        web.get("/u/{name}", user), web.get("/index/logout", logout), web.post("/item/{id}/queue", refuse_post),
    ]
