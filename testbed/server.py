"""Run the whole range (five sites + SOCKS5 onion gateway) on 127.0.0.1 in a background thread.

    with run_testbed() as tb:
        tb.sites["rcshop"].base_url      # http://127.0.0.1:PORT/
        tb.sites["nightshade"].base_url  # http://<56 chars>.onion/ (reach it through tb.socks_url)
        tb.truth("vortex")               # ground truth for the current day

Ports: with port=0 every listener gets an ephemeral port; with port=P the gateway listens
on P and the sites on P+1..P+5 in SITE_ORDER.
"""
from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from core.errors import TrawlError
from testbed import lifecycle
from testbed.catalogue import SITE_KIND, SITE_ORDER, catalogue, truth_record, vendor_truth_record
from testbed.onion import onion_address
from testbed.sites import chemtrade, common, nightshade, pillhub, rcshop, vortex
from testbed.socks import GatewayRecord, SocksGateway

ONION_SITES = {"nightshade": 2, "vortex": 1}  # number of mirrors besides the primary address
DEFAULT_PASSWORD = "testbed-pass"
MODULES = {"nightshade": nightshade, "vortex": vortex, "rcshop": rcshop, "chemtrade": chemtrade, "pillhub": pillhub}


@dataclass
class SiteHandle:
    name: str
    kind: str
    network: str  # "tor" | "clearnet"
    base_url: str
    mirrors: list[str]
    port: int
    onion: str | None = None
    down_mirrors: list[str] = field(default_factory=list)


def site_onions(seed: int, site: str) -> list[str]:
    """Primary address first, then mirrors; the last mirror of nightshade is 'down'."""
    return [onion_address(seed, site, i) for i in range(ONION_SITES[site] + 1)]


def down_onions(seed: int) -> set[str]:
    return {site_onions(seed, "nightshade")[-1]}


def build_app(site: str, state: common.TestbedState, config: common.SiteConfig) -> web.Application:
    middlewares: list[Any] = [common.log_middleware, lifecycle.lifecycle_middleware]  # before onion-only: clones
    if config.network == "tor":
        middlewares.append(common.onion_only_middleware)
    if site == "vortex":
        middlewares += [common.rate_limit_middleware, common.fault_middleware]
    if site == "nightshade":
        middlewares.append(nightshade.make_gate_middleware())
    app = web.Application(middlewares=middlewares)
    app[common.STATE_KEY] = state
    app[common.SITE_KEY] = config
    app.add_routes(MODULES[site].routes())
    return app


class Testbed:
    """Handle on a running range; every attribute is safe to read from the test thread."""

    def __init__(self, state: common.TestbedState, sites: dict[str, SiteHandle], gateway: SocksGateway, socks_port: int) -> None:
        self._state = state
        self.sites = sites
        self.gateway = gateway
        self.socks_port = socks_port
        self.socks_url = f"socks5h://127.0.0.1:{socks_port}"
        self.seed = state.seed
        self.password = state.password

    @property
    def day(self) -> int:
        return self._state.day

    def set_day(self, day: int) -> None:
        if day < 0:
            raise TrawlError(f"testbed day must be >= 0, got {day}")
        catalogue(self._state.seed, day)  # build before switching, so no request sees a half-made day
        self._state.day = day

    def set_mirror_down(self, url: str, down: bool = True) -> None:
        """Make the gateway refuse (0x04) or serve one onion address, e.g. to test mirror rotation."""
        host = url.removeprefix("http://").split("/")[0].lower()
        site = self.gateway.routes.get(host, (None,))[0]
        if site is None:
            raise TrawlError(f"{url!r} is not an onion address of this testbed")
        if down:
            self.gateway.down.add(host)
        else:
            self.gateway.down.discard(host)
        handle = self.sites[site]
        handle.down_mirrors = [f"http://{o}/" for o in self._onions(site) if o in self.gateway.down]

    def set_market(self, site: str, mode: str) -> None:
        """Switch a market: on, off, error, seized, exit_scam (testbed/lifecycle.py)."""
        self._check_site(site)
        lifecycle.set_mode(self._state, site, mode)

    def add_clone(self, site: str) -> str:
        """A phishing clone onion of `site`: relays it, but shows another PGP key."""
        self._check_site(site)
        return lifecycle.add_clone(self._state, site, self.sites[site].port)

    def market_key(self, site: str) -> str:
        """The market's armoured public key (served at /market-pgp)."""
        return lifecycle.public_key(self._state, site)

    def signed_text(self, site: str, text: str) -> str:
        return lifecycle.signed_text(self._state, site, text)

    def _onions(self, site: str) -> list[str]:
        return [h for h, (name, _) in self.gateway.routes.items() if name == site]

    def env(self) -> dict[str, str]:
        out = {"TRAWL_TOR_SOCKS": self.socks_url, "TRAWL_TESTBED_PASSWORD": self.password}
        for name, handle in self.sites.items():
            out[f"TRAWL_TESTBED_{name.upper()}_URL"] = handle.base_url
        return out

    def truth(self, site: str, day: int | None = None) -> list[dict[str, Any]]:
        self._check_site(site)
        cat = catalogue(self._state.seed, self._state.day if day is None else day)
        return [truth_record(item) for item in cat.listings[site]]

    def vendor_truth(self, site: str, day: int | None = None) -> list[dict[str, Any]]:
        self._check_site(site)
        cat = catalogue(self._state.seed, self._state.day if day is None else day)
        return [vendor_truth_record(v) for v in cat.vendors[site]]

    @property
    def request_log(self) -> list[tuple[str, str, str, int]]:
        return list(self._state.request_log)

    @property
    def request_counters(self) -> dict[str, int]:
        return dict(self._state.counters)

    @property
    def gateway_log(self) -> list[GatewayRecord]:
        return list(self.gateway.log)

    @property
    def gateway_counters(self) -> dict[str, int]:
        return dict(self.gateway.counters)

    def _check_site(self, site: str) -> None:
        if site not in self.sites:
            raise TrawlError(f"unknown testbed site {site!r}; known: {', '.join(SITE_ORDER)}")


