"""End of a crawl run -> the lifecycle registry: what the run says about the market, the
status it moves to, and the one alert per state change.

A run's outcome:
- `seized`: a seizure banner was seen (crawler/engine/markets_banners.py);
- `up`: at least one page answered 2xx/3xx (whatever else went wrong: a run paused at a
  captcha still proves the market is there);
- `down`: nothing answered and the run failed because every page failed (the market,
  or the way to it); a mirror is *dead* when it was tried and never reached;
- `unknown`: nothing to say about the market (our disk failed, the browser did not start,
  the run was interrupted before a page): counters stay as they are.

Status moves (alerts in brackets):
- up -> active, or exit_scam when a withdrawals-disabled banner was seen or the listings
  collapsed against the previous runs [market_back when it was down, seized or closed];
- down -> down after `market.down_after` (default 3) consecutive down runs, or at once
  when every mirror was dead in the run [market_down]; seized/exit_scam/closed stay;
- seized -> seized [market_seized].
"""
from __future__ import annotations

import json
import logging
import statistics
from dataclasses import dataclass, field
from typing import Any

from core.clock import utc_now_iso
from crawler.engine.markets import connect, ensure_market, raise_market_alert, set_status, sync_yaml_mirrors
from crawler.engine.markets_banners import EXIT_SCAM_STAT, SEIZED_STAT
from crawler.engine.runstatus import ok_responses
from crawler.sitedef.siteconfig import SiteConfig

logger = logging.getLogger(__name__)

UNREACHABLE_STAT = "trawl/mirror_unreachable/"  # + mirror: requests that never reached it (spider.failed)
COLLAPSE_RATIO = 0.25  # fewer than a quarter of the usual listings...
COLLAPSE_MIN = 20  # ...of a market that usually shows at least this many
COLLAPSE_WINDOW = 3  # previous successful runs compared with


@dataclass
class RunOutcome:
    kind: str  # up | down | seized | unknown
    reason: str
    pages: int = 0
    listings_seen: int = 0
    alive: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)
    all_dead: bool = False
    exit_scam_banner: str = ""


@dataclass
class Transition:
    old: str
    new: str
    reason: str
    alert: str | None
    consecutive: int


def classify_run(record: dict[str, Any], mirrors: tuple[str, ...]) -> RunOutcome:
    """What a finished run (its stats.json record) says about the market."""
    raw: dict[str, Any] = record.get("stats") or {}
    pages_by_mirror: dict[str, int] = record.get("mirrors") or {}
    alive = [m for m in mirrors if pages_by_mirror.get(m)]
    dead = [m for m in mirrors if not pages_by_mirror.get(m) and raw.get(UNREACHABLE_STAT + m)]
    seen = int(record.get("listings") or 0) + int(record.get("unchanged") or 0)
    outcome = RunOutcome("unknown", "", pages=int(record.get("pages") or 0), listings_seen=seen, alive=alive,
                         dead=dead, all_dead=bool(mirrors) and len(dead) == len(mirrors),
                         exit_scam_banner=str(raw.get(EXIT_SCAM_STAT) or ""))
    failure = str(record.get("failure") or "")
    if raw.get(SEIZED_STAT):
        outcome.kind, outcome.reason = "seized", f"seizure banner: {raw[SEIZED_STAT]}"
    elif ok_responses(raw):
        outcome.kind, outcome.reason = "up", f"run {record.get('status')}"
    elif record.get("status") == "failed" and failure.startswith("every page failed"):
        outcome.kind = "down"
        outcome.reason = f"every mirror unreachable ({len(mirrors)})" if outcome.all_dead else failure[:300]
    else:
        outcome.reason = f"run {record.get('status')}: {failure or 'no page fetched'}"[:300]
    return outcome


def listing_collapse(seen: int, previous: list[int]) -> str:
    """Why the listing count collapsed against the previous successful runs ("" if it did not)."""
    usual = statistics.median(previous[:COLLAPSE_WINDOW]) if previous else 0
    if usual >= COLLAPSE_MIN and seen < usual * COLLAPSE_RATIO:
        return f"listings collapsed: {seen} seen, usually {usual:g}"
    return ""


