"""vortex: 429 under burst, injected 5xx that recover, load-more cursors."""
from __future__ import annotations

import html
import re
import time

from testbed.sites.common import fault_status
from tests.testbed.socks_http import OnionSession


def test_burst_gets_429_with_retry_after(fresh_tb) -> None:
    session = OnionSession(fresh_tb.socks_port, fresh_tb.sites["vortex"].onion)
    statuses = []
    for _ in range(25):
        response = session.get("/u/dutch_gold?x=1")  # query makes the path fault-free or not; both fine
        statuses.append(response.status)
        if response.status == 429:
            assert int(response.headers["retry-after"]) >= 1
            break
    assert 429 in statuses
    time.sleep(1.1)
    assert session.get("/").status in (200, 500, 502, 503)


def test_injected_5xx_recovers_on_retry(fresh_tb) -> None:
    tb = fresh_tb
    faulty = [t["url"] for t in tb.truth("vortex") if fault_status(tb.seed, tb.day, t["url"], 5)]
    assert faulty, "some listing URLs must be chosen to fail"
    session = OnionSession(tb.socks_port, tb.sites["vortex"].onion)
    first = session.get(faulty[0])
    assert first.status in (500, 502, 503)
    second = session.get(faulty[0])
    assert second.status == 200
    clean = next(t["url"] for t in tb.truth("vortex") if not fault_status(tb.seed, tb.day, t["url"], 5))
    assert session.get(clean).status == 200


def test_load_more_walks_whole_category(tb) -> None:
    session = OnionSession(tb.socks_port, tb.sites["vortex"].onion)
    category = max(("stimulants", "benzos", "psychedelics"), key=lambda c: sum(t["category"] == c for t in tb.truth("vortex")))
    expected = {t["native_id"] for t in tb.truth("vortex") if t["category"] == category}
    seen: list[str] = []
    path: str | None = f"/c/{category}"
    while path:
        page = session.get(path).text
        seen += re.findall(r'<tr class="listingRow" data-id="(\d+)">', page)
        more = re.search(r'<a class="load-more" rel="next" data-after="[^"]+" href="([^"]+)">', page)
        path = html.unescape(more.group(1)) if more else None
    assert len(seen) == len(set(seen)) and set(seen) == expected
    assert session.get(f"/c/{category}?after=garbage").status == 400


def test_xmr_first_price_and_relative_dates(tb) -> None:
    session = OnionSession(tb.socks_port, tb.sites["vortex"].onion)
    truth = tb.truth("vortex")[0]
    page = session.get(truth["url"]).text
    assert truth["price_currency"] == "XMR"
    assert f'<span class="price-xmr">{truth["price_amount"]:.4f} XMR</span>' in page
    assert f'USD {truth["price_usd"]:.2f}' in page
    assert re.search(r'class="p-listed">(today|yesterday|\d+ (days|weeks|months) ago)<', page)


def test_feedback_tab_lists_newest_with_relative_dates(tb) -> None:
    session = OnionSession(tb.socks_port, tb.sites["vortex"].onion)
    record = max(tb.truth("vortex"), key=lambda r: r["feedback_count"])
    page = session.get(record["url"] + "/feedback").text
    numbers = [int(n) for n in re.findall(r'<tr class="feedbackRow" data-n="(\d+)">', page)]
    assert numbers[0] == record["feedback_count"] and numbers == sorted(numbers, reverse=True) and len(numbers) == 15
    dates = re.findall(r'<td class="fb-date">([^<]+)</td>', page)
    assert all(re.fullmatch(r"today|yesterday|\d+ (days|weeks|months) ago", d) for d in dates)
    assert f'{record["feedback_count"]} reviews' in page
