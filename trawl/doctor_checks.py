"""The checks of `trawl doctor` for the network side: site YAMLs, Tor (SOCKS, remote DNS,
ControlPort) and Chromium.  Storage, disk and clock checks are in doctor_checks_store.

Each check returns CheckResults and bounds every socket by the context's timeout.
"""
from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from core.config import Config
from core.errors import TrawlError
from crawler.net.socks import parse_socks_url
from crawler.net.socks_blocking import Socks5ReplyError, greet, request_connect
from trawl.doctor import CheckResult, DoctorContext, SiteNeeds, fix_setting, optional
from trawl.doctor_checks_store import (
    check_clock,
    check_disk,
    check_evidence_store,
    check_index,
    check_redis,
    check_schedule,
)

if TYPE_CHECKING:
    from crawler.sitedef.siteconfig import SiteConfig

__all__ = ["check_chromium", "check_clock", "check_disk", "check_evidence_store", "check_index", "check_redis",
           "check_schedule", "check_sites", "check_tor"]

START_TOR = "sudo systemctl start tor"
# CONNECT reply codes of a proxy that will not take a hostname (it would need local DNS)
_REFUSES_NAMES = (2, 7, 8)


# --- site YAMLs --------------------------------------------------------------------------

def check_sites(config: Config, names: tuple[str, ...] | None) -> tuple[list[CheckResult], SiteNeeds]:
    """Load every site on the search path (or the `names` given), as `trawl sites check` does."""
    from crawler.sitedef.siteconfig import SiteConfigError, find_site_file, list_site_names, load_site_file

    results: list[CheckResult] = []
    files: dict[str, Path] = {}
    if names:
        for name in names:
            try:
                files[name] = find_site_file(name)
            except TrawlError as exc:
                results.append(CheckResult(f"site {name}", "fail", str(exc), "trawl sites list"))
    else:
        files = list_site_names()
        if not files:
            results.append(CheckResult("sites", "warn", "no site YAML on the search path: nothing to crawl",
                                       fix_setting(config, "sites.dir", "/path/to/sites")))
    loaded: list[SiteConfig] = []
    for name, path in sorted(files.items()):
        try:
            site = load_site_file(path)
        except SiteConfigError as exc:
            first = exc.problems[0] if exc.problems else str(exc)
            more = f" (+{len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
            location = first.split(": ", 1)[0]
            results.append(CheckResult(f"site {name}", "fail", first + more,
                                       f"edit {location}, then: trawl sites check {path}"))
            continue
        except TrawlError as exc:
            results.append(CheckResult(f"site {name}", "fail", str(exc), f"trawl sites check {path}"))
            continue
        loaded.append(site)
        results.append(CheckResult(f"site {name}", "ok", f"{path}: {site.network}, render {site.render}"))
    return results, _needs(loaded)


def _needs(sites: list[SiteConfig]) -> SiteNeeds:
    tor = [s for s in sites if s.network == "tor"]
    browser = [s for s in sites if s.render == "browser"]
    onion_browser = [s for s in browser if s.network == "tor"]
    return SiteNeeds(tor_sites=tuple(s.name for s in tor), browser_sites=tuple(s.name for s in browser),
                     onion_browser_sites=tuple(s.name for s in onion_browser),
                     onion_target=_first_onion(tor), onion_browser_target=_first_onion(onion_browser))


def _first_onion(sites: list[SiteConfig]) -> tuple[str, str, int] | None:
    """(site, onion host, port) of the first onion mirror: what the probes connect to by name."""
    for site in sites:
        for mirror in site.mirrors:
            parts = urlsplit(mirror)
            if parts.hostname and parts.hostname.endswith(".onion"):
                return site.name, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    return None


# --- Tor ---------------------------------------------------------------------------------

def check_tor(context: DoctorContext) -> list[CheckResult]:
    needs = context.needs
    why_not = "no configured site is network: tor"
    pool = _pool_checks(context)
    if pool is not None:  # a Tor pool replaces tor.socks/tor.control: each client checked instead
        return pool if needs.tor_sites else [optional(r, why_not) for r in pool]
    results = _socks_checks(context)
    if context.config.tor_control:
        results.append(_control_check(context))
    return results if needs.tor_sites else [optional(r, why_not) for r in results]