class _Runner:
    """Owns the event loop thread; start() blocks until every listener is bound."""

    def __init__(self, state: common.TestbedState, port: int) -> None:
        self.state = state
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="trawl-testbed", daemon=True)
        self.runners: list[web.AppRunner] = []
        self.gateway: SocksGateway | None = None

    def start(self) -> Testbed:
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self.loop)
        try:
            return future.result(timeout=30)
        except BaseException:
            self.stop()
            raise

    async def _start(self) -> Testbed:
        seed = self.state.seed
        sites: dict[str, SiteHandle] = {}
        routes: dict[str, tuple[str, int]] = {}
        down = down_onions(seed)
        for offset, name in enumerate(SITE_ORDER, start=1):
            onions = site_onions(seed, name) if name in ONION_SITES else []
            config = common.SiteConfig(name=name, kind=SITE_KIND[name], network="tor" if onions else "clearnet",
                                       onion_hosts=tuple(onions), down_mirrors=tuple(o for o in onions if o in down))
            runner = web.AppRunner(build_app(name, self.state, config), access_log=None, handle_signals=False)
            await runner.setup()
            self.runners.append(runner)
            bind_port = self.port + offset if self.port else 0
            tcp = web.TCPSite(runner, "127.0.0.1", bind_port, reuse_address=False)
            await _bind(tcp, bind_port)
            port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            for onion in onions:
                routes[onion] = (name, port)
            base = f"http://{onions[0]}/" if onions else f"http://127.0.0.1:{port}/"
            sites[name] = SiteHandle(name=name, kind=config.kind, network=config.network, base_url=base,
                                     mirrors=[f"http://{o}/" for o in onions[1:]], port=port,
                                     onion=onions[0] if onions else None,
                                     down_mirrors=[f"http://{o}/" for o in onions if o in down])
        self.gateway = SocksGateway(routes=routes, down=down)
        lifecycle.attach(self.state, self.gateway)
        try:
            socks_port = await self.gateway.start(port=self.port)
        except OSError as exc:
            raise TrawlError(f"cannot listen on 127.0.0.1:{self.port} for the SOCKS gateway: {exc.strerror}") from exc
        return Testbed(self.state, sites, self.gateway, socks_port)

    def stop(self) -> None:
        if self.thread.is_alive():
            future = asyncio.run_coroutine_threadsafe(self._stop(), self.loop)
            with contextlib.suppress(Exception):
                future.result(timeout=10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
        self.loop.close()

    async def _stop(self) -> None:
        if self.gateway is not None:
            await self.gateway.close()
        for runner in reversed(self.runners):
            await runner.cleanup()


async def _bind(tcp: web.TCPSite, port: int) -> None:
    try:
        await tcp.start()
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            raise TrawlError(f"port {port} on 127.0.0.1 is already in use (testbed needs ports P..P+5); "
                             "pick another --port or stop the other server") from exc
        raise TrawlError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from exc


@contextlib.contextmanager
def run_testbed(port: int = 0, day: int = 0, seed: int = 1, rate_limit: bool = True, faults: bool = True,
                *, rate_limit_rps: int = 10, fault_every: int = 5, password: str | None = None) -> Iterator[Testbed]:
    """Serve the range until the with-block ends.  See the module docstring for ports."""
    if day < 0:
        raise TrawlError(f"testbed day must be >= 0, got {day}")
    state = common.TestbedState(
        seed=seed, day=day, password=password or os.environ.get("TRAWL_TESTBED_PASSWORD") or DEFAULT_PASSWORD,
        rate_limit=rate_limit, rate_limit_rps=rate_limit_rps, faults=faults, fault_every=fault_every,
    )
    catalogue(seed, day)
    runner = _Runner(state, port)
    testbed = runner.start()
    try:
        yield testbed
    finally:
        runner.stop()
