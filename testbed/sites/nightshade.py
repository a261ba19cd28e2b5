"""nightshade: a Dream-Market-like onion market, server-rendered.

Flow: DDoS-guard gate (hidden token form -> cookie) -> login (username/password -> session
cookie) -> categories with ?page=N -> listing pages -> vendor pages.  Markup is written
for this testbed; only the structure (label/span detail rows, preformatted notes, mirror
list, exchange box) follows what public Dream Market captures show.
"""
from __future__ import annotations

import hashlib
from datetime import date
from typing import Any
from urllib.parse import quote

from aiohttp import web

from testbed.sites.common import (
    CATEGORY_TITLES,
    Handler,
    categories_of,
    esc,
    int_param,
    page,
    paginate,
    site_of,
    state_of,
)

PER_PAGE = 10
GUARD_COOKIE = "ns_guard"
SESSION_COOKIE = "ns_session"
USERNAME = "analyst"
GATE_MARKER = "DDoS protection by NightGuard"
CSS = "body{font-family:Verdana,sans-serif;background:#1b1b22;color:#ddd}a{color:#9cf}.tabularDetails label{display:inline-block;width:9em;color:#999}"


def _token(seed: int, purpose: str) -> str:
    return hashlib.sha256(f"nightshade|{seed}|{purpose}".encode()).hexdigest()[:32]


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


def gate_page(request: web.Request) -> web.Response:
    seed = state_of(request).seed
    body = f"""<div class="verifyHuman ddos-guard">
<form action="/ddos-guard/verify" method="post" id="guardForm">
<div class="ddos">DDoS Protection</div>
<div class="inner">
<div class="iline">Checking your browser before accessing nightshade. {GATE_MARKER}.</div>
<div class="iline">This is an automatic check. Press continue if you are not redirected.</div>
<input type="hidden" name="guard_token" value="{_token(seed, 'guard')}">
<input type="hidden" name="next" value="{esc(_safe_next(request.path_qs))}">
<div class="sdiv"><input name="solve" type="submit" value="Continue"></div>
</div>
</form>
</div>"""
    return page("nightshade - DDoS Protection", body, css=CSS)


def make_gate_middleware() -> Any:
    @web.middleware
    async def gate_and_session(request: web.Request, handler: Handler) -> web.StreamResponse:
        state = state_of(request)
        if request.path == "/ddos-guard/verify":
            return await handler(request)
        if request.cookies.get(GUARD_COOKIE) != _token(state.seed, "guard"):
            return gate_page(request)
        if request.path in ("/login", "/robots.txt"):
            return await handler(request)
        if request.cookies.get(SESSION_COOKIE) != _token(state.seed, "session"):
            raise web.HTTPFound(f"/login?next={quote(request.path_qs, safe='/')}")
        return await handler(request)

    return gate_and_session


