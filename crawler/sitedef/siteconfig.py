"""Site definitions: one YAML file per site, validated on load.

The YAML is the whole description of a site for the generic spider: where it lives
(mirrors, network), how to get in (login, gates), how fast to go (throttle), how to walk it
(navigation) and what to read (listing/vendor field selectors, or a page object class).
Every problem is reported as "FILE:LINE: field.path: problem"; unknown keys are errors so
a typo never silently disables a selector.  The format is documented in docs/sites.md.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crawler.sitedef.marketnodes import market_spec
from crawler.sitedef.selectors import FieldSelector
from crawler.sitedef.sitetypes import (  # re-exported: importers read the site types from here
    FOLLOW_LISTINGS,
    HOST_RE,
    KINDS,
    LIST_FIELDS,
    LISTING_FIELDS,
    MAX_EXTRA,
    NAME_RE,
    NETWORKS,
    RENDERS,
    SHIPPED_SITES,
    VENDOR_FIELDS,
    GateConfig,
    GridSpec,
    LoginConfig,
    NavigationConfig,
    PageSpec,
    SiteConfig,
    ThrottleConfig,
)
from crawler.sitedef.yamlnodes import Checker as _Checker
from crawler.sitedef.yamlnodes import Document, Path_, SiteConfigError, load_document

__all__ = ["SiteConfig", "SiteConfigError", "find_site_file", "load_site", "load_site_file", "site_search_path"]

# --- the schema -------------------------------------------------------------------------
# Each section: key -> required?  The Checker converts values and collects problems.

TOP_KEYS = {
    "name": True, "kind": True, "network": True, "render": False, "mirrors": True, "start_urls": True,
    "login": False, "gates": False, "throttle": False, "navigation": False, "listing": True,
    "vendor": False, "allow": False, "deny": False, "description": False, "browser": False,
    "redirect_domains": False, "grid": False, "follow_listings": False, "market": False,
}
LOGIN_KEYS = {
    "url": True, "username": False, "form": False, "username_field": False, "password_field": False, "username_env": False,
    "password_env": False, "extra_fields": False, "needed_markers": False, "success_markers": False,
    "max_attempts": False, "method": False, "allow_credentials_in_url": False,
}
GATE_KEYS = {
    "name": True, "type": True, "markers": True, "pass_form": False, "pass_link": False,
    "pass_meta_refresh": False, "wait_seconds": False, "max_attempts": False,
}
THROTTLE_KEYS = {name: False for name in ThrottleConfig.__dataclass_fields__}
NAV_KEYS = {name: False for name in NavigationConfig.__dataclass_fields__}
PAGE_KEYS = {"url_pattern": False, "fields": False, "page_object": False, "required": False, "id_from_url": False,
             "extra": False}
GRID_KEYS = {"url_pattern": False, "items": True, "link": False, "id_from_link": False, "fields": True,
             "page_object": False, "required": False, "extra": False}
BROWSER_KEYS = {"wait_for": False}


def _page_spec(c: _Checker, raw: Any, path: Path_, allowed: tuple[str, ...]) -> PageSpec:
    raw = c.mapping(raw, path, PAGE_KEYS)
    fields: dict[str, FieldSelector] = {}
    field_map = raw.get("fields") or {}
    if not isinstance(field_map, dict):
        c.doc.problem(path + ("fields",), "expected a mapping of field name -> selector")
        field_map = {}
    for name, value in field_map.items():
        if name not in allowed:
            c.doc.problem(path + ("fields", name), f"unknown field (known: {', '.join(allowed)})")
            continue
        selector = c.selector(value, path + ("fields", name), many=name in LIST_FIELDS)
        if selector:
            fields[name] = selector
    page_object = c.string(raw.get("page_object"), path + ("page_object",)) or None
    if page_object and not re.fullmatch(r"[A-Za-z_][\w.]*\.[A-Za-z_]\w*|[A-Za-z_]\w*:[A-Za-z_]\w*", page_object):
        c.doc.problem(path + ("page_object",), "expected mysite:MyPage (mysite.py beside the YAML) or a dotted "
                      f"class path like crawler.sitedef.pages.mysite.MyPage, got {page_object!r}")
    required = c.strings(raw.get("required"), path + ("required",))
    for i, name in enumerate(required):
        if name not in allowed:
            c.doc.problem(path + ("required", i), f"unknown field {name!r}")
    if not fields and not page_object and raw is not None:
        c.doc.problem(path, "give 'fields' (selectors) or a 'page_object'")
    return PageSpec(
        url_pattern=c.regex(raw.get("url_pattern"), path + ("url_pattern",)), fields=fields,
        page_object=page_object, required=required, id_from_url=c.regex(raw.get("id_from_url"), path + ("id_from_url",)),
        source=c.doc.file, extra=_extra(c, raw.get("extra"), path + ("extra",)),
    )


def _extra(c: _Checker, raw: Any, path: Path_) -> dict[str, FieldSelector]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        c.doc.problem(path, "expected a mapping of name -> selector")
        return {}
    if len(raw) > MAX_EXTRA:
        c.doc.problem(path, f"{len(raw)} extra values; at most {MAX_EXTRA} (extra is for a few site-specific values)")
    out = {}
    for name, value in raw.items():
        if not (isinstance(name, str) and re.fullmatch(r"[a-z][a-z0-9_]{0,40}", name)):
            c.doc.problem(path + (str(name),), "extra names are lowercase letters, digits and _")
            continue
        selector = c.selector(value, path + (name,))
        if selector:
            out[name] = selector
    return out


def _grid(c: _Checker, raw: Any, listing: PageSpec) -> GridSpec | None:
    if raw is None:
        return None
    path: Path_ = ("grid",)
    raw = c.mapping(raw, path, GRID_KEYS)
    if not raw:
        return None
    items = c.selector(raw.get("items"), path + ("items",), many=True)
    if items is not None and (items.source != "page" or items.regex or items.default is not None):
        c.doc.problem(path + ("items",), "items selects the card elements: a CSS or XPath selector, no re/default")
    card = _page_spec(c, {k: raw[k] for k in ("fields", "page_object", "required", "extra") if k in raw},
                      path, LISTING_FIELDS)
    id_from_link = c.regex(raw.get("id_from_link"), path + ("id_from_link",))
    if "native_id" not in card.fields and id_from_link is None and listing.id_from_url is None:
        c.doc.problem(path, "a card needs an id: fields.native_id, id_from_link, or listing.id_from_url "
                      "(applied to the card's link)")
    if "title" not in card.fields and not card.page_object:
        c.doc.problem(path + ("fields",), "a card needs at least a 'title' selector")
    if items is None:
        return None
    return GridSpec(items=items, card=card, url_pattern=c.regex(raw.get("url_pattern"), path + ("url_pattern",)),
                    link=c.selector(raw.get("link"), path + ("link",)), id_from_link=id_from_link)


def _gate(c: _Checker, raw: Any, path: Path_) -> GateConfig | None:
    raw = c.mapping(raw, path, GATE_KEYS)
    if not raw:
        return None
    kind = c.string(raw.get("type"), path + ("type",), ("captcha", "wait"), default="captcha")
    gate = GateConfig(
        name=c.string(raw.get("name"), path + ("name",), default="gate"), type=kind,
        markers=c.markers(raw.get("markers"), path + ("markers",)),
        pass_form=c.string(raw.get("pass_form"), path + ("pass_form",)) or None,
        pass_link=c.selector(raw.get("pass_link"), path + ("pass_link",)),
        pass_meta_refresh=c.boolean(raw.get("pass_meta_refresh"), path + ("pass_meta_refresh",), False),
        wait_seconds=c.number(raw.get("wait_seconds"), path + ("wait_seconds",), 0.0),
        max_attempts=c.number(raw.get("max_attempts"), path + ("max_attempts",), 3, integer=True, minimum=1),
    )
    if not gate.markers:
        c.doc.problem(path + ("markers",), "a gate needs at least one marker")
    how = [gate.pass_form, gate.pass_link, gate.pass_meta_refresh]
    if kind == "wait" and not any(how):
        c.doc.problem(path, "a 'wait' gate needs pass_form, pass_link or pass_meta_refresh (else use type: captcha)")
    if kind == "captcha" and any(how):
        c.doc.problem(path, "a 'captcha' gate pauses the site; pass_* keys only apply to type: wait")
    return gate


def _login(c: _Checker, raw: Any, path: Path_, site: str) -> LoginConfig | None:
    if raw is None:
        return None
    raw = c.mapping(raw, path, LOGIN_KEYS)
    method = c.string(raw.get("method"), path + ("method",), ("GET", "POST"))
    allow_in_url = c.boolean(raw.get("allow_credentials_in_url"), path + ("allow_credentials_in_url",), False)
    if method == "GET" and not allow_in_url:
        c.doc.problem(path + ("method",), "a GET login puts the password in the URL (server logs, Referer, "
                      "history); add allow_credentials_in_url: true to accept that (trawl still redacts it)")
    upper = re.sub(r"\W", "_", site.upper())
    extra = raw.get("extra_fields") or {}
    if not isinstance(extra, dict) or not all(isinstance(v, (str, int)) for v in extra.values()):
        c.doc.problem(path + ("extra_fields",), "expected a mapping of form field -> value")
        extra = {}
    return LoginConfig(
        url=c.string(raw.get("url"), path + ("url",), default="/login"),
        username=c.string(raw.get("username"), path + ("username",)),
        form=c.string(raw.get("form"), path + ("form",), default="form"),
        username_field=c.string(raw.get("username_field"), path + ("username_field",), default="username"),
        password_field=c.string(raw.get("password_field"), path + ("password_field",), default="password"),
        username_env=c.env_name(raw.get("username_env"), path + ("username_env",), f"TRAWL_SITE_{upper}_USERNAME"),
        password_env=c.env_name(raw.get("password_env"), path + ("password_env",), f"TRAWL_SITE_{upper}_PASSWORD"),
        extra_fields=tuple((str(k), str(v)) for k, v in extra.items()),
        needed_markers=c.markers(raw.get("needed_markers"), path + ("needed_markers",)),
        success_markers=c.markers(raw.get("success_markers"), path + ("success_markers",)),
        max_attempts=c.number(raw.get("max_attempts"), path + ("max_attempts",), 2, integer=True, minimum=1),
        method=method, allow_credentials_in_url=allow_in_url, where=f"{c.doc.file}:{c.doc.line(path)}",
    )


def _domains(c: _Checker, raw: Any, network: str) -> tuple[str, ...]:
    out = []
    for i, name in enumerate(c.strings(raw, ("redirect_domains",))):
        domain = name.lower().strip().rstrip(".")
        if not HOST_RE.fullmatch(domain):
            c.doc.problem(("redirect_domains", i), f"expected a host name like example.com, got {name!r}")
        elif network == "clearnet" and domain.endswith(".onion"):
            c.doc.problem(("redirect_domains", i), "an .onion host needs network: tor")
        else:
            out.append(domain)
    return tuple(out)


def build_site(doc: Document) -> SiteConfig:
    c = _Checker(doc)
    raw = c.mapping(doc.data, (), TOP_KEYS)
    name = c.string(raw.get("name"), ("name",), default="?")
    if name != "?" and not NAME_RE.match(name):
        doc.problem(("name",), f"site names are lowercase letters, digits, - and _ (got {name!r})")
    mirrors = tuple(c.url(m, ("mirrors", i)) for i, m in enumerate(c.strings(raw.get("mirrors"), ("mirrors",))))
    if "mirrors" in raw and not mirrors:
        doc.problem(("mirrors",), "give at least one mirror base URL")
    network = c.string(raw.get("network"), ("network",), NETWORKS, default="clearnet")
    for i, mirror in enumerate(mirrors):
        if network == "clearnet" and ".onion" in mirror:
            doc.problem(("mirrors", i), "an .onion mirror needs network: tor")
    start_urls = c.strings(raw.get("start_urls"), ("start_urls",))
    throttle_raw = c.mapping(raw.get("throttle") or {}, ("throttle",), THROTTLE_KEYS)
    defaults = ThrottleConfig()
    throttle = ThrottleConfig(**{
        key: (c.boolean(throttle_raw.get(key), ("throttle", key), getattr(defaults, key)) if isinstance(getattr(defaults, key), bool)
              else c.number(throttle_raw.get(key), ("throttle", key), getattr(defaults, key),
                            integer=isinstance(getattr(defaults, key), int), minimum=0))
        for key in THROTTLE_KEYS
    })
    nav_raw = c.mapping(raw.get("navigation") or {}, ("navigation",), NAV_KEYS)
    navigation = NavigationConfig(
        **{key: c.selector(nav_raw.get(key), ("navigation", key), many=True) for key in NAV_KEYS if key != "max_depth"},
        max_depth=c.number(nav_raw.get("max_depth"), ("navigation", "max_depth"), 30, integer=True, minimum=1),
    )
    gates_raw = raw.get("gates") or []
    if not isinstance(gates_raw, list):
        doc.problem(("gates",), "expected a list of gates")
        gates_raw = []
    gates = tuple(gate for i, raw_gate in enumerate(gates_raw) if (gate := _gate(c, raw_gate, ("gates", i))))
    browser = c.mapping(raw.get("browser") or {}, ("browser",), BROWSER_KEYS)
    listing = _page_spec(c, raw.get("listing") or {}, ("listing",), LISTING_FIELDS)
    site = SiteConfig(
        name=name, kind=c.string(raw.get("kind"), ("kind",), KINDS, default=KINDS[0]), network=network,
        render=c.string(raw.get("render"), ("render",), RENDERS, default="http"), mirrors=mirrors,
        start_urls=start_urls, listing=listing, grid=_grid(c, raw.get("grid"), listing),
        follow_listings=c.string(raw.get("follow_listings"), ("follow_listings",), FOLLOW_LISTINGS, default="always"),
        vendor=_page_spec(c, raw["vendor"], ("vendor",), VENDOR_FIELDS) if raw.get("vendor") else None,
        login=_login(c, raw.get("login"), ("login",), name), gates=gates, throttle=throttle, navigation=navigation,
        allow=c.regexes(raw.get("allow"), ("allow",)), deny=c.regexes(raw.get("deny"), ("deny",)),
        redirect_domains=_domains(c, raw.get("redirect_domains"), network),
        browser_wait_for=c.string(browser.get("wait_for"), ("browser", "wait_for")) or None,
        source=doc.file, description=c.string(raw.get("description"), ("description",)),
        market=market_spec(c, raw.get("market")),
    )
    if site.listing.url_pattern is None and not site.navigation.listing_links:
        doc.problem(("listing",), "give listing.url_pattern or navigation.listing_links so listing pages can be found")
    if "title" not in site.listing.fields and not site.listing.page_object:
        doc.problem(("listing", "fields"), "a listing needs at least a 'title' selector")
    _check_page_objects(site, doc)
    doc.raise_if_problems()
    return site


def _check_page_objects(site: SiteConfig, doc: Document) -> None:
    from crawler.sitedef.pages import resolve_page_object

    grid = site.grid.card if site.grid else None
    for section, spec in (("listing", site.listing), ("vendor", site.vendor), ("grid", grid)):
        if spec and spec.page_object:
            try:
                resolve_page_object(spec.page_object, spec.source)
            except (ImportError, AttributeError, TypeError, LookupError) as exc:
                doc.problem((section, "page_object"), f"cannot load {spec.page_object}: {exc}")


# --- lookup ----------------------------------------------------------------------------

def site_search_path() -> list[Path]:
    from core.config import load_config
    from core.home import trawl_home

    dirs = [Path(p).expanduser() for p in load_config().sites_dir.split(os.pathsep) if p]
    dirs.append(trawl_home() / "sites")
    dirs.append(SHIPPED_SITES)
    return dirs


def find_site_file(name: str) -> Path:
    from core.errors import TrawlError

    if not NAME_RE.match(name):
        raise TrawlError(f"site {name!r}: not a valid site name (lowercase letters, digits, - and _)")
    for directory in site_search_path():
        for suffix in (".yaml", ".yml"):
            candidate = directory / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    known = ", ".join(sorted(list_site_names())) or "none"
    raise TrawlError(f"site {name!r}: no {name}.yaml in {', '.join(str(d) for d in site_search_path())} (known: {known})")


def list_site_names() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for directory in site_search_path():
        if directory.is_dir():
            for file in sorted(directory.glob("*.y*ml")):
                found.setdefault(file.stem, file)
    return found


def load_site_file(path: str | Path, env: Mapping[str, str] | None = None) -> SiteConfig:
    return build_site(load_document(Path(path), env))


def load_site(name: str, env: Mapping[str, str] | None = None) -> SiteConfig:
    path = find_site_file(name)
    site = load_site_file(path, env)
    if site.name != name:
        raise SiteConfigError([f"{path}:1: name: file {path.name} defines site {site.name!r}, expected {name!r}"])
    return site
