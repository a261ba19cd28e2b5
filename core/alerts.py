"""The alert sink interface: an `AlertEvent` record, the `AlertSink` protocol and two sinks.

Any object with `emit(event)` is a sink (a webhook, a message queue, a test list). The
default, `JsonlSink`, appends JSON lines to $TRAWL_HOME/alerts.jsonl under an exclusive
lock, which lets a caller check the log and append in one step (enrich.alerts uses it to
alert each new-substance token once, durably). What raises alerts lives above (the
kinds are listed below); trawl.alerting delivers the log to webhooks, e-mail and MISP.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from core.clock import utc_now_iso
from core.errors import TrawlError
from core.home import trawl_home

# Alert kinds: who raises each (module), and what it means.  The log keeps every kind;
# trawl.alerting delivers them to the configured channels.
NEW_SUBSTANCE = "new-substance"  # enrich.alerts: a substance-like token no list knows
WATCH_LISTING = "watch_listing"  # pipeline.alerts: a new/changed listing meets a watch rule
VENDOR_NEW_MARKET = "vendor_new_market"  # pipeline.alerts: a known vendor appears on another market
SITE_PAUSED = "site_paused"  # crawler.engine.session: a gate/captcha/login waits for a human
PRICE_MOVE = "price_move"  # pipeline.alerts: a watched substance's median price moved
RUN_DEGRADED = "run_degraded"  # pipeline.alerts (end of crawl): the index was unavailable
RUN_FAILED = "run_failed"  # the crawl failed (proxy down, disk full, index lost at start)
RUN_RECOVERED = "run_recovered"  # the first good run of a site after a degraded or failed one
MARKET_DOWN, MARKET_BACK = "market_down", "market_back"  # the market registry
MARKET_SEIZED, MARKET_CLONE = "market_seized", "market_clone"

# Kinds that report a state of a subject (data["market"] or data["site"]): the dispatcher
# delivers one alert per change of state, never a repeat of the state already reported.
STATE_OF_KIND: dict[str, tuple[str, str]] = {
    MARKET_DOWN: ("market", "down"), MARKET_BACK: ("market", "up"), MARKET_SEIZED: ("market", "seized"),
    RUN_DEGRADED: ("run", "degraded"), RUN_FAILED: ("run", "failed"), RUN_RECOVERED: ("run", "ok"),
}


@dataclass
class AlertEvent:
    kind: str
    time: str  # ISO-8601 UTC, when the alert was raised
    summary: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def dedupe_key(self) -> str | None:
        """Events with one key are one alert (a resumed crawl may log one twice)."""
        key = self.data.get("dedupe_key")
        return key if isinstance(key, str) and key else None


class AlertSink(Protocol):
    def emit(self, event: AlertEvent) -> None: ...


class JsonlSink:
    """Appends one JSON object per line; default file $TRAWL_HOME/alerts.jsonl.

    Each line is one O_APPEND write() under an exclusive flock, fsync'ed: a SIGKILL
    leaves whole lines, and a torn line from an older writer never swallows the next."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else trawl_home() / "alerts.jsonl"
        self._locked_fd: int | None = None

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[int]:
        """Hold the log's lock (re-entrant within this sink) while checking and appending."""
        if self._locked_fd is not None:
            yield self._locked_fd
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._locked_fd = fd
            yield fd
        finally:
            self._locked_fd = None
            os.close(fd)  # releases the lock

    def emit(self, event: AlertEvent) -> None:
        line = (json.dumps(asdict(event), ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        with self.exclusive() as fd:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # the previous writer was killed mid-line: start a fresh one
            os.write(fd, line)
            os.fsync(fd)

    def last(self, kinds: tuple[str, ...], key: str, value: str) -> dict[str, Any] | None:
        """The newest logged record of one of `kinds` whose data[key] (or flat key) is `value`."""
        found: dict[str, Any] | None = None
        with contextlib.suppress(FileNotFoundError), self.path.open("rb") as fh:
            for raw in fh:
                if value.encode() not in raw:
                    continue
                try:
                    record = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(record, dict) or record.get("kind") not in kinds:
                    continue
                nested = record.get("data")
                data: dict[str, Any] = nested if isinstance(nested, dict) else record
                if data.get(key) == value:
                    found = record
        return found

    def recorded(self, kind: str, key: str) -> set[str]:
        """Values of data[key] over the logged events of `kind` (unreadable lines are skipped)."""
        values: set[str] = set()
        with contextlib.suppress(FileNotFoundError), self.path.open("rb") as fh:
            for raw in fh:
                if kind.encode() not in raw:
                    continue  # cheap filter: most lines are other kinds
                try:
                    record = json.loads(raw)
                except ValueError:
                    continue  # a torn line from a killed writer
                if isinstance(record, dict) and record.get("kind") == kind and isinstance(record.get("data"), dict):
                    value = record["data"].get(key)
                    if isinstance(value, str):
                        values.add(value)
        return values


class MemorySink:
    def __init__(self) -> None:
        self.events: list[AlertEvent] = []

    def emit(self, event: AlertEvent) -> None:
        self.events.append(event)


def now_utc() -> str:
    """Alert time: ISO-8601 UTC to the second, with Z."""
    return utc_now_iso()


def event_from_record(record: dict[str, Any]) -> AlertEvent:
    """An AlertEvent from a stored line: ours, or the flat records other stages write
    ({"time", "kind", "site", "message", ...details})."""
    if "summary" in record and "data" in record:
        return AlertEvent(kind=record["kind"], time=record["time"], summary=record["summary"],
                          data=dict(record["data"]))
    details = {k: v for k, v in record.items() if k not in ("kind", "time", "message")}
    return AlertEvent(kind=str(record.get("kind", "")), time=str(record.get("time", "")),
                      summary=str(record.get("message", "")), data=details)


def append_alert(record: dict[str, Any], sink: AlertSink | None = None) -> AlertEvent:
    """Raise an alert from a flat record (used by the crawler for e.g. "site_paused")."""
    event = event_from_record({"time": now_utc(), **record})
    (sink or JsonlSink()).emit(event)
    return event


def read_alerts(path: str | Path | None = None, kind: str | None = None, since: str | None = None) -> list[AlertEvent]:
    path = Path(path) if path else trawl_home(create=False) / "alerts.jsonl"
    if not path.exists():
        return []
    events = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            event = event_from_record(json.loads(line))
        except (json.JSONDecodeError, TypeError, AttributeError) as exc:
            raise TrawlError(f"{path}:{lineno}: not an alert event: {exc}") from exc
        if kind and event.kind != kind:
            continue
        if since and (event.data.get("first_seen") or event.time) < since:
            continue
        events.append(event)
    return events
