"""nightshade: DDoS gate -> login -> category pages -> listing and vendor pages."""
from __future__ import annotations

import html
import re

from tests.testbed.socks_http import OnionSession

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _hidden_fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in HIDDEN.findall(page)}


def logged_in(tb) -> OnionSession:
    session = OnionSession(tb.socks_port, tb.sites["nightshade"].onion)
    gate = session.get("/category/stimulants?page=2")
    assert gate.status == 200 and "DDoS protection by NightGuard" in gate.text
    passed = session.post("/ddos-guard/verify", _hidden_fields(gate.text))
    assert passed.status == 303 and "ns_guard" in session.cookies
    to_login = session.get(passed.headers["location"])
    assert to_login.status == 302 and to_login.headers["location"].startswith("/login?next=")
    login_page = session.get(to_login.headers["location"])
    assert 'name="username"' in login_page.text and 'name="password"' in login_page.text
    form = _hidden_fields(login_page.text) | {"username": "analyst", "password": tb.password}
    done = session.post("/login", form)
    assert done.status == 303 and done.headers["location"] == "/category/stimulants?page=2"
    return session


def test_gate_login_listing_flow(tb) -> None:
    session = logged_in(tb)
    page = session.get("/category/stimulants?page=2")
    assert page.status == 200 and 'class="pagination"' in page.text
    link = re.search(r'<div class="oTitle"><a href="(/listing/\d+)">', page.text)
    assert link
    listing = session.get(link.group(1))
    native_id = link.group(1).rsplit("/", 1)[1]
    truth = next(t for t in tb.truth("nightshade") if t["native_id"] == native_id)
    assert html.escape(truth["title"]) in listing.text
    assert f'<span class="price">${truth["price_usd"]:,.2f}</span>' in listing.text
    assert 'action="/listing/' in listing.text and "/buy" in listing.text  # never-submit trap is present
    vendor = session.get(f"/vendor/{truth['vendor']}")
    assert "BEGIN PGP PUBLIC KEY BLOCK" in vendor.text


def test_wrong_password_and_no_session(tb) -> None:
    session = OnionSession(tb.socks_port, tb.sites["nightshade"].onion)
    gate = session.get("/login")
    session.post("/ddos-guard/verify", _hidden_fields(gate.text))
    page = session.get("/login")
    bad = session.post("/login", _hidden_fields(page.text) | {"username": "analyst", "password": "nope"})
    assert bad.status == 200 and "Invalid username or password" in bad.text
    assert "ns_session" not in session.cookies
    assert session.get("/listing/1").status == 302


def test_logout_drops_session(tb) -> None:
    session = logged_in(tb)
    assert session.get("/").status == 200
    assert session.get("/logout").status == 302
    assert session.get("/").status == 302


def test_pagination_reaches_every_category_listing(tb) -> None:
    session = logged_in(tb)
    truth_ids = {t["native_id"] for t in tb.truth("nightshade") if t["category"] == "stimulants"}
    seen: set[str] = set()
    path: str | None = "/category/stimulants"
    while path:
        page = session.get(path).text
        seen |= set(re.findall(r'<div class="shopItem" data-offer="(\d+)">', page))
        nxt = re.search(r'<a class="next" rel="next" href="([^"]+)">', page)
        path = html.unescape(nxt.group(1)) if nxt else None
    assert seen == truth_ids
