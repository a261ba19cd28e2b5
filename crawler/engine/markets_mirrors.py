"""New mirrors of a market: PGP-signed mirror lists, and candidates checked for clones.

Signed lists: markets publish their mirrors as an OpenPGP clear-signed message.  The
signature is verified (PGPy) against the market's own key (site YAML `market.pgp_key`);
only then are the onions it names added (source `signed-list`).  A list that is unsigned,
tampered with or signed by another key is rejected: nothing is added and one
`market_clone` alert (event `mirror_rejected`) is logged.

Candidates: an onion that claims to be the market (a link list, a forum post) is fetched
through the site's network (Tor SOCKS for onions); the key it shows on `market.key_page`
must be the market's key, and the addresses on `market.address_page` must all be among
`market.addresses`.  A mismatch flags it `clone` (never used as a mirror, one
`market_clone` alert); a match makes it a verified mirror the next crawl uses.
"""
from __future__ import annotations

import re
import socket
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.config import load_config
from core.errors import TrawlError
from crawler.engine.markets import connect, ensure_market, mirror_state, normalise_url, put_mirror, raise_market_alert
from crawler.net.socks import parse_socks_url
from crawler.net.socks_blocking import open_tunnel
from crawler.sitedef.marketnodes import MarketPage
from crawler.sitedef.pagetree import page_selector
from crawler.sitedef.siteconfig import SiteConfig
from enrich.identifiers import extract_identifiers, onion_v3_is_valid
from enrich.pgp import parse_pgp_key

ONION_URL = re.compile(r"(?:https?://)?([a-z2-7]{56}\.onion)(?::\d+)?", re.I)
MAX_LIST_BYTES = 256 * 1024
MAX_PAGE_BYTES = 2 * 2**20
FETCH_TIMEOUT = 60.0
ADDRESS_KINDS = ("btc", "ltc", "xmr")
_TAGS = re.compile(r"<(?!br\b)[^>]+>", re.I)  # keep <br>: enrich.pgp reads it as a line break


@dataclass
class CheckResult:
    url: str
    state: str  # verified | clone
    reason: str


# --- signed mirror lists -----------------------------------------------------------------

