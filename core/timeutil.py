"""Time normalisation and trend periods, shared by both backends.

Both backends store times as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, whole seconds) so
that string order is time order in SQLite and ES `date` fields parse the same
instant; period starts are computed here so both backends bucket identically.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

from core.errors import TrawlError

CANONICAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INTERVALS = ("day", "week", "month")


def norm_time(value: str | None, field: str = "time") -> str:
    """Canonical UTC string for a stored time; "" stays "" (unknown)."""
    if not value:
        return ""
    if CANONICAL_TIME.match(value):
        return value
    return _parse(value, field).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError as exc:
        raise TrawlError(f"{field}: {value!r} is not an ISO-8601 time (e.g. 2026-03-01T12:00:00Z)") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)  # naive times are UTC by project convention
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # e.g. 9999-12-31T23:00:00-05:00 is past the last representable instant
        raise TrawlError(f"{field}: {value!r} is out of range") from None


def _checked_date(value: str, field: str) -> str:
    """A bare date that exists: "2026-13-45" matches the shape but is no day (query bounds only;
    stored times take the fast path in norm_time)."""
    try:
        date.fromisoformat(value)
    except ValueError:
        raise TrawlError(f"{field}: {value!r} is not a valid date (YYYY-MM-DD, e.g. 2026-03-01)") from None
    return value


def bound_from(value: str | None, field: str = "from") -> str | None:
    """Inclusive lower bound; a bare date means its first second."""
    if not value:
        return None
    if _DATE_ONLY.match(value):
        return _checked_date(value, field) + "T00:00:00Z"
    return _parse(value, field).strftime("%Y-%m-%dT%H:%M:%SZ")


def bound_to(value: str | None, field: str = "to") -> str | None:
    """Inclusive upper bound; a bare date means its last second, so "--to 2026-03-31" includes that day."""
    if not value:
        return None
    if _DATE_ONLY.match(value):
        return _checked_date(value, field) + "T23:59:59Z"
    return _parse(value, field).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_interval(interval: str) -> str:
    if interval not in INTERVALS:
        raise TrawlError(f"interval: {interval!r} is not one of {', '.join(INTERVALS)}")
    return interval


@lru_cache(maxsize=4096)
def _week_start(day: str) -> str:
    d = date.fromisoformat(day)
    return (d - timedelta(days=d.weekday())).isoformat()  # ISO weeks start on Monday


def period_start(ts: str, interval: str) -> str:
    """Start date (YYYY-MM-DD) of the day/ISO week/month containing a canonical time."""
    if interval == "month":
        return ts[:7] + "-01"
    if interval == "day":
        return ts[:10]
    return _week_start(ts[:10])


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
