"""What a site is, as the generic spider sees it: the typed result of a validated site YAML.

crawler/sitedef/siteconfig.py builds these from the YAML (checking every key, FILE:LINE
on each problem) and re-exports them; code that only reads a site imports them from either.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from crawler.sitedef.marketnodes import MarketSpec
from crawler.sitedef.saferegex import UserRegex
from crawler.sitedef.selectors import FieldSelector, Marker

KINDS = ("darknet-market", "vendor-shop", "chemical-b2b", "pharmacy", "forum")
NETWORKS = ("tor", "clearnet")
RENDERS = ("http", "browser")
LISTING_FIELDS = (
    "native_id", "title", "description", "vendor", "vendor_url", "category", "price", "price_tiers",
    "quantity", "ships_from", "ships_to", "shipping_options", "escrow", "finalize_early", "feedback_count",
    "stock", "page_rates", "substance_hint", "purity", "posted", "currency", "sold_count", "views",
)
FOLLOW_LISTINGS = ("always", "new", "changed", "never")
MAX_EXTRA = 20  # `extra:` is for a few site-specific values, not a second schema
VENDOR_FIELDS = ("name", "joined", "sales", "rating", "feedback_count", "pgp_key", "aliases", "identifiers_text")
LIST_FIELDS = ("price_tiers", "shipping_options", "aliases")  # always extracted as lists
SHIPPED_SITES = Path(__file__).resolve().parents[1] / "sites"
NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")
HOST_RE = re.compile(r"[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*")


@dataclass(frozen=True)
class GateConfig:
    name: str
    type: str  # "captcha" pauses the site; "wait" is passed automatically
    markers: tuple[Marker, ...]
    pass_form: str | None = None  # CSS of the form to submit (wait gates)
    pass_link: FieldSelector | None = None  # link to follow (wait gates)
    pass_meta_refresh: bool = False
    wait_seconds: float = 0.0
    max_attempts: int = 3


@dataclass(frozen=True)
class LoginConfig:
    url: str
    username: str = ""  # a literal account name (not secret); env/secrets files override it
    form: str = "form"
    username_field: str = "username"
    password_field: str = "password"  # noqa: S105 - the form field's name, not a password
    username_env: str = ""
    password_env: str = ""
    extra_fields: tuple[tuple[str, str], ...] = ()
    needed_markers: tuple[Marker, ...] = ()  # page says "log in first"
    success_markers: tuple[Marker, ...] = ()  # page proves we are logged in
    max_attempts: int = 2
    method: str = ""  # "" = as the form says; GET or POST overrides it
    allow_credentials_in_url: bool = False  # a GET form puts the password in the URL
    where: str = ""  # FILE:LINE of the login section, for messages at crawl time


@dataclass(frozen=True)
class ThrottleConfig:
    concurrency: int = 4
    delay: float = 0.25
    autothrottle: bool = True
    autothrottle_target: float = 2.0
    retries: int = 3
    backoff: float = 1.0  # seconds, doubled per retry
    retry_after_max: float = 60.0
    page_budget: int = 2000
    timeout: float = 60.0
    extract_budget: float = 2.0  # seconds of extraction per page (0: no limit)


@dataclass(frozen=True)
class NavigationConfig:
    categories: FieldSelector | None = None
    pagination: FieldSelector | None = None
    load_more: FieldSelector | None = None
    listing_links: FieldSelector | None = None
    vendor_links: FieldSelector | None = None
    max_depth: int = 30


@dataclass(frozen=True)
class PageSpec:
    """How to recognise and read one kind of page (listing or vendor)."""

    url_pattern: UserRegex | None
    fields: dict[str, FieldSelector]
    page_object: str | None = None
    required: tuple[str, ...] = ()
    id_from_url: UserRegex | None = None
    source: str = ""  # the YAML file: a `module:Class` page object is looked for beside it first
    extra: dict[str, FieldSelector] = field(default_factory=dict)  # site-specific values, stored as Listing.extra


@dataclass(frozen=True)
class GridSpec:
    """A page with many listing cards (category, search, shop front): `items` selects each
    card, `card` reads it (selectors relative to the card), `link` finds the card's own
    listing page, whose path gives the id (`id_from_link`, else listing.id_from_url)."""

    items: FieldSelector
    card: PageSpec
    url_pattern: UserRegex | None = None  # None: any page that is not a listing or vendor page
    link: FieldSelector | None = None
    id_from_link: UserRegex | None = None


@dataclass(frozen=True)
class SiteConfig:
    name: str
    kind: str
    network: str
    render: str
    mirrors: tuple[str, ...]
    start_urls: tuple[str, ...]
    listing: PageSpec
    vendor: PageSpec | None = None
    login: LoginConfig | None = None
    gates: tuple[GateConfig, ...] = ()
    throttle: ThrottleConfig = field(default_factory=ThrottleConfig)
    navigation: NavigationConfig = field(default_factory=NavigationConfig)
    allow: tuple[UserRegex, ...] = ()
    deny: tuple[UserRegex, ...] = ()
    redirect_domains: tuple[str, ...] = ()  # hosts (and subdomains) redirects may lead to besides mirrors
    browser_wait_for: str | None = None
    grid: GridSpec | None = None
    follow_listings: str = "always"  # fetch a card's listing page: always | new | changed | never
    source: str = ""  # the file it was loaded from
    description: str = ""
    market: MarketSpec = field(default_factory=MarketSpec)  # lifecycle: key, banners (marketnodes.py)

    def url_allowed(self, url: str) -> bool:
        if any(p.search(url) for p in self.deny):
            return False
        return not self.allow or any(p.search(url) for p in self.allow)

    def redirect_allowed(self, url: str) -> bool:
        """A redirect is followed only to one of the site's mirrors (same host and port;
        http/https default ports are one) or a host under `redirect_domains`."""
        host, port = _endpoint(url)
        if not host:
            return False
        for mirror in self.mirrors:
            mirror_host, mirror_port = _endpoint(mirror)
            if host == mirror_host and (port == mirror_port or {port, mirror_port} <= {80, 443}):
                return True
        return any(host == domain or host.endswith("." + domain) for domain in self.redirect_domains)


def _endpoint(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return "", 0
    return (parts.hostname or "").lower().rstrip("."), port or (443 if parts.scheme == "https" else 80)