def _pool_checks(context: DoctorContext) -> list[CheckResult] | None:
    """One result per Tor pool client (crawler.net.torpool), None when no pool is configured."""
    from core.home import trawl_home
    from crawler.net.torpool import instance_status, pool_instances

    try:
        instances = pool_instances(context.config.tor_pool, trawl_home())
    except TrawlError as exc:
        return [CheckResult("tor.pool", "fail", str(exc), "trawl config show   # then fix tor.pool")]
    if not instances:
        return None
    results = []
    for inst in instances:
        state = instance_status(inst, context.timeout)
        name = f"tor.pool.{inst.name}"
        fix = "trawl tor start" if inst.managed else START_TOR
        if not state.healthy:
            results.append(CheckResult(name, "fail", f"{inst.socks_url}: {state.problem or 'network disabled'}", fix))
        elif state.circuit_established is False:
            results.append(CheckResult(name, "warn", f"{inst.socks_url}: tor {state.version} still bootstrapping "
                                       f"({state.bootstrap})", "trawl tor status   # wait, or check its tor.log"))
        else:
            results.append(CheckResult(name, "ok", f"{inst.socks_url} answers ({state.socks_ms} ms)"
                                       + (f", tor {state.version}" if state.version else "")))
    return results


def _socks_checks(context: DoctorContext) -> list[CheckResult]:
    config = context.config
    try:
        proxy = parse_socks_url(config.tor_socks)
    except TrawlError as exc:
        return [CheckResult("tor.socks", "fail", str(exc), fix_setting(config, "tor.socks", "socks5h://127.0.0.1:9050"))]
    where = proxy.public_url
    try:
        sock = socket.create_connection((proxy.host, proxy.port), timeout=context.timeout)
    except OSError as exc:
        return [CheckResult("tor.socks", "fail", f"{where}: nothing answers ({exc.strerror or exc})", START_TOR)]
    with sock:
        try:
            method = greet(sock, proxy.username, proxy.password)
        except (OSError, ValueError) as exc:
            return [CheckResult("tor.socks", "fail", f"{where}: no SOCKS5 greeting ({exc})",
                                fix_setting(config, "tor.socks", "socks5h://127.0.0.1:9050"))]
        results = [CheckResult("tor.socks", "ok", f"{where} answers a SOCKS5 greeting ({method})")]
        target = context.needs.onion_target
        if target is not None:
            results.append(_remote_dns(sock, where, target))
    return results


def _remote_dns(sock: socket.socket, where: str, target: tuple[str, str, int]) -> CheckResult:
    """CONNECT by name (ATYP=domain): the proxy resolves the onion name; nothing local does."""
    site, host, port = target
    name = "tor.remote_dns"
    code, reason = 0, ""
    try:
        request_connect(sock, host, port)
    except Socks5ReplyError as exc:
        code, reason = exc.code, exc.reason
    except TimeoutError:
        return CheckResult(name, "warn", f"{where} took the CONNECT to {host}:{port} ({site}) by name but did not "
                                         "answer in time (Tor still bootstrapping, or the onion service is slow)",
                           "sudo journalctl -u tor@default -n 20")
    except (OSError, ValueError) as exc:
        return CheckResult(name, "fail", f"{where}: CONNECT by name to {host} failed ({exc})", START_TOR)
    if code == 0:
        return CheckResult(name, "ok", f"{where} resolved and connected {host}:{port} ({site}) itself "
                                       "(CONNECT by name, socks5h; no local lookup)")
    if code in _REFUSES_NAMES:
        return CheckResult(name, "fail", f"{where} refuses CONNECT by hostname ({reason}): onion names would "
                                         "need a local lookup; this proxy is not Tor's SocksPort",
                           "sudo systemctl start tor  # then point tor.socks at socks5h://127.0.0.1:9050")
    return CheckResult(name, "warn", f"{where} accepted the name {host} ({site}) but could not reach it ({reason}); "
                                     "the proxy does remote DNS, the onion service may be down",
                       f"trawl crawl {site}  # rotates to the next mirror")