async def guard_verify(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    form = await request.post()
    if form.get("guard_token") != _token(state.seed, "guard"):
        return gate_page(request)
    response = web.HTTPSeeOther(_safe_next(str(form.get("next") or "/")))
    response.set_cookie(GUARD_COOKIE, _token(state.seed, "guard"), httponly=True, path="/")
    raise response


def login_page(request: web.Request, error: str = "", next_url: str = "/") -> web.Response:
    seed = state_of(request).seed
    notice = f'<div class="formErrors error">{esc(error)}</div>' if error else ""
    body = f"""{_mirrors(request)}
<div class="login notloggedin">
<div class="title">Login with existing user</div>
{notice}
<form action="/login" method="post" class="loginForm">
<input type="hidden" name="csrf_token" value="{_token(seed, 'csrf')}">
<input type="hidden" name="next" value="{esc(next_url)}">
<div class="formInputs">
<div><label for="username">Username</label><input id="username" name="username" type="text" autocomplete="off"></div>
<div><label for="password">Password</label><input id="password" name="password" type="password"></div>
</div>
<div class="sdiv"><input type="submit" name="login" value="Login"></div>
</form>
<div class="register"><a href="/register">Register a new account</a></div>
</div>"""
    return page("nightshade Login - anonymous marketplace", body, css=CSS)


async def login(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    if request.method == "GET":
        return login_page(request, next_url=_safe_next(request.query.get("next")))
    form = await request.post()
    next_url = _safe_next(str(form.get("next") or "/"))
    csrf = form.get("csrf_token")
    if csrf is not None and csrf != _token(state.seed, "csrf"):
        return login_page(request, "Form expired, please try again.", next_url)
    if form.get("username") != USERNAME or form.get("password") != state.password:
        return login_page(request, "Invalid username or password.", next_url)
    response = web.HTTPSeeOther(next_url)
    response.set_cookie(SESSION_COOKIE, _token(state.seed, "session"), httponly=True, path="/")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    response = web.HTTPFound("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


def _mirrors(request: web.Request) -> str:
    hosts = site_of(request).onion_hosts
    items = "".join(f'<li><a href="http://{h}/">{h}</a></li>' for h in hosts)
    return f'<div class="sidebar onionmirrors"><div class="sidebarHeader">Onion mirrors</div><ul>{items}</ul></div>'


def _frame(request: web.Request, title: str, content: str) -> web.Response:
    state = state_of(request)
    cat = state.catalogue()
    items = cat.listings["nightshade"]
    nav = "".join(
        f'<div class="category depth1"><a href="/category/{slug}">{CATEGORY_TITLES[slug]} <span class="amount">{n}</span></a></div>'
        for slug, n in categories_of(items)
    )
    rates = cat.rates
    body = f"""<div class="main">
<div class="naviHeader"><ul class="ulNavItems">
<li><a href="/">Shop</a></li><li><a href="/messages">Messages: 0</a></li><li><a href="/profile">{USERNAME}</a></li>
<li class="navitem"><a href="/logout" class="logout">Logout</a></li></ul>
<form action="/search" method="get" class="topsearch"><input name="q" type="text"><button>Search</button></form></div>
<div class="sidebar browse"><div class="sidebarHeader">Browse by category</div>{nav}
<div class="sidebar exchange"><div class="sidebarHeader">Exchange</div>
<table class="exchangeRateListing"><tr><td class="cur">BTC</td><td class="rate" data-cur="BTC">{rates.btc_usd:.2f}</td></tr>
<tr><td class="cur">XMR</td><td class="rate" data-cur="XMR">{rates.xmr_usd:.2f}</td></tr></table></div>
{_mirrors(request)}</div>
<div class="content">{content}</div></div>"""
    return page(title, body, css=CSS)


def _row(item: dict[str, Any]) -> str:
    return f"""<div class="shopItem" data-offer="{item['native_id']}">
<div class="oTitle"><a href="{item['url']}">{esc(item['title'])}</a></div>
<div class="oPrice">{_usd(item['price_usd'])} <span class="oCrypto">({item['price_btc']:.8f} BTC)</span></div>
<div class="oVendor">Vendor: <a href="{esc(item['vendor_url'])}">{esc(item['vendor'])}</a> ({item['feedback_count']})</div>
<div class="oShips">Ships from: {esc(item['origin_name'])}</div></div>"""


def _usd(amount: float) -> str:
    return f"${amount:,.2f}"


async def home(request: web.Request) -> web.Response:
    items = state_of(request).catalogue().listings["nightshade"]
    featured = "".join(_row(i) for i in items[:8])
    return _frame(request, "nightshade - Featured anonymous marketplace",
                  f'<div class="title">Featured listings</div><div class="shopItems">{featured}</div>')


async def category(request: web.Request) -> web.Response:
    slug = request.match_info["slug"]
    if slug not in CATEGORY_TITLES:
        raise web.HTTPNotFound(text="No such category")
    items = [i for i in state_of(request).catalogue().listings["nightshade"] if i["category"] == slug]
    sort = request.query.get("sort", "")
    if sort == "price":
        items = sorted(items, key=lambda i: i["price_usd"])
    page_items, pages = paginate(items, int_param(request, "page"), PER_PAGE)
    current = min(max(1, int_param(request, "page")), pages)
    links = []
    for n in range(1, pages + 1):
        cls = "page current" if n == current else "page"
        links.append(f'<a class="{cls}" href="/category/{slug}?page={n}">{n}</a>')
    if current < pages:
        links.append(f'<a class="next" rel="next" href="/category/{slug}?page={current + 1}">Next &raquo;</a>')
    # two spellings of the same URL: a duplicate-URL trap for the crawler's canonicaliser
    sorts = (f'<a class="sortBy" href="/category/{slug}?page={current}&amp;sort=price">Sort by price</a> '
             f'<a class="sortBy" href="/category/{slug}?sort=price&amp;page={current}">cheapest first</a>')
    content = (f'<div class="title categoryTitle">{CATEGORY_TITLES[slug]}</div><div class="sorting">{sorts}</div>'
               f'<div class="shopItems">{"".join(_row(i) for i in page_items)}</div>'
               f'<div class="pagination">{"".join(links)}</div>')
    return _frame(request, f"nightshade - {CATEGORY_TITLES[slug]} (page {current})", content)


async def listing(request: web.Request) -> web.Response:
    item = state_of(request).catalogue().listing("nightshade", request.match_info["offer"])
    if item is None:
        raise web.HTTPNotFound(text="Item not found. It may have been removed by the vendor.")
    tiers = "".join(
        f'<tr class="tier"><td class="tierQty">{esc(t["text"])}</td><td class="tierPrice">{_usd(t["price_usd"])}</td>'
        f'<td class="tierBtc">{t["price_btc"]:.8f}</td><td class="tierXmr">{t["price_xmr"]:.4f}</td></tr>'
        for t in item["price_tiers"]
    )
    ship_opts = "".join(f'<option value="{n}">{esc(s["text"])}</option>' for n, s in enumerate(item["shipping_options"]))
    ship_list = "".join(f'<li class="shipOpt">{esc(s["text"])}</li>' for s in item["shipping_options"])
    content = f"""<div class="viewProduct" data-offer="{item['native_id']}">
<h1 class="title">{esc(item['title'])}</h1>
<div class="tabularDetails">
<div><label>Vendor</label><span class="vendor"><a href="{esc(item['vendor_url'])}">{esc(item['vendor'])}</a> <span class="feedbackCount" title="Feedback received">({item['feedback_count']})</span></span></div>
<div><label>Price</label><span class="price">{_usd(item['price_usd'])}</span> <span class="cryptoPrice">({item['price_btc']:.8f} BTC / {item['price_xmr']:.4f} XMR)</span></div>
<div><label>Ships from</label><span class="shipsFrom">
\t\t{esc(item['origin_name'])}
\t</span></div>
<div><label>Ships to</label><span class="shipsTo">{esc(item['ships_to_text'])}</span></div>
<div><label>Escrow</label><span class="escrow">{'Yes' if item['escrow'] else 'No'}</span></div>
<div><label>Finalize early</label><span class="fe">{'Yes' if item['finalize_early'] else 'No'}</span></div>
<div><label>Category</label><span class="category"><a href="/category/{item['category']}">{CATEGORY_TITLES[item['category']]}</a></span></div>
<div><label>In stock</label><span class="stock">{item['stock']}</span></div>
</div>
<div class="subtitle">Price tiers</div>
<table class="priceTiers"><tr><th>Quantity</th><th>USD</th><th>BTC</th><th>XMR</th></tr>{tiers}</table>
<div class="subtitle">Shipping options</div><ul class="shippingOptions">{ship_list}</ul>
<form class="buyForm" action="/listing/{item['native_id']}/buy" method="post">
<select name="shipping">{ship_opts}</select> Qty: <input name="qty" type="number" value="1" min="1">
<input type="submit" name="buy" value="Buy now"></form>
<div class="subtitle">Product description</div>
<div class="preformattedNotes" id="offerDescription"><pre>{esc(item['description'])}</pre></div>
<form class="contactVendor" action="/messages/new" method="post"><input type="hidden" name="to" value="{esc(item['vendor'])}">
<textarea name="message"></textarea><input type="submit" value="Contact vendor"></form>
</div>"""
    return _frame(request, item["title"], content)


async def vendor(request: web.Request) -> web.Response:
    cat = state_of(request).catalogue()
    info = cat.vendor("nightshade", request.match_info["name"])
    if info is None:
        raise web.HTTPNotFound(text="No such member")
    joined = date.fromisoformat(info["joined"]).strftime("%d/%m/%Y")
    aliases = "".join(f'<li class="alias">{esc(a)}</li>' for a in info["aliases"]) or "<li>none</li>"
    labels = {"wickr": "Wickr", "email": "E-mail", "xmr": "XMR (direct deals)"}
    contact = "".join(f'<div class="contactLine">{labels.get(k, k)}: <span class="handle">{esc(v[0])}</span></div>'
                      for k, v in info["identifiers"].items() if k not in ("btc", "pgp"))
    own = [i for i in cat.listings["nightshade"] if i["vendor"] == info["name"]]
    content = f"""<div class="contactMember vendorProfile">
<div class="title">Vendor <span class="vendorName">{esc(info['name'])}</span></div>
<div class="profileNotes tabularDetails">
<div><label>Username</label><span class="username">{esc(info['name'])}</span> <span class="sales" title="Successful transactions">({info['sales']})</span> (<span class="userRating" title="Average rating (1-5 stars)">{info['rating']:.2f}</span>)</div>
<div class="memberSince"><label>Join date</label><span class="joinDate">{joined}</span></div>
<div><label>FE enabled</label><span class="feEnabled">{'Yes' if info['fe_enabled'] else 'No'}</span></div>
<div><label>Refund address</label><span class="btcAddress">{esc(info['identifiers']['btc'][0])}</span></div>
</div>
<div class="subtitle">Also known as</div><ul class="aliases">{aliases}</ul>
<div class="subtitle">Terms and conditions</div><div class="preformattedNotes"><pre>{esc(info['bio'])}</pre>{contact}</div>
<div class="subtitle">Public PGP key</div><div class="preformattedNotes"><pre class="code pgpKey">{esc(info['pgp_block'])}</pre></div>
<div class="subtitle">Listings</div><div class="shopItems">{''.join(_row(i) for i in own)}</div>
</div>"""
    return _frame(request, f"Contact {info['name']}", content)


async def search(request: web.Request) -> web.Response:
    q = request.query.get("q", "").lower()
    items = [i for i in state_of(request).catalogue().listings["nightshade"] if q and q in i["title"].lower()]
    return _frame(request, "nightshade - Search", f'<div class="title">Search: {esc(q)}</div>{"".join(_row(i) for i in items)}')


async def refuse_post(request: web.Request) -> web.Response:
    """Buy / message forms: a read-only monitor must never submit them."""
    return web.Response(status=403, text="Orders and messages are disabled on this testbed.\n")


async def robots(request: web.Request) -> web.Response:
    return web.Response(text="User-agent: *\nDisallow: /logout\n")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/", home), web.get("/category/{slug}", category), web.get("/listing/{offer}", listing),
        web.get("/vendor/{name}", vendor), web.get("/search", search), web.route("*", "/login", login),
        web.post("/ddos-guard/verify", guard_verify), web.get("/logout", logout),
        web.post("/listing/{offer}/buy", refuse_post), web.post("/messages/new", refuse_post),
        web.get("/robots.txt", robots),
    ]
