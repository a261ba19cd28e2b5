"""What the API server needs to know: tokens, accepted Host names, the index, the interpreter.

Tokens come from the one configuration (core.config): `dashboard.token` ($TRAWL_DASHBOARD_TOKEN,
the admin token) and `dashboard.read_token` ($TRAWL_DASHBOARD_READ_TOKEN, the analyst token).
An unset token is generated once into a file under $TRAWL_HOME created with mode 0600
(`dashboard.token`, `dashboard-read.token`), so a fresh install is never open.
"""
from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.config import load_config
from core.errors import TrawlError
from core.home import ensure_home

ADMIN_TOKEN_FILE = "dashboard.token"  # noqa: S105 - a file name, not a secret
READ_TOKEN_FILE = "dashboard-read.token"  # noqa: S105 - a file name, not a secret
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
MIN_TOKEN_LENGTH = 16


def token_from_file(name: str, home: Path | None = None) -> str:
    """The token kept in $TRAWL_HOME/NAME, created (0600, O_EXCL: never over another file) on first use."""
    path = (home or ensure_home()) / name
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another server created it first: read theirs
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(32))
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise TrawlError(f"{path}: empty token file (delete it to have a new token generated)")
    return token


@dataclass(frozen=True)
class ApiSettings:
    admin_token: str = field(repr=False)  # may start crawls and, later, pause/resume sites
    read_token: str = field(repr=False)  # may read everything, change nothing
    hosts: tuple[str, ...] = ()  # Host names accepted besides localhost, 127.0.0.1, [::1] and the bound address
    index_url: str | None = None  # None: the configured index
    python: str = sys.executable  # interpreter that runs `trawl crawl` subprocesses
    alerts_path: Path | None = None  # None: $TRAWL_HOME/alerts.jsonl

    def __post_init__(self) -> None:
        for name, token in (("admin", self.admin_token), ("read", self.read_token)):
            if len(token) < MIN_TOKEN_LENGTH:
                raise TrawlError(f"dashboard {name} token: shorter than {MIN_TOKEN_LENGTH} characters")
        if self.admin_token == self.read_token:
            raise TrawlError("dashboard tokens: the read token ($TRAWL_DASHBOARD_READ_TOKEN) must differ from "
                             "the admin token ($TRAWL_DASHBOARD_TOKEN)")

    @property
    def allowed_hosts(self) -> frozenset[str]:
        """Host names (lower-case, IPv6 without brackets) accepted besides the connection's own address."""
        return frozenset(h.strip().lower().strip("[]") for h in (*LOCAL_HOSTS, *self.hosts) if h.strip())

    @classmethod
    def from_config(cls, hosts: Iterable[str] = (), index_url: str | None = None) -> ApiSettings:
        config = load_config()
        configured = [h for h in config.dashboard_hosts.split(",") if h.strip()]
        return cls(
            admin_token=config.dashboard_token or token_from_file(ADMIN_TOKEN_FILE),
            read_token=config.dashboard_read_token or token_from_file(READ_TOKEN_FILE),
            hosts=(*configured, *hosts),
            index_url=index_url,
        )
