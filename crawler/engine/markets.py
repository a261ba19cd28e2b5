"""The market lifecycle registry: one row per market (site) in `$TRAWL_HOME/markets.sqlite`.

Operational state, not listings: status (active, down, seized, exit_scam, closed; unknown
before the first run), first/last seen, the outcome of each run, the mirrors (from the
site YAML, from verified signed mirror lists, and candidates checked for clones) with
when each last answered or failed, and successor markets where the vendors reappeared.

Writers: the end of every crawl run (crawler/engine/markets_runs.py), `trawl markets
mirrors ...` (markets_mirrors.py) and `trawl markets close`.  Readers: `trawl markets`
and the web app's operations page, through `list_markets()` / `get_market()`, which
return plain dataclasses and never write.
"""
from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.clock import utc_now_iso
from core.errors import TrawlError
from core.home import ensure_home, trawl_home
from core.sqlite_wal import enter_wal
from crawler.sitedef.siteconfig import SiteConfig

REGISTRY_FILE = "markets.sqlite"
STATUSES = ("unknown", "active", "down", "seized", "exit_scam", "closed")
MIRROR_STATES = ("verified", "clone", "unchecked")
ALERT_KINDS = ("market_down", "market_back", "market_seized", "market_clone")

SCHEMA = """
CREATE TABLE IF NOT EXISTS markets (
    site TEXT PRIMARY KEY, status TEXT NOT NULL DEFAULT 'unknown', status_since TEXT, reason TEXT DEFAULT '',
    first_seen TEXT, last_seen TEXT, last_run_id TEXT, last_run_at TEXT, last_outcome TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0, updated_at TEXT);
CREATE TABLE IF NOT EXISTS mirrors (
    site TEXT NOT NULL, url TEXT NOT NULL, source TEXT NOT NULL, state TEXT NOT NULL, reason TEXT DEFAULT '',
    added_at TEXT, last_up TEXT, last_down TEXT, last_run_state TEXT DEFAULT '', PRIMARY KEY (site, url));
CREATE TABLE IF NOT EXISTS runs (
    site TEXT NOT NULL, run_id TEXT NOT NULL, at TEXT NOT NULL, run_status TEXT, outcome TEXT, reason TEXT,
    pages INTEGER, listings_seen INTEGER, mirrors_alive TEXT, mirrors_dead TEXT, PRIMARY KEY (site, run_id));
CREATE TABLE IF NOT EXISTS history (
    site TEXT NOT NULL, at TEXT NOT NULL, old_status TEXT, new_status TEXT, reason TEXT, run_id TEXT);
CREATE TABLE IF NOT EXISTS successors (
    site TEXT NOT NULL, successor TEXT NOT NULL, vendors TEXT NOT NULL, strong INTEGER NOT NULL,
    found_at TEXT, PRIMARY KEY (site, successor));
"""


@dataclass
class MirrorInfo:
    url: str
    source: str  # yaml | signed-list | candidate
    state: str  # verified | clone | unchecked
    reason: str = ""
    added_at: str = ""
    last_up: str = ""
    last_down: str = ""
    last_run_state: str = ""  # alive | dead | "" (not tried in the last run)

    @property
    def usable(self) -> bool:
        return self.state == "verified"


@dataclass
class Successor:
    site: str
    vendors: list[str]  # vendor names seen on the successor after the market went away
    strong: int  # how many of them share a PGP fingerprint (the rest: same vendor name)


@dataclass
class RunEntry:
    run_id: str
    at: str
    run_status: str
    outcome: str  # up | down | seized | unknown
    reason: str
    pages: int
    listings_seen: int
    mirrors_alive: list[str] = field(default_factory=list)
    mirrors_dead: list[str] = field(default_factory=list)