def _control_check(context: DoctorContext) -> CheckResult:
    import stem
    import stem.connection

    from crawler.net.tor import _controller

    config = context.config
    control = config.tor_control
    try:
        with _controller(control) as controller:
            if config.tor_control_cookie:
                stem.connection.authenticate_cookie(controller, config.tor_control_cookie)
            elif config.tor_control_password:
                stem.connection.authenticate_password(controller, config.tor_control_password)
            else:
                controller.authenticate()
            version = controller.get_info("version")
            bootstrap = controller.get_info("status/bootstrap-phase", "")
    except stem.connection.AuthenticationFailure as exc:
        return CheckResult("tor.control", "fail", f"{control}: authentication failed ({type(exc).__name__})",
                           fix_setting(config, "tor.control_cookie", "/run/tor/control.authcookie"))
    except (stem.SocketError, stem.ControllerError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return CheckResult("tor.control", "fail", f"{control}: {first}",
                           "echo 'ControlPort 9051' | sudo tee -a /etc/tor/torrc && sudo systemctl restart tor")
    progress = re.search(r"PROGRESS=(\d+)", bootstrap)
    summary = re.search(r'SUMMARY="([^"]*)"', bootstrap)
    percent = int(progress.group(1)) if progress else -1
    detail = f"{control}: authenticated, Tor {version.split()[0]}, bootstrapped {percent}%"
    if percent < 100:
        why = f" ({summary.group(1)}): no circuits yet" if summary else ": no circuits yet"
        return CheckResult("tor.control", "warn", detail + why, "sudo journalctl -u tor@default -n 20")
    return CheckResult("tor.control", "ok", detail)


# --- Chromium ----------------------------------------------------------------------------

def check_chromium(context: DoctorContext) -> list[CheckResult]:
    if context.needs.browser_sites:
        return [_chromium(context)]
    # not needed: only say whether it is there (a launch costs seconds for nothing)
    from crawler.net.browser import chromium_executable

    executable = chromium_executable()
    if executable and Path(executable).exists():
        return [CheckResult("chromium", "ok", f"{executable} present; not launched (no configured site is "
                                              "render: browser)")]
    return [CheckResult("chromium", "warn", f"{executable or 'no Chromium'} not found (not needed: no configured "
                                            "site is render: browser)", "sudo apt-get install chromium")]


def _chromium(context: DoctorContext) -> CheckResult:
    from crawler.net.browser import chromium_executable, launch_options

    config = context.config
    executable = chromium_executable()
    if executable and not Path(executable).exists():
        return CheckResult("chromium", "fail", f"{executable}: no such file", fix_setting(config, "browser.chromium", ""))
    onion_sites = context.needs.onion_browser_sites
    try:
        options = launch_options(config.tor_socks if onion_sites else None)
    except TrawlError as exc:
        return CheckResult("chromium", "fail", str(exc), fix_setting(config, "tor.socks", "socks5h://127.0.0.1:9050"))
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    millis = context.timeout * 1000
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(**options, timeout=millis)
            try:
                page = browser.new_page()
                page.set_content("<p id=probe>trawl</p>")
                text = page.text_content("#probe", timeout=millis)
                version = browser.version
                proxy_problem = _load_through_proxy(page, context.needs.onion_browser_target, millis)
            finally:
                browser.close()
    except PlaywrightError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return CheckResult("chromium", "fail", f"{executable or 'Playwright Chromium'} does not launch: {first}",
                           "sudo apt-get install --reinstall chromium")
    if text != "trawl":
        return CheckResult("chromium", "fail", f"Chromium {version} launched but rendered {text!r}",
                           "sudo apt-get install --reinstall chromium")
    if proxy_problem:
        return CheckResult("chromium", "warn", f"Chromium {version} launches with the SOCKS5 proxy "
                                               f"{config.tor_socks}, but {proxy_problem}", START_TOR)
    proxy = f", and loads {onion_sites[0]}'s onion through the SOCKS5 proxy {config.tor_socks}" if onion_sites else ""
    return CheckResult("chromium", "ok", f"Chromium {version} ({executable or 'Playwright build'}) launches "
                                         f"headless and renders{proxy}")


def _load_through_proxy(page: Any, target: tuple[str, str, int] | None, millis: float) -> str:
    """Open an onion site's first mirror through the proxy Chromium was launched with; '' when it loads."""
    if target is None:
        return ""
    from playwright.sync_api import Error as PlaywrightError

    site, host, port = target
    url = f"http://{host}:{port}/"
    try:
        response = page.goto(url, timeout=millis, wait_until="commit")
    except PlaywrightError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"{url} ({site}) did not load through it: {first}"
    return "" if response is not None else f"{url} ({site}) gave no response"
