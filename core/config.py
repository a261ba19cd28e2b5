"""The one configuration object: every user-facing setting of trawl, resolved in layers.

    defaults (core.defaults.KEYS)
      -> $TRAWL_HOME/trawl.toml   (optional; `[index]\\nurl = "..."`)
      -> environment (TRAWL_*)    (an empty variable counts as unset)
      -> CLI flags                (the `overrides` mapping)

Each later layer wins.  `load_config()` reads the layers afresh on every call (no global
cache: a test or a subprocess that changes the environment sees the change; a missing
trawl.toml costs one stat) and never creates anything on disk.  Every value remembers
where it came from (`Config.source`), and `Config.rows()` shows secrets as `***`;
`trawl config show` prints them.

    from core.config import load_config
    config = load_config()
    config.index_url, config.source("index.url")      # "", "default"
"""
from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from core.defaults import KEYS, KEYS_BY_NAME, Key
from core.errors import TrawlError
from core.home import home_from

CONFIG_FILE = "trawl.toml"
MAX_CONFIG_BYTES = 64 * 1024  # a settings file, not data: anything bigger is a mistake
SECRET_MASK = "***"  # noqa: S105 - the mask, not a secret
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_URL_KEYS = ("index.url", "redis.url", "schedule.store_url")  # may carry user:password@ in the URL itself


@dataclass(frozen=True)
class Config:
    """Effective values (one typed field per key of core.defaults.KEYS) and their sources."""

    home: str
    index_url: str
    index_user: str
    index_password: str = field(repr=False)
    index_password_file: str
    index_api_key: str = field(repr=False)
    index_ca_cert: str
    index_prefix: str
    index_replicas: int | None  # None: auto_expand_replicas 0-1
    index_shards: int
    index_wait_for_active_shards: str
    index_bulk_threads: int
    crawl_profile: str
    crawl_workers: int
    crawl_workers_feed: str
    crawl_workers_help_at_close: bool
    crawl_event_loop: str
    crawl_remote_control: bool
    log_level: str
    sites_dir: str
    sessions_secrets_file: str
    redis_url: str = field(repr=False)
    redis_frontier: str
    tor_socks: str
    tor_control: str
    tor_control_password: str = field(repr=False)
    tor_control_cookie: str = field(repr=False)
    tor_pool: str
    browser_chromium: str
    browser_netns: str
    evidence_heads_log: str
    evidence_webhook_url: str
    evidence_webhook_secret: str = field(repr=False)
    evidence_tsa_url: str
    evidence_tsa_ca: str
    evidence_anchor_timeout: float
    alerts_watch_file: str
    alerts_channels_file: str
    alerts_webhook_secret: str = field(repr=False)
    alerts_smtp_password: str = field(repr=False)
    alerts_misp_key: str = field(repr=False)
    dashboard_token: str = field(repr=False)
    dashboard_read_token: str = field(repr=False)
    dashboard_hosts: str
    schedule_store_url: str = field(repr=False)
    sources: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    file: Path | None = field(default=None, compare=False)  # the trawl.toml read, if any

    @property
    def home_path(self) -> Path:
        return home_from(self.home)

    def value(self, name: str) -> Any:
        return getattr(self, _key(name).field)

    def by_env(self, variable: str) -> Any:
        """The value of the key whose environment variable is `variable` (TRAWL_INDEX_URL)."""
        for key in KEYS:
            if key.env == variable:
                return getattr(self, key.field)
        raise TrawlError(f"{variable}: not a configuration variable (see: trawl config show)")

    def source(self, name: str) -> str:
        return self.sources[_key(name).name]

    def display(self, name: str) -> Any:
        """The value as `trawl config show` prints it: secrets masked, URL passwords too."""
        key, value = _key(name), self.value(name)
        if key.name == "home":
            return str(self.home_path)
        if key.secret:
            return SECRET_MASK if value else ""
        if key.name in _URL_KEYS and value:
            return mask_url_password(value)
        return value

    def rows(self) -> list[dict[str, Any]]:
        """One row per key: name, env variable, display value, source."""
        return [{"key": key.name, "env": key.env, "value": self.display(key.name), "source": self.sources[key.name]}
                for key in KEYS]


def mask_url_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo = f"{parts.username or ''}:{SECRET_MASK}"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{userinfo}@{host}", parts.path, parts.query, parts.fragment))