@dataclass
class MarketInfo:
    site: str
    status: str = "unknown"
    status_since: str = ""
    reason: str = ""
    first_seen: str = ""
    last_seen: str = ""
    last_run_id: str = ""
    last_run_at: str = ""
    last_outcome: str = ""
    consecutive_failures: int = 0
    mirrors: list[MirrorInfo] = field(default_factory=list)
    successors: list[Successor] = field(default_factory=list)

    @property
    def mirrors_alive(self) -> list[str]:
        return [m.url for m in self.mirrors if m.usable and m.last_run_state == "alive"]

    @property
    def mirrors_dead(self) -> list[str]:
        return [m.url for m in self.mirrors if m.usable and m.last_run_state == "dead"]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["mirrors_alive"], out["mirrors_dead"] = self.mirrors_alive, self.mirrors_dead
        return out


def registry_path() -> Path:
    return trawl_home() / REGISTRY_FILE


@contextmanager
def connect(*, write: bool) -> Iterator[sqlite3.Connection]:
    """A connection to the registry; `write` takes the write lock for the whole block
    (read the state, decide, write, alert: one step even with two crawls ending at once)."""
    if write:
        ensure_home()
    path = registry_path()
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.row_factory = sqlite3.Row
    try:
        enter_wal(db, 30)  # two crawls ending at once on a new home both open a new file
        db.executescript(SCHEMA)
        if not write:
            yield db
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    finally:
        db.close()


def ensure_market(db: sqlite3.Connection, site: str) -> None:
    db.execute("INSERT OR IGNORE INTO markets (site, status, updated_at) VALUES (?, 'unknown', ?)",
               (site, utc_now_iso()))


def sync_yaml_mirrors(db: sqlite3.Connection, site: str, mirrors: tuple[str, ...]) -> None:
    """The site YAML's mirrors are trusted as the operator wrote them (a clone flag stays)."""
    now = utc_now_iso()
    for url in mirrors:
        db.execute("INSERT OR IGNORE INTO mirrors (site, url, source, state, added_at) VALUES (?, ?, 'yaml', "
                   "'verified', ?)", (site, normalise_url(url), now))


def normalise_url(url: str) -> str:
    url = url.strip().rstrip("/")
    return url if "://" in url else f"http://{url}"


def put_mirror(db: sqlite3.Connection, site: str, url: str, *, source: str, state: str, reason: str = "") -> None:
    """Add or update one mirror; a clone flag is never lifted by a later add."""
    url, now = normalise_url(url), utc_now_iso()
    row = db.execute("SELECT state FROM mirrors WHERE site=? AND url=?", (site, url)).fetchone()
    if row is None:
        db.execute("INSERT INTO mirrors (site, url, source, state, reason, added_at) VALUES (?, ?, ?, ?, ?, ?)",
                   (site, url, source, state, reason, now))
    elif row["state"] != "clone":
        db.execute("UPDATE mirrors SET source=?, state=?, reason=? WHERE site=? AND url=?",
                   (source, state, reason, site, url))


def mirror_state(site: str, url: str) -> str | None:
    if not registry_path().is_file():
        return None
    with connect(write=False) as db:
        row = db.execute("SELECT state FROM mirrors WHERE site=? AND url=?", (site, normalise_url(url))).fetchone()
    return row["state"] if row else None


def usable_mirrors(site: str, yaml_mirrors: tuple[str, ...]) -> tuple[str, ...]:
    """The mirrors a crawl of `site` uses: the YAML's, then verified ones from the registry,
    never one flagged as a clone.  Reads only (no registry yet: the YAML's)."""
    if not registry_path().is_file():
        return yaml_mirrors
    with connect(write=False) as db:
        rows = db.execute("SELECT url, state FROM mirrors WHERE site=? ORDER BY added_at, url", (site,)).fetchall()
    states = {row["url"]: row["state"] for row in rows}
    ordered = [m for m in yaml_mirrors if states.get(normalise_url(m)) != "clone"]
    known = {normalise_url(m) for m in yaml_mirrors}
    ordered += [row["url"] for row in rows if row["state"] == "verified" and row["url"] not in known]
    return tuple(ordered)


