"""Market lifecycle switches of the testbed: a market goes off and comes back, shows a
seizure or exit-scam banner, publishes its PGP key and a signed mirror list, and gets a
phishing clone onion that proxies it but shows another key.

Modes per site (`Testbed.set_market(site, mode)`, or for a served testbed
`curl http://127.0.0.1:PORT/_testbed/market/SITE/MODE` on any site's loopback port):

    on         normal
    off        unreachable: the gateway refuses its onions (clear-web: the connection drops)
    error      every page answers 503
    seized     every page is a law-enforcement seizure banner
    exit_scam  pages carry "Withdrawals are temporarily disabled" on top

Every onion market serves its own key at MARKET_KEY_PATH and a clear-signed list of its
onions at MIRROR_LIST_PATH (keys are generated on first use, Ed25519, per running testbed).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from core.errors import TrawlError
from testbed.onion import onion_address
from testbed.sites import common

MODES = ("on", "off", "error", "seized", "exit_scam")
MARKET_KEY_PATH = "/market-pgp"
MIRROR_LIST_PATH = "/mirrors.txt"
CONTROL_PREFIX = "/_testbed/market/"
SEIZURE_PAGE = """<!DOCTYPE html><html><head><title>Seized</title></head><body>
<div class="seizure"><h1>THIS HIDDEN SITE HAS BEEN SEIZED</h1>
<p>by the Federal Bureau of Investigation and the Bundeskriminalamt as part of a coordinated
law enforcement action (Europol).</p></div></body></html>"""
EXIT_SCAM_BANNER = '<div class="notice">Withdrawals are temporarily disabled due to wallet maintenance.</div>'


@dataclass
class Switches:
    """Lifecycle state of one running testbed (kept in TestbedState.lifecycle)."""

    modes: dict[str, str] = field(default_factory=dict)
    clones: dict[str, str] = field(default_factory=dict)  # clone onion -> site it imitates
    keys: dict[str, Any] = field(default_factory=dict)  # site or "clone:<site>" -> PGPy private key
    onions: dict[str, list[str]] = field(default_factory=dict)  # site -> its genuine onions
    initially_down: set[str] = field(default_factory=set)  # mirrors the testbed serves as down anyway
    gateway: Any = None


def switches(state: common.TestbedState) -> Switches:
    found = state.lifecycle.get("switches")
    if found is None:
        found = state.lifecycle["switches"] = Switches()
    return found


def attach(state: common.TestbedState, gateway: Any) -> None:
    """Called by the server once the gateway runs: `off` refuses the site's onions there."""
    sw = switches(state)
    sw.gateway = gateway
    sw.initially_down = set(gateway.down)
    for host, (site, _port) in gateway.routes.items():
        sw.onions.setdefault(site, []).append(host)


def set_mode(state: common.TestbedState, site: str, mode: str) -> None:
    if mode not in MODES:
        raise TrawlError(f"market mode must be one of {', '.join(MODES)}, got {mode!r}")
    sw = switches(state)
    sw.modes[site] = mode
    if sw.gateway is not None:
        hosts = set(sw.onions.get(site, [])) | {h for h, s in sw.clones.items() if s == site}
        if mode == "off":
            sw.gateway.down.update(hosts)
        else:
            sw.gateway.down.difference_update(hosts - sw.initially_down)


def market_key(state: common.TestbedState, site: str, *, clone: bool = False) -> Any:
    """The (private) PGPy key of a market, or of its clone: generated once per testbed."""
    sw = switches(state)
    name = f"clone:{site}" if clone else site
    if name not in sw.keys:
        from pgpy import PGPUID, PGPKey
        from pgpy.constants import EllipticCurveOID, HashAlgorithm, KeyFlags, PubKeyAlgorithm

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            key = PGPKey.new(PubKeyAlgorithm.EdDSA, EllipticCurveOID.Ed25519)
            key.add_uid(PGPUID.new(f"{site} market{' (clone)' if clone else ''}", email=f"admin@{site}.example"),
                        usage={KeyFlags.Sign, KeyFlags.Certify}, hashes=[HashAlgorithm.SHA256])
        sw.keys[name] = key
    return sw.keys[name]


def public_key(state: common.TestbedState, site: str, *, clone: bool = False) -> str:
    return str(market_key(state, site, clone=clone).pubkey)


def signed_text(state: common.TestbedState, site: str, text: str) -> str:
    """`text` clear-signed with the market's key (what markets publish as mirror lists)."""
    from pgpy import PGPMessage

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        message = PGPMessage.new(text, cleartext=True)
        message |= market_key(state, site).sign(message)
    return str(message)


def add_clone(state: common.TestbedState, site: str, port: int) -> str:
    """A new onion routed to `site`'s server that proxies it but shows the clone's key."""
    sw = switches(state)
    if sw.gateway is None:
        raise TrawlError("the testbed gateway is not running")
    number = sum(1 for s in sw.clones.values() if s == site)
    host = onion_address(state.seed, f"{site}-clone", number)
    sw.clones[host] = site
    sw.gateway.routes[host] = (site, port)
    return f"http://{host}/"


def _key_page(armored: str, site: str) -> web.Response:
    return common.page(f"{site}: PGP", f'<h1>Our PGP key</h1>\n<pre class="market-pgp">{common.esc(armored)}</pre>')


@web.middleware
async def lifecycle_middleware(request: web.Request, handler: common.Handler) -> web.StreamResponse:
    state, site = common.state_of(request), common.site_of(request)
    sw = switches(state)
    host = (request.headers.get("Host") or "").split(":")[0].lower()
    if request.path.startswith(CONTROL_PREFIX) and not host.endswith(".onion"):
        return _control(state, request.path[len(CONTROL_PREFIX):])
    imitated = sw.clones.get(host)
    if imitated is not None:
        if request.path == MARKET_KEY_PATH:
            return _key_page(public_key(state, imitated, clone=True), imitated)
        # a phishing clone relays the genuine market under its own name
        genuine = site.onion_hosts[0] if site.onion_hosts else host
        headers = CIMultiDict(request.headers)
        headers["Host"] = genuine
        return await handler(request.clone(headers=headers))
    mode = sw.modes.get(site.name, "on")
    if mode == "off" and not host.endswith(".onion") and request.transport is not None:
        request.transport.close()  # a clear-web site that is off: no answer at all
        raise web.HTTPServiceUnavailable()
    if mode == "error":
        return web.Response(status=503, text="503 Service Unavailable\n")
    if mode == "seized":
        return web.Response(text=SEIZURE_PAGE, content_type="text/html")
    if request.path == MARKET_KEY_PATH:
        return _key_page(public_key(state, site.name), site.name)
    if request.path == MIRROR_LIST_PATH and site.onion_hosts:
        listing = "\n".join(f"http://{h}" for h in site.onion_hosts)
        return web.Response(text=signed_text(state, site.name, f"Official {site.name} mirrors:\n{listing}\n"))
    response = await handler(request)
    if mode == "exit_scam" and isinstance(response, web.Response) and response.content_type == "text/html" \
            and response.text:
        response.text = response.text.replace("<body>", "<body>\n" + EXIT_SCAM_BANNER, 1)
    return response


def _control(state: common.TestbedState, rest: str) -> web.Response:
    site, _, mode = rest.strip("/").partition("/")
    try:
        set_mode(state, site, mode)
    except TrawlError as exc:
        return web.Response(status=400, text=f"{exc}\n")
    return web.Response(text=f"{site}: {mode}\n")
