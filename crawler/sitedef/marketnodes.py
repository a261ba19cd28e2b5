"""The `market:` section of a site YAML: what the lifecycle registry needs to know about a market.

    market:
      pgp_key: keys/vortex.asc          # the market's own public key: a file beside the YAML, or the block itself
      key_page: {url: /pgp, select: "pre.market-key::text"}   # where a mirror shows that key
      addresses: [bc1q..., 4A...]       # the market's known deposit addresses (optional)
      address_page: {url: /deposit, select: "code.address"}   # where a mirror shows them (default: key_page)
      markers:
        seized: ["text:beschlagnahmt", "css:div.le-banner"]   # added to the built-in seizure patterns
        exit_scam: ["text:wallet maintenance"]                # added to the built-in withdrawal patterns
      down_after: 3                     # consecutive failed runs before the market counts as down

Validated like every other section (FILE:LINE: market.field: problem).  Only the pure
parsing lives here; the registry, banner detection and clone checks are in
crawler/engine/markets*.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.sitedef.selectors import FieldSelector, Marker
from crawler.sitedef.yamlnodes import Checker, Path_

MARKET_KEYS = {"pgp_key": False, "key_page": False, "addresses": False, "address_page": False, "markers": False,
               "down_after": False}
PAGE_KEYS = {"url": True, "select": True}
MARKER_KEYS = {"seized": False, "exit_scam": False}
PUBLIC_KEY_ARMOUR = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
DEFAULT_DOWN_AFTER = 3
MAX_KEY_BYTES = 256 * 1024


@dataclass(frozen=True)
class MarketPage:
    """A page of the market (path on any mirror) and the selector that reads a value from it."""

    url: str
    select: FieldSelector


@dataclass(frozen=True)
class MarketSpec:
    pgp_key: str = ""  # the armoured public key block ("" when not configured)
    pgp_key_source: str = ""  # FILE:LINE (inline) or the key file, for messages
    key_page: MarketPage | None = None
    addresses: tuple[str, ...] = ()
    address_page: MarketPage | None = None
    seized_markers: tuple[Marker, ...] = ()
    exit_scam_markers: tuple[Marker, ...] = ()
    down_after: int = DEFAULT_DOWN_AFTER


def market_spec(c: Checker, raw: Any) -> MarketSpec:
    """The parsed `market:` section (defaults when absent); problems go to c.doc."""
    if raw is None:
        return MarketSpec()
    path: Path_ = ("market",)
    raw = c.mapping(raw, path, MARKET_KEYS)
    key, key_source = _pgp_key(c, raw.get("pgp_key"), path + ("pgp_key",))
    markers = c.mapping(raw.get("markers") or {}, path + ("markers",), MARKER_KEYS)
    addresses = tuple(a.strip() for a in c.strings(raw.get("addresses"), path + ("addresses",)))
    key_page = _page(c, raw.get("key_page"), path + ("key_page",))
    address_page = _page(c, raw.get("address_page"), path + ("address_page",))
    if key_page is not None and not key:
        c.doc.problem(path + ("key_page",), "key_page needs pgp_key (the key a genuine mirror must show)")
    if address_page is not None and not addresses:
        c.doc.problem(path + ("address_page",), "address_page needs addresses (the ones a genuine mirror shows)")
    return MarketSpec(
        pgp_key=key, pgp_key_source=key_source, key_page=key_page, addresses=addresses,
        address_page=address_page or (key_page if addresses else None),
        seized_markers=c.markers(markers.get("seized"), path + ("markers", "seized")),
        exit_scam_markers=c.markers(markers.get("exit_scam"), path + ("markers", "exit_scam")),
        down_after=c.number(raw.get("down_after"), path + ("down_after",), DEFAULT_DOWN_AFTER, integer=True,
                            minimum=1),
    )


def _pgp_key(c: Checker, value: Any, path: Path_) -> tuple[str, str]:
    text = c.string(value, path)
    if not text:
        return "", ""
    where = f"{c.doc.file}:{c.doc.line(path)}"
    if PUBLIC_KEY_ARMOUR not in text:
        file = Path(text).expanduser()
        if not file.is_absolute():
            file = Path(c.doc.file).parent / file
        if not file.is_file():
            c.doc.problem(path, f"no such key file {str(file)!r} (give a path beside the YAML or the armoured block)")
            return "", where
        if file.stat().st_size > MAX_KEY_BYTES:
            c.doc.problem(path, f"{file}: larger than {MAX_KEY_BYTES // 1024} KiB: not a public key file")
            return "", where
        text, where = file.read_text(encoding="utf-8", errors="replace"), str(file)
    if PUBLIC_KEY_ARMOUR not in text or "-----END PGP PUBLIC KEY BLOCK-----" not in text:
        c.doc.problem(path, "expected an armoured OpenPGP public key (-----BEGIN PGP PUBLIC KEY BLOCK----- ... END)")
        return "", where
    return text, where


def _page(c: Checker, raw: Any, path: Path_) -> MarketPage | None:
    if raw is None:
        return None
    raw = c.mapping(raw, path, PAGE_KEYS)
    url = c.string(raw.get("url"), path + ("url",))
    if url and not url.startswith("/"):
        c.doc.problem(path + ("url",), f"expected a path on the market starting with /, got {url!r}")
    select = c.selector(raw.get("select"), path + ("select",), many=True)
    if not url or select is None:
        return None
    return MarketPage(url=url, select=select)
