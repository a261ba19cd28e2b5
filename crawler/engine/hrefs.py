"""Resolving a page's hrefs: `urllib.parse.urljoin`, remembered for site-rooted hrefs.

Every page of a market links the same menus, categories and neighbours, almost always as
site-rooted paths (`/listing/42`).  `urljoin` is pure Python (~3 us a call) and the crawl
ran it for every link on every page, ~4% of the crawl process's CPU on the testbed.  A
rooted href's result depends only on the base URL's scheme and host (RFC 3986 5.2.2: the
base's path, query and fragment are not used; an href with a tab or line break is not taken as
rooted, see `_STRIPPED`), so it is computed once per (scheme, host,
href) and remembered; any other href goes to `urljoin` as before.  `tests/crawler/test_hrefs.py`
checks the result equals `urljoin`'s on real and generated hrefs.
"""
from __future__ import annotations

from functools import lru_cache
from urllib.parse import urljoin, urlsplit


def join_href(base: str, href: str) -> str:
    """`urljoin(base, href)`, remembered when `href` is rooted at the site (one leading `/`).

    >>> join_href("http://m.onion/c/drugs?page=2", "/listing/42")
    'http://m.onion/listing/42'
    >>> join_href("http://m.onion/c/drugs/", "../listing/42")
    'http://m.onion/c/listing/42'
    """
    if href[:1] == "/" and href[1:2] != "/" and not _STRIPPED.intersection(href) and (root := _scheme_and_host(base)):
        return _join_rooted(root, href)
    return urljoin(base, href)


# characters urlsplit deletes anywhere in a URL: "/\t/" is "//" to it, a reference without a
# path, which takes the base's path (Hypothesis found it); such hrefs go to urljoin
_STRIPPED = frozenset("\t\r\n")


@lru_cache(maxsize=256)  # one base per page; a page's links ask for it many times in a row
def _scheme_and_host(base: str) -> str:
    """`scheme://host/` of `base` ("" when it has no scheme or host: `urljoin` decides those)."""
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}/" if parts.scheme and parts.netloc else ""


@lru_cache(maxsize=65536)
def _join_rooted(root: str, href: str) -> str:
    return urljoin(root, href)
