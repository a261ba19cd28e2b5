"""The one spelling of "now" and of a stored instant: ISO-8601 UTC with a trailing ``Z``.

Every record, run file and alert carries times in this form so that string order is time
order (SQLite, JSONL) and Elasticsearch parses the same instant.

>>> iso_z(datetime(2026, 11, 29, 23, 5, 7, 120000, tzinfo=timezone.utc))
'2026-11-29T23:05:07Z'
>>> iso_z(datetime(2026, 11, 29, 23, 5, 7, 120000, tzinfo=timezone.utc), seconds=False)
'2026-11-29T23:05:07.120000Z'
>>> from datetime import timedelta
>>> iso_z(datetime(2026, 11, 30, 1, 0, tzinfo=timezone(timedelta(hours=2))))
'2026-11-29T23:00:00Z'
"""
from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["iso_z", "utc_now", "utc_now_iso"]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso_z(moment: datetime, *, seconds: bool = True) -> str:
    """`moment` in UTC as ISO-8601 with "Z"; whole seconds unless `seconds=False`.
    A naive datetime is taken as UTC (the project never stores local times)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    text = moment.astimezone(timezone.utc).isoformat(timespec="seconds" if seconds else "auto")
    return text.replace("+00:00", "Z")


def utc_now_iso(*, seconds: bool = True) -> str:
    """Now, as a stored time ("2026-11-29T23:05:07Z")."""
    return iso_z(utc_now(), seconds=seconds)