def load_config(overrides: Mapping[str, Any] | None = None, *, env: Mapping[str, str] | None = None) -> Config:
    """Resolve every key: defaults -> trawl.toml -> environment -> `overrides` (CLI flags).

    `overrides` maps key names (`index.url`) to values; None values are skipped (an unset
    click option).  `env` defaults to os.environ."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {key.name: key.default for key in KEYS}
    sources: dict[str, str] = {key.name: "default" for key in KEYS}

    def apply_env_and_flags(key: Key) -> None:
        text = env.get(key.env)
        if text:
            values[key.name], sources[key.name] = _from_text(key, text, f"{key.env}={text!r}"), f"env {key.env}"
        flag = (overrides or {}).get(key.name)
        if flag is not None:
            where = f"flag {key.name}"
            values[key.name] = _from_text(key, flag, where) if isinstance(flag, str) else _checked(key, flag, where)
            sources[key.name] = where

    for name in overrides or {}:
        _key(name)  # an unknown flag key is a programming or user error either way
    apply_env_and_flags(KEYS_BY_NAME["home"])  # the file lives in the home: resolve it first
    path = home_from(values["home"]) / CONFIG_FILE
    read = _read_file(path)
    if read is not None:
        for name, (value, line) in read.items():
            values[name], sources[name] = value, f"file {path}:{line}" if line else f"file {path}"
    for key in KEYS:
        if key.name != "home":
            apply_env_and_flags(key)
    return Config(**{key.field: values[key.name] for key in KEYS}, sources=MappingProxyType(sources),
                  file=path if read is not None else None)


def config_fields() -> list[str]:
    """Typed fields of Config that hold a key (tests check they match core.defaults.KEYS)."""
    return [f.name for f in fields(Config) if f.name not in ("sources", "file")]


# --- layers ----------------------------------------------------------------------------

def _key(name: str) -> Key:
    key = KEYS_BY_NAME.get(name)
    if key is None:
        raise TrawlError(f"unknown configuration key {name!r} (see: trawl config show)")
    return key


def _from_text(key: Key, text: str, where: str) -> Any:
    """A value from the environment or a --set flag, converted to the key's type."""
    if key.kind is bool:
        lowered = text.strip().lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise TrawlError(f"{where}: expected one of {'/'.join(_TRUE + _FALSE)}")
    if key.kind in (int, float):
        try:
            return key.kind(text.strip())
        except ValueError:
            raise TrawlError(f"{where}: expected {'an integer' if key.kind is int else 'a number'}") from None
    return text


def _checked(key: Key, value: Any, where: str) -> Any:
    """A typed value (trawl.toml or a flag): the key's type, ints accepted for floats."""
    if key.kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, key.kind) and not (key.kind is int and isinstance(value, bool)):
        return value
    expected = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}[key.kind]
    raise TrawlError(f"{where}: {key.name} must be {expected}, got {type(value).__name__} {value!r}")


def _toml_module() -> Any:
    # tomllib is in the standard library from 3.11; on 3.10 the `tomli` backport (a
    # dependency there) provides the same API.  Imported by name to type-check on both.
    for name in ("tomllib", "tomli"):
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    raise TrawlError(f"reading {CONFIG_FILE} needs Python 3.11+ or the tomli package")


def _read_bounded(path: Path) -> bytes | None:
    try:
        with path.open("rb") as handle:
            if os.fstat(handle.fileno()).st_size > MAX_CONFIG_BYTES:
                raise TrawlError(f"{path}:1: more than {MAX_CONFIG_BYTES} bytes; not a trawl.toml")
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise TrawlError(f"{path}: is a directory, expected a TOML file") from None
    except OSError as exc:
        raise TrawlError(f"{path}: cannot read ({exc.strerror})") from None
    if len(data) > MAX_CONFIG_BYTES:  # grew while we read, or not a regular file
        raise TrawlError(f"{path}:1: more than {MAX_CONFIG_BYTES} bytes; not a trawl.toml")
    return data


def _read_file(path: Path) -> dict[str, tuple[Any, int | None]] | None:
    """{key name: (value, line)} from trawl.toml; None when there is no file."""
    data = _read_bounded(path)
    if data is None:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = data[:exc.start].count(b"\n") + 1
        raise TrawlError(f"{path}:{bad_line}: not UTF-8 text") from None
    toml = _toml_module()
    try:
        document = toml.loads(text)
    except toml.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "not valid TOML"
        raise TrawlError(f"{path}:{match.group(1) if match else 1}: {message}") from None
    lines = text.splitlines()
    out: dict[str, tuple[Any, int | None]] = {}
    for dotted, value in _flatten(document):
        line = _line_of(lines, dotted)
        where = f"{path}:{line}" if line else str(path)
        key = KEYS_BY_NAME.get(dotted)
        if key is None:
            section = dotted.partition(".")[0]
            known = [k.name for k in KEYS if k.in_file and k.name.startswith(section + ".")] or \
                [k.name for k in KEYS if k.in_file]
            raise TrawlError(f"{where}: unknown key {dotted!r} (known: {', '.join(known)})")
        if not key.in_file:
            raise TrawlError(f"{where}: {dotted} cannot be set in {CONFIG_FILE}: set ${key.env} instead")
        out[dotted] = (_checked(key, value, where), line)
    return out


def _flatten(document: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for name, value in document.items():
        dotted = f"{prefix}{name}"
        # a table that is not itself a key is a section ([index]); recurse into it
        if isinstance(value, dict) and dotted not in KEYS_BY_NAME:
            pairs.extend(_flatten(value, dotted + "."))
        else:
            pairs.append((dotted, value))
    return pairs


def _line_of(lines: list[str], dotted: str) -> int | None:
    """Best-effort line of `dotted` in the TOML text: `key =` under its `[section]` header,
    or `section.key =` anywhere (tomllib keeps no positions)."""
    section, _, leaf = dotted.rpartition(".")
    current = ""
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        header = re.fullmatch(r"\[\s*([^\[\]]+?)\s*\](\s*#.*)?", line)
        if header:
            current = header.group(1).replace(" ", "").replace('"', "")
            continue
        match = re.match(r"""([A-Za-z0-9_.\-" ]+?)\s*=""", line)
        if not match:
            continue
        name = match.group(1).replace(" ", "").replace('"', "")
        full = f"{current}.{name}" if current else name
        if full == dotted or (current == section and name == leaf):
            return number
    return None