def set_status(db: sqlite3.Connection, site: str, old: str, new: str, reason: str, run_id: str = "",
               at: str = "") -> None:
    now = at or utc_now_iso()
    db.execute("UPDATE markets SET status=?, status_since=?, reason=?, updated_at=? WHERE site=?",
               (new, now, reason, now, site))
    db.execute("INSERT INTO history (site, at, old_status, new_status, reason, run_id) VALUES (?, ?, ?, ?, ?, ?)",
               (site, now, old, new, reason, run_id))


def raise_market_alert(kind: str, *, site: str, status: str, reason: str, **details: Any) -> None:
    """One line in the alert log (core.alerts); delivery to people is built on that log."""
    from core.alerts import append_alert

    if kind not in ALERT_KINDS:
        raise ValueError(f"not a market alert kind: {kind}")
    append_alert({"kind": kind, "site": site, "status": status, "reason": reason,
                  "message": f"{site}: {kind.removeprefix('market_')}: {reason}", **details})


# --- reading ------------------------------------------------------------------------------

def list_markets(site: str | None = None) -> list[MarketInfo]:
    """Every market of the registry (or one), with mirrors and successors; [] before any run."""
    if not registry_path().is_file():
        return []
    with connect(write=False) as db:
        rows = db.execute("SELECT * FROM markets WHERE ? IS NULL OR site=? ORDER BY site", (site, site)).fetchall()
        out = []
        for row in rows:
            fields: dict[str, Any] = {k: row[k] or ("" if k != "consecutive_failures" else 0) for k in row.keys()
                                      if k != "updated_at"}
            info = MarketInfo(**fields)
            info.mirrors = [MirrorInfo(**{k: m[k] or "" for k in m.keys() if k != "site"}) for m in db.execute(
                "SELECT * FROM mirrors WHERE site=? ORDER BY source != 'yaml', added_at, url", (row["site"],))]
            info.successors = [Successor(s["successor"], json.loads(s["vendors"]), s["strong"]) for s in db.execute(
                "SELECT * FROM successors WHERE site=? ORDER BY strong DESC, successor", (row["site"],))]
            out.append(info)
    return out


def get_market(site: str) -> MarketInfo | None:
    found = list_markets(site)
    return found[0] if found else None


def run_history(site: str, limit: int = 20) -> list[RunEntry]:
    if not registry_path().is_file():
        return []
    with connect(write=False) as db:
        rows = db.execute("SELECT * FROM runs WHERE site=? ORDER BY at DESC, rowid DESC LIMIT ?",
                          (site, limit)).fetchall()
    return [RunEntry(run_id=r["run_id"], at=r["at"], run_status=r["run_status"] or "", outcome=r["outcome"] or "",
                     reason=r["reason"] or "", pages=r["pages"] or 0, listings_seen=r["listings_seen"] or 0,
                     mirrors_alive=json.loads(r["mirrors_alive"] or "[]"),
                     mirrors_dead=json.loads(r["mirrors_dead"] or "[]")) for r in rows]


def status_history(site: str, limit: int = 50) -> list[dict[str, str]]:
    if not registry_path().is_file():
        return []
    with connect(write=False) as db:
        rows = db.execute("SELECT at, old_status, new_status, reason, run_id FROM history WHERE site=? "
                          "ORDER BY rowid DESC LIMIT ?", (site, limit)).fetchall()
    return [dict(row) for row in rows]


def close_market(site: str, reason: str) -> None:
    """An operator's word: the market closed (announced, retired).  A later successful run
    reopens it (status active, one market_back alert)."""
    with connect(write=True) as db:
        ensure_market(db, site)
        old = db.execute("SELECT status FROM markets WHERE site=?", (site,)).fetchone()["status"]
        if old != "closed":
            set_status(db, site, old, "closed", reason)


def with_registry_mirrors(site: SiteConfig) -> SiteConfig:
    """`site` with the mirrors a crawl uses (usable_mirrors); TrawlError when every one is a clone."""
    mirrors = usable_mirrors(site.name, site.mirrors)
    if not mirrors:
        raise TrawlError(f"site {site.name!r}: every mirror is flagged as a clone (see: trawl markets show {site.name})")
    return site if mirrors == site.mirrors else dataclasses.replace(site, mirrors=mirrors)
