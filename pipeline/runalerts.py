"""Alerts raised when a crawl ends: its health (degraded, failed, recovered) and price moves.

`alert_run_end(record)` takes the run's status record (crawler.engine.run, after the status
is settled) and logs:
- `run_degraded` / `run_failed` for such a run (the dispatcher delivers one per change of a
  site's run state, so a week of failing runs is one alert), `run_recovered` for the first
  good run after them;
- `price_move` per watched substance (pipeline.watch `price_moves`) whose median USD per unit
  on this market moved by at least `threshold_pct` since the previous run, from the snapshots
  in the index (one median per crawl time, per quantity unit).
It never raises: an alert that cannot be raised must not change how the crawl is reported.
"""
from __future__ import annotations

import logging
import statistics
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from core.alerts import (
    PRICE_MOVE,
    RUN_DEGRADED,
    RUN_FAILED,
    RUN_RECOVERED,
    AlertEvent,
    AlertSink,
    JsonlSink,
    now_utc,
)
from index.api import IndexBackend, SearchQuery
from pipeline.watch import WatchRules, load_watch_rules

logger = logging.getLogger(__name__)
RUN_KINDS = (RUN_DEGRADED, RUN_FAILED, RUN_RECOVERED)


def alert_run_end(record: dict[str, Any], *, sink: AlertSink | None = None, rules: WatchRules | None = None,
                  open_index: Callable[[], IndexBackend] | None = None) -> list[AlertEvent]:
    """The alerts of one ended run (see the module doc); errors are logged, never raised."""
    sink = sink or JsonlSink()
    events: list[AlertEvent] = []
    try:
        events += run_health_alerts(record, sink)
    except Exception as exc:  # noqa: BLE001 - an alert must never change the crawl's outcome
        logger.warning("could not raise the run's health alert: %s", exc)
    if record.get("status") not in ("finished", "degraded"):
        return events
    try:
        rules = rules if rules is not None else load_watch_rules()
        if rules.price_moves.substances:
            if open_index is None:
                from index import open_index as open_configured

                open_index = open_configured
            with open_index() as index:
                events += price_move_alerts(index, str(record.get("site", "")), rules, sink)
    except Exception as exc:  # noqa: BLE001 - as above; e.g. the index is down (the run is degraded)
        logger.warning("could not check price moves: %s", exc)
    return events


def run_health_alerts(record: dict[str, Any], sink: AlertSink) -> list[AlertEvent]:
    site, status, run_id = str(record.get("site", "")), record.get("status"), str(record.get("run_id", ""))
    if status == "degraded":
        event = AlertEvent(RUN_DEGRADED, now_utc(), f"{site}: run {run_id} degraded: {record.get('degraded', '')}",
                           {"site": site, "run_id": run_id, "status": status, "reason": record.get("degraded", "")})
    elif status == "failed":
        event = AlertEvent(RUN_FAILED, now_utc(), f"{site}: run {run_id} failed: {record.get('failure', '')}",
                           {"site": site, "run_id": run_id, "status": status, "reason": record.get("failure", "")})
    elif status == "finished" and _last_health(sink, site) in (RUN_DEGRADED, RUN_FAILED):
        event = AlertEvent(RUN_RECOVERED, now_utc(), f"{site}: run {run_id} finished normally again",
                           {"site": site, "run_id": run_id, "status": status})
    else:
        return []
    sink.emit(event)
    return [event]


def _last_health(sink: AlertSink, site: str) -> str | None:
    if not isinstance(sink, JsonlSink):
        return None
    last = sink.last(RUN_KINDS, "site", site)
    return str(last["kind"]) if last else None


def price_move_alerts(index: IndexBackend, site: str, rules: WatchRules, sink: AlertSink) -> list[AlertEvent]:
    """Compare the last two crawl times' median USD/unit per watched substance and unit on `site`."""
    prices: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for snapshot in index.iter_snapshots(SearchQuery(site=site)):
        if snapshot.site != site or not snapshot.substance or not snapshot.usd_per_unit:
            continue
        term = rules.price_term(snapshot.substance)
        if term:
            prices[(term, snapshot.quantity_unit or "unit")][snapshot.crawled_at].append(snapshot.usd_per_unit)
    rule = rules.price_moves
    already = sink.recorded(PRICE_MOVE, "dedupe_key") if isinstance(sink, JsonlSink) else set()
    events: list[AlertEvent] = []
    for (term, unit), periods in sorted(prices.items()):
        if len(periods) < 2:
            continue
        previous_at, current_at = sorted(periods)[-2:]
        previous, current = periods[previous_at], periods[current_at]
        if len(previous) < rule.min_listings or len(current) < rule.min_listings:
            continue
        before, now = statistics.median(previous), statistics.median(current)
        change = (now - before) / before * 100
        key = f"{PRICE_MOVE}:{site}:{term}:{unit}:{current_at}"
        if abs(change) < rule.threshold_pct or key in already:
            continue
        event = AlertEvent(
            PRICE_MOVE, now_utc(),
            f"{term} on {site}: median ${before:.2f}/{unit} -> ${now:.2f}/{unit} ({change:+.0f}%)",
            {"site": site, "substance": term, "unit": unit, "previous_median": round(before, 4),
             "median": round(now, 4), "change_pct": round(change, 1), "previous_period": previous_at,
             "period": current_at, "listings": len(current), "previous_listings": len(previous),
             "threshold_pct": rule.threshold_pct, "rule": "price_moves", "dedupe_key": key})
        sink.emit(event)
        events.append(event)
    return events


def check_watch_rules() -> None:
    """Validate the configured watch file before a crawl starts (TrawlError naming FILE:LINE):
    its Processors, in worker processes too, load it again with the substance vocabulary."""
    from core.vocabulary import Vocabulary

    load_watch_rules(vocabulary=Vocabulary.empty())
