"""`precompile(site)` compiles every selector the site's pages are read with (fields, navigation,
gate pass links, gate and login markers), so a crawl or a worker compiles none on its first
pages: for each shipped site and each real-market layout, after precompile, reading every
selector and marker the site holds (enumerated here independently of precompile's walk) finds
each one compiled already."""
from __future__ import annotations

import pytest

from crawler.sitedef.selectors import Expression, Marker, _compiled, precompile
from crawler.sitedef.siteconfig import SiteConfig
from tests.crawler.test_fast_selectors import MARKET_SITES, SHIPPED_SITES, page_selectors

SITES: dict[str, SiteConfig] = {**SHIPPED_SITES, **MARKET_SITES}


def markers(site: SiteConfig) -> list[Marker]:
    found = [marker for gate in site.gates for marker in gate.markers]
    if site.login is not None:
        found += [*site.login.needed_markers, *site.login.success_markers]
    return [marker for marker in found if marker.kind in ("css", "xpath")]


def used_expressions(site: SiteConfig) -> list[Expression]:
    exprs = [expr for s in page_selectors(site) for expr in s.selector.alternatives]
    return exprs + [Expression(marker.kind, marker.value) for marker in markers(site)]


@pytest.mark.parametrize("name", sorted(SITES))
def test_every_selector_is_compiled_before_the_first_page(name: str) -> None:
    site = SITES[name]
    _compiled.cache_clear()
    count = precompile(site)
    used = used_expressions(site)
    assert used, f"{name}: no selector found to check"
    misses = _compiled.cache_info().misses
    for expr in used:
        _compiled(expr)
    assert _compiled.cache_info().misses == misses, f"{name}: compiled on first use after precompile"
    assert count >= len(set(used))


def test_the_shipped_sites_have_css_markers_to_check() -> None:
    # (the marker half of the test above checks something only if some site has such markers)
    assert any(markers(site) for site in SITES.values())
