"""rcshop in real Chromium: the JS renders what plain HTTP cannot see."""
from __future__ import annotations

import os
import shutil

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("TRAWL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("no Chromium (set TRAWL_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield instance
        instance.close()


def test_js_renders_list_and_product(tb, browser) -> None:
    truth = tb.truth("rcshop")
    page = browser.new_page()
    try:
        page.goto(tb.sites["rcshop"].base_url, wait_until="networkidle")
        page.wait_for_selector(".product-card")
        names = page.locator(".product-card .product-name").all_inner_texts()
        assert sorted(names) == sorted(t["title"] for t in truth)
        record = next(t for t in truth if t["quantity_unit"] == "g")
        page.goto(tb.sites["rcshop"].base_url.rstrip("/") + record["url"], wait_until="networkidle")
        page.wait_for_selector("h1.product-title")
        assert page.inner_text("h1.product-title") == record["title"]
        assert page.inner_text(".product-price") == f"\u20ac{record['price_amount']:.2f}"
        assert page.locator("tr.tier td.tier-weight").all_inner_texts() == ["1g", "5g", "10g", "25g"]
        assert "NOT FOR HUMAN CONSUMPTION" in page.inner_text(".disclaimer")
    finally:
        page.close()
