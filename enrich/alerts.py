"""New-substance alerts: one per substance-like token, durably (sinks: core.alerts).

The crawler pipeline calls `alert_new_candidates(...)` after storing candidate
substances; any `core.alerts.AlertSink` can replace the default JSON-lines sink.

New-substance alerts are once per token, durably: with the default sink the log itself
is checked under its exclusive lock before appending, so a token alerted by a run that was
killed before its batch reached the index (and is therefore still "unknown" to the
index when the run resumes) is not alerted again, and two crawls finding the same
token at once raise one alert between them.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable

from core.alerts import AlertEvent, AlertSink, JsonlSink, append_alert, now_utc
from core.records import CandidateSubstance

# AlertEvent, AlertSink and append_alert are re-exported for callers written against the old
# module; new code imports them from core.alerts
__all__ = ["NEW_SUBSTANCE", "AlertEvent", "AlertSink", "alert_new_candidates", "append_alert"]

NEW_SUBSTANCE = "new-substance"


def alert_new_candidates(
    candidates: Iterable[CandidateSubstance],
    known_tokens: Iterable[str] = (),
    sink: AlertSink | None = None,
) -> list[AlertEvent]:
    """Raise one alert per candidate token not seen before: not in `known_tokens` and, for
    the default JSON-lines sink, not already in its log (checked under the log's lock)."""
    sink = sink or JsonlSink()
    with sink.exclusive() if isinstance(sink, JsonlSink) else contextlib.nullcontext():
        known = set(known_tokens)
        if isinstance(sink, JsonlSink):
            known |= sink.recorded(NEW_SUBSTANCE, "token")
        return _emit_new(candidates, known, sink)


def _emit_new(candidates: Iterable[CandidateSubstance], known: set[str], sink: AlertSink) -> list[AlertEvent]:
    events = []
    for cand in candidates:
        if cand.token in known:
            continue
        known.add(cand.token)
        event = AlertEvent(
            kind=NEW_SUBSTANCE,
            time=now_utc(),
            summary=f"new substance-like token {cand.token!r} ({cand.pattern}) on {cand.site}",
            data={
                "token": cand.token,
                "pattern": cand.pattern,
                "site": cand.site,
                "first_seen": cand.first_seen,
                "example_listing_ids": list(cand.example_listing_ids),
            },
        )
        sink.emit(event)
        events.append(event)
    return events
