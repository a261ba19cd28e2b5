"""Sessions: credentials, persistent cookies, gate detection, site pause and alerts.

Secrets discipline: credentials are read only when a login form is submitted, are never
logged, and the form fields carrying them are named in `request.meta["trawl_secret_fields"]`
so the evidence writer redacts them.  Cookie files are written with mode 0600.
"""
from __future__ import annotations

import http.cookiejar
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from parsel import Selector

from core.config import load_config
from core.errors import TrawlError
from core.home import ensure_home, trawl_home
from core.redact import redact_text, register_secret
from crawler.sitedef.pagetree import page_selector
from crawler.sitedef.siteconfig import GateConfig, LoginConfig, SiteConfig
from crawler.sitedef.yamlnodes import load_plain_yaml

logger = logging.getLogger(__name__)


# --- credentials -----------------------------------------------------------------------

@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never let a password reach a log line or traceback
        return f"Credentials(username={self.username!r}, password=***)"


def _secrets_files(site: str) -> list[Path]:
    files = [trawl_home() / "secrets" / f"{site}.yaml"]
    secrets_file = load_config().sessions_secrets_file
    if secrets_file:
        files.append(Path(secrets_file).expanduser())
    return files


def load_credentials(site: str, login: LoginConfig) -> Credentials | None:
    """Env vars named by the YAML first, then `$TRAWL_HOME/secrets/<site>.yaml`
    ({username, password}), then `TRAWL_SECRETS_FILE` ({<site>: {username, password}})."""
    creds = _find_credentials(site, login)
    if creds is not None:
        register_secret(creds.password)  # from here on it is redacted from URLs, headers and logs
    return creds


def _find_credentials(site: str, login: LoginConfig) -> Credentials | None:
    user = os.environ.get(login.username_env) or login.username
    password = os.environ.get(login.password_env)
    if user and password:
        return Credentials(user, password)
    for index, file in enumerate(_secrets_files(site)):
        if not file.is_file():
            continue
        # bounded like site files; a SiteConfigError names the file and line, never a value
        data = load_plain_yaml(file) or {}
        if not isinstance(data, dict):
            raise TrawlError(f"{file}:1: secrets file must be a mapping (username:, password:)")
        entry = data.get(site, {}) if index > 0 else data
        if isinstance(entry, dict) and (entry.get("username") or user) and entry.get("password"):
            return Credentials(str(entry.get("username") or user), str(entry["password"]))
    return None


# --- cookies ---------------------------------------------------------------------------

def sessions_dir() -> Path:
    """$TRAWL_HOME/sessions (created, private, only when something is written there)."""
    return trawl_home() / "sessions"


def session_file(site: str) -> Path:
    return sessions_dir() / f"{site}.json"


def _cookie_to_dict(c: http.cookiejar.Cookie) -> dict[str, Any]:
    return {"name": c.name, "value": c.value, "domain": c.domain, "path": c.path, "secure": c.secure,
            "expires": c.expires, "httponly": bool(c.get_nonstandard_attr("HttpOnly") or c.has_nonstandard_attr("HttpOnly"))}


def _cookie_from_dict(d: dict[str, Any]) -> http.cookiejar.Cookie:
    domain = str(d.get("domain") or "")
    expires = d.get("expires", d.get("expirationDate"))
    return http.cookiejar.Cookie(
        version=0, name=str(d["name"]), value=str(d.get("value", "")), port=None, port_specified=False,
        domain=domain, domain_specified=bool(domain), domain_initial_dot=domain.startswith("."),
        path=str(d.get("path") or "/"), path_specified=True, secure=bool(d.get("secure", False)),
        expires=int(expires) if expires else None, discard=not expires, comment=None, comment_url=None,
        rest={"HttpOnly": ""} if d.get("httponly") or d.get("httpOnly") else {},  # the flag is its presence
    )


def _write_private(path: Path, text: str) -> None:
    ensure_home()
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def save_cookies(site: str, cookies: list[http.cookiejar.Cookie]) -> Path:
    path = session_file(site)
    data = {"site": site, "saved_at": datetime.now(timezone.utc).isoformat(), "cookies": [_cookie_to_dict(c) for c in cookies]}
    _write_private(path, json.dumps(data, indent=1))
    return path


def load_cookies(site: str) -> list[http.cookiejar.Cookie]:
    path = session_file(site)
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        now = time.time()
        return [c for c in (_cookie_from_dict(d) for d in data.get("cookies", [])) if not c.is_expired(int(now))]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        logger.warning("ignoring unreadable session file %s: %s", path, exc)
        return []