def market_key(site: SiteConfig) -> Any:
    """The market's public key as a PGPy key; TrawlError naming the YAML when there is none."""
    from pgpy import PGPKey

    if not site.market.pgp_key:
        raise TrawlError(f"{site.source}: market.pgp_key: site {site.name!r} has no market key configured "
                         "(the key its signed mirror lists and genuine mirrors must carry)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            key, _ = PGPKey.from_blob(site.market.pgp_key)
    except Exception as exc:  # noqa: BLE001 - a hostile or broken key file is a user error
        raise TrawlError(f"{site.market.pgp_key_source}: market.pgp_key: not a readable OpenPGP key: {exc}") from None
    return key


def verify_signed_list(site: SiteConfig, text: str) -> tuple[list[str], str]:
    """(onion mirror URLs, "") for a valid list, or ([], why it was rejected)."""
    from pgpy import PGPMessage

    key = market_key(site)
    if "-----BEGIN PGP SIGNED MESSAGE-----" not in text:
        return [], "not a clear-signed message (no -----BEGIN PGP SIGNED MESSAGE-----)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            message = PGPMessage.from_blob(text[text.index("-----BEGIN PGP SIGNED MESSAGE-----"):])
            valid = bool(key.verify(message))
    except Exception as exc:  # noqa: BLE001 - any failure to verify is a rejection
        return [], f"signature not verifiable with the market key: {type(exc).__name__}: {str(exc)[:200]}"
    if not valid:
        return [], "bad signature: the list was altered or signed by another key"
    body = str(message.message)
    onions = []
    for match in ONION_URL.finditer(body):
        host = match.group(1).lower()
        if onion_v3_is_valid(host) and f"http://{host}" not in onions:
            onions.append(f"http://{host}")
    if not onions:
        return [], "validly signed, but names no v3 onion address"
    return onions, ""


def import_signed_list(site: SiteConfig, file: Path) -> list[str]:
    """Add the mirrors of a signed list; on rejection alert and raise TrawlError."""
    if not file.is_file():
        raise TrawlError(f"{file}: no such file")
    if file.stat().st_size > MAX_LIST_BYTES:
        raise TrawlError(f"{file}: larger than {MAX_LIST_BYTES // 1024} KiB: not a mirror list")
    onions, why = verify_signed_list(site, file.read_text(encoding="utf-8", errors="replace"))
    with connect(write=True) as db:
        ensure_market(db, site.name)
        if why:
            raise_market_alert("market_clone", site=site.name, status="rejected", reason=f"mirror list rejected: {why}",
                               event="mirror_rejected", file=str(file))
        else:
            for url in onions:
                put_mirror(db, site.name, url, source="signed-list", state="verified", reason=f"signed list {file.name}")
    if why:
        raise TrawlError(f"{file}: mirror list rejected: {why} (nothing added; alert logged)")
    return onions


# --- clone checks --------------------------------------------------------------------------

def check_candidate(site: SiteConfig, url: str, *, fetch: Any = None) -> CheckResult:
    """Fetch a candidate's key (and address) page and compare with the market's; the
    result is stored (verified or clone) and a clone raises one market_clone alert."""
    url = normalise_url(url)
    spec = site.market
    if spec.key_page is None and spec.address_page is None:
        raise TrawlError(f"{site.source}: market.key_page: site {site.name!r} says nowhere what a genuine mirror "
                         "shows (give market.pgp_key with market.key_page, or market.addresses)")
    if mirror_state(site.name, url) == "clone":
        return CheckResult(url, "clone", "flagged as a clone before")
    fetch = fetch or (lambda page_url: fetch_page(site, page_url))
    reason = _mismatch(site, url, fetch)
    state = "clone" if reason else "verified"
    with connect(write=True) as db:
        ensure_market(db, site.name)
        put_mirror(db, site.name, url, source="candidate", state=state, reason=reason or "key and addresses match")
        if reason:
            raise_market_alert("market_clone", site=site.name, status="clone", reason=reason, event="clone_mirror",
                               mirror=url)
    return CheckResult(url, state, reason or "key and addresses match")


def _mismatch(site: SiteConfig, url: str, fetch: Any) -> str:
    spec = site.market
    if spec.key_page is not None:
        shown = _read(fetch, url, spec.key_page)
        expected = parse_pgp_key(spec.pgp_key)
        found = parse_pgp_key(shown)
        if not found.ok:
            return f"shows no readable PGP key on {spec.key_page.url} ({found.error})"
        if expected.ok and found.fingerprint != expected.fingerprint:
            return f"serves PGP key {found.fingerprint}, the market's is {expected.fingerprint}"
    if spec.address_page is not None and spec.addresses:
        ids = extract_identifiers(_read(fetch, url, spec.address_page))
        shown_addresses = {a for kind in ADDRESS_KINDS for a in ids.get(kind, [])}
        altered = sorted(shown_addresses - set(spec.addresses))
        if altered:
            return f"shows crypto addresses the market does not use: {', '.join(altered[:5])}"
    return ""


def _read(fetch: Any, base: str, page: MarketPage) -> str:
    """What the page's selector selects, line breaks kept (an armoured key needs them)."""
    html = fetch(base + page.url)
    sel = page_selector(html)
    for expression in page.select.alternatives:
        values = sel.xpath(expression.xpath).getall()
        if values:
            return _TAGS.sub("", "\n".join(values))  # (a `re:` of the selector is not applied here)
    return ""


def fetch_page(site: SiteConfig, url: str, timeout: float = FETCH_TIMEOUT) -> str:
    """GET one page (HTTP/1.0, no redirects), through Tor's SOCKS port for an onion or a
    tor site, directly otherwise.  Bounded in size and time; TrawlError when unreachable."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise TrawlError(f"{url}: only http:// mirrors can be checked (onion services need no TLS)")
    host, port = parts.hostname or "", parts.port or 80
    try:
        if site.network == "tor" or host.endswith(".onion"):
            proxy = parse_socks_url(load_config().tor_socks, isolation=site.name)  # one circuit per site
            sock = open_tunnel(proxy.host, proxy.port, host, port, timeout=timeout,
                               username=proxy.username, password=proxy.password)
        else:
            sock = socket.create_connection((host, port), timeout=timeout)
        with sock:
            request = f"GET {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.0\r\nHost: {host}\r\n" \
                      "User-Agent: Mozilla/5.0\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
            sock.sendall(request.encode())
            data = b""
            while len(data) <= MAX_PAGE_BYTES:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except (OSError, ValueError) as exc:
        raise TrawlError(f"{url}: unreachable ({exc}); nothing recorded, try again later") from None
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1:2]
    if status != [b"200"]:
        raise TrawlError(f"{url}: answered {head.splitlines()[0].decode(errors='replace') if head else 'nothing'}; "
                         "nothing recorded")
    return body.decode("utf-8", errors="replace")


__all__ = ["CheckResult", "check_candidate", "fetch_page", "import_signed_list", "market_key",
           "verify_signed_list"]