def decide(current: str, consecutive: int, outcome: RunOutcome, *, down_after: int, collapse: str = "") -> Transition:
    """The next status (pure: the registry stores it, the caller raises the alert)."""
    if outcome.kind == "unknown":
        return Transition(current, current, "", None, consecutive)
    if outcome.kind == "seized":
        return Transition(current, "seized", outcome.reason, "market_seized" if current != "seized" else None, 0)
    if outcome.kind == "down":
        failures = consecutive + 1
        if current in ("down", "seized", "exit_scam", "closed"):
            return Transition(current, current, outcome.reason, None, failures)
        if outcome.all_dead or failures >= down_after:
            why = outcome.reason if outcome.all_dead else f"{failures} failed runs in a row; last: {outcome.reason}"
            return Transition(current, "down", why, "market_down", failures)
        return Transition(current, current, outcome.reason, None, failures)
    scam = (f"exit-scam banner: {outcome.exit_scam_banner}" if outcome.exit_scam_banner else "") or collapse
    new = "exit_scam" if scam else "active"
    back = current in ("down", "seized", "closed")
    reason = scam or (f"answering again ({outcome.pages} pages)" if back else outcome.reason)
    return Transition(current, new, reason, "market_back" if back else None, 0)


def record_run(site: SiteConfig, record: dict[str, Any]) -> Transition | None:
    """The end-of-run hook (crawler/engine/run.py): store the run, move the status, alert.
    Never raises: the registry is operational bookkeeping, the crawl's result stands."""
    try:
        return _record_run(site, record)
    except Exception as exc:  # noqa: BLE001 - a broken registry must not fail a finished crawl
        logger.error("market registry: could not record run %s of %s: %s", record.get("run_id"), site.name, exc)
        return None


def _record_run(site: SiteConfig, record: dict[str, Any]) -> Transition:
    outcome = classify_run(record, site.mirrors)
    # the crawl's clock (now, unless --clock): registry times line up with the index's first/last seen
    now, run_id = str(record.get("clock") or utc_now_iso()), str(record.get("run_id") or "")
    with connect(write=True) as db:
        ensure_market(db, site.name)
        sync_yaml_mirrors(db, site.name, site.mirrors)
        row = db.execute("SELECT * FROM markets WHERE site=?", (site.name,)).fetchone()
        previous = [r["listings_seen"] for r in db.execute(
            "SELECT listings_seen FROM runs WHERE site=? AND outcome='up' AND listings_seen > 0 "
            "ORDER BY at DESC, rowid DESC LIMIT ?", (site.name, COLLAPSE_WINDOW))]
        collapse = listing_collapse(outcome.listings_seen, previous) if outcome.kind == "up" else ""
        move = decide(row["status"], row["consecutive_failures"], outcome, down_after=site.market.down_after,
                      collapse=collapse)
        db.execute("INSERT OR REPLACE INTO runs (site, run_id, at, run_status, outcome, reason, pages, listings_seen,"
                   " mirrors_alive, mirrors_dead) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (site.name, run_id, now, record.get("status"), outcome.kind, outcome.reason, outcome.pages,
                    outcome.listings_seen, json.dumps(outcome.alive), json.dumps(outcome.dead)))
        for url in outcome.alive:
            db.execute("UPDATE mirrors SET last_up=?, last_run_state='alive' WHERE site=? AND url=?", (now, site.name, url))
        for url in outcome.dead:
            db.execute("UPDATE mirrors SET last_down=?, last_run_state='dead' WHERE site=? AND url=?",
                       (now, site.name, url))
        untried = [m for m in site.mirrors if m not in outcome.alive and m not in outcome.dead]
        for url in untried:
            db.execute("UPDATE mirrors SET last_run_state='' WHERE site=? AND url=?", (site.name, url))
        seen = outcome.kind in ("up", "seized")
        db.execute("UPDATE markets SET first_seen=COALESCE(first_seen, ?), last_seen=?, last_run_id=?, last_run_at=?,"
                   " last_outcome=?, consecutive_failures=?, updated_at=? WHERE site=?",
                   (now if seen else None, now if seen else row["last_seen"], run_id, now, outcome.kind,
                    move.consecutive, now, site.name))
        if move.new != move.old:
            set_status(db, site.name, move.old, move.new, move.reason, run_id, at=now)
        elif move.reason and move.new != "active":
            db.execute("UPDATE markets SET reason=? WHERE site=? AND status=?", (move.reason, site.name, move.new))
        if move.alert:
            # inside the write lock: a crash before COMMIT repeats at most this one alert
            raise_market_alert(move.alert, site=site.name, status=move.new, reason=move.reason, run_id=run_id,
                               previous_status=move.old)
    from crawler.engine.markets_successors import refresh_successors

    refresh_successors()  # this run's vendors may be those of a market that went away
    return move