def parse_netscape_cookies(text: str, file: Path) -> list[http.cookiejar.Cookie]:
    """cookies.txt: domain, include-subdomains, path, secure, expires, name, value (tab-separated).

    Parsed leniently (browser extensions disagree on the flags); "#HttpOnly_" prefixes
    mark HttpOnly cookies, and expires 0 means a session cookie."""
    cookies = []
    for number, line in enumerate(text.splitlines(), start=1):
        httponly = line.startswith("#HttpOnly_")
        if httponly:
            line = line[len("#HttpOnly_"):]
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.rstrip("\r\n").split("\t")
        if len(parts) != 7:
            raise TrawlError(f"{file}:{number}: expected 7 tab-separated fields (domain, flag, path, secure, expires, name, value)")
        domain, _flag, path, secure, expires, name, value = parts
        if not expires.strip().lstrip("-").isdigit():
            raise TrawlError(f"{file}:{number}: expires must be a number, got {expires!r}")
        cookies.append(_cookie_from_dict({"name": name, "value": value, "domain": domain, "path": path,
                                          "secure": secure.upper() == "TRUE", "expires": int(expires) or None,
                                          "httponly": httponly}))
    return cookies


def import_cookies(site: str, file: Path) -> int:
    """Import cookies a human captured (Netscape cookies.txt or a JSON list); returns the count."""
    if not file.is_file():
        raise TrawlError(f"{file}: no such file")
    text = file.read_text(encoding="utf-8", errors="replace")
    cookies: list[http.cookiejar.Cookie]
    if text.lstrip().startswith(("[", "{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TrawlError(f"{file}:{exc.lineno}: not valid JSON: {exc.msg}") from None
        items = data.get("cookies", []) if isinstance(data, dict) else data
        cookies = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or "name" not in item:
                raise TrawlError(f"{file}: cookies[{i}]: expected an object with name/value/domain")
            cookies.append(_cookie_from_dict(item))
    else:
        cookies = parse_netscape_cookies(text, file)
    if not cookies:
        raise TrawlError(f"{file}: no cookies found")
    merged = {(c.domain, c.path, c.name): c for c in load_cookies(site)}
    merged.update({(c.domain, c.path, c.name): c for c in cookies})
    save_cookies(site, list(merged.values()))
    return len(cookies)


class SessionCookiesMiddleware:
    """Scrapy's cookie handling, but the jar is loaded from and saved to the site's session file."""

    def __init__(self, site: str) -> None:
        # Scrapy's jar here, not at the top: gate detection (offline reading, the processing
        # workers, reprocess, ingest) imports this module and needs no Scrapy (~0.35 s of CPU
        # at each worker's start)
        from scrapy.http.cookies import CookieJar

        self.site = site
        self.jar = CookieJar()
        for cookie in load_cookies(site):
            self.jar.set_cookie(cookie)
        self._snapshot = self._serialise()

    @classmethod
    def from_crawler(cls, crawler: Any) -> SessionCookiesMiddleware:
        from scrapy.exceptions import NotConfigured

        if not crawler.settings.getbool("COOKIES_ENABLED") or not crawler.settings.get("TRAWL_SITE"):
            raise NotConfigured("cookies disabled or no TRAWL_SITE")
        return cls(crawler.settings.get("TRAWL_SITE"))

    def _serialise(self) -> str:
        return json.dumps(sorted((c.domain, c.path, c.name, c.value) for c in self.jar))

    def process_request(self, request: Any, spider: Any = None) -> None:
        if request.meta.get("dont_merge_cookies"):
            return
        request.headers.pop("Cookie", None)
        if next(iter(self.jar), None) is not None:  # an empty jar adds nothing (and has nothing to expire)
            self.jar.add_cookie_header(request)

    def process_response(self, request: Any, response: Any, spider: Any = None) -> Any:
        # a response without Set-Cookie changes nothing in the jar (http.cookiejar's make_cookies
        # reads only these two headers), so most responses skip the jar and its comparison
        if not request.meta.get("dont_merge_cookies") and (
                b"Set-Cookie" in response.headers or b"Set-Cookie2" in response.headers):
            self.jar.extract_cookies(response, request)
            current = self._serialise()
            if current != self._snapshot:
                self._snapshot = current
                save_cookies(self.site, list(self.jar))
        return response


# --- gates, pause, alerts --------------------------------------------------------------

def detect_gate(site: SiteConfig, *, text: str, url: str, status: int,
                sel: Selector | None = None) -> GateConfig | None:
    sel = _tree_if_needed(text, sel, [m for gate in site.gates for m in gate.markers])
    for gate in site.gates:
        if any(m.matches(text=text, sel=sel, url=url, status=status) for m in gate.markers):
            return gate
    return None


def parse_meta_refresh(content: str) -> tuple[float, str | None] | None:
    """Delay and target of a `<meta http-equiv="refresh" content=...>`, read the way
    browsers do (HTML "shared declarative refresh steps"): `url=` is optional, the
    separator is `;`, `,` or whitespace, the URL may be quoted.  No URL means "reload
    this page"; None means the content is not a refresh at all (browsers ignore it).

    >>> parse_meta_refresh("0;url=/x")
    (0.0, '/x')
    >>> parse_meta_refresh("2; /login")
    (2.0, '/login')
    >>> parse_meta_refresh("5 ; URL='/x?a=1;b=2'")
    (5.0, '/x?a=1;b=2')
    >>> parse_meta_refresh(' 3,url = "http://example.onion/q" ')
    (3.0, 'http://example.onion/q')
    >>> parse_meta_refresh("1.5 next.html")
    (1.5, 'next.html')
    >>> parse_meta_refresh("10")
    (10.0, None)
    >>> parse_meta_refresh("4; url=")
    (4.0, None)
    >>> parse_meta_refresh("url=/x") is None
    True
    """
    match = _REFRESH.match(content)
    number = match.group("delay") if match else ""
    if match is None or not number:
        return None
    delay = float(number) if number.strip(".") else 0.0
    rest = content[match.end():].lstrip(" \t\n\r\f")
    if not rest:
        return delay, None
    if rest[0] not in ";,":
        if not match.group("sep"):  # "2x": junk glued to the delay is not a refresh
            return None
    else:
        rest = rest[1:].lstrip(" \t\n\r\f")
    named = re.match(r"url\s*=\s*", rest, re.I)
    if named:
        rest = rest[named.end():]
    if rest[:1] in ("'", '"'):
        quote, rest = rest[0], rest[1:]
        rest = rest.split(quote, 1)[0]
    target = rest.strip(" \t\n\r\f")
    return delay, target or None


_REFRESH = re.compile(r"[ \t\n\r\f]*(?P<delay>\d*(?:\.\d*)?)[\d.]*(?P<sep>[ \t\n\r\f]*)")


def login_needed(login: LoginConfig, *, text: str, url: str, status: int, sel: Selector | None = None) -> bool:
    sel = _tree_if_needed(text, sel, login.needed_markers)
    return any(m.matches(text=text, sel=sel, url=url, status=status) for m in login.needed_markers)


def _tree_if_needed(text: str, sel: Selector | None, markers: Any) -> Selector | None:
    """A parsed tree only when a css/xpath marker needs one: parsing costs more than matching."""
    if sel is not None or not text or not any(m.kind in ("css", "xpath") for m in markers):
        return sel
    return page_selector(text)


def pause_file(site: str) -> Path:
    return sessions_dir() / f"{site}.paused"


def paused_reason(site: str) -> str | None:
    path = pause_file(site)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("reason") or "paused"
    except json.JSONDecodeError:
        return path.read_text(encoding="utf-8").strip() or "paused"


def pause_site(site: str, reason: str, *, url: str = "", run_id: str = "") -> None:
    now = datetime.now(timezone.utc).isoformat()
    reason, url = redact_text(reason), redact_text(url)  # a failed GET login's URL holds the password
    record = {"site": site, "reason": reason, "url": url, "run_id": run_id, "paused_at": now}
    _write_private(pause_file(site), json.dumps(record, indent=1))
    raise_alert("site_paused", site=site, message=f"{site} paused: {reason}", url=url, run_id=run_id)


def unpause_site(site: str) -> bool:
    path = pause_file(site)
    if path.exists():
        path.unlink()
        return True
    return False


def raise_alert(kind: str, *, site: str, message: str, **details: Any) -> None:
    """Append to $TRAWL_HOME/alerts.jsonl through the one alert sink (core.alerts)."""
    from core.alerts import append_alert  # deferred: keeps `trawl sites ...` start-up light

    details = {k: redact_text(v) if isinstance(v, str) else v for k, v in details.items()}
    append_alert({"time": datetime.now(timezone.utc).isoformat(), "kind": kind, "site": site,
                  "message": redact_text(message), **details})
