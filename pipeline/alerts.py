"""Early warning: one new-substance alert per token the index has never seen.

The tokens the index knows are read once, on the first candidate of a crawl, then kept up
to date with every candidate the pipeline passes on; the sink keeps its own log of alerted
tokens too (enrich.alerts), so a killed and resumed crawl does not alert twice."""
from __future__ import annotations

from collections.abc import Iterable

from core.alerts import AlertSink
from core.records import CandidateSubstance
from enrich.alerts import alert_new_candidates
from index.api import IndexBackend
from pipeline.stats import StatsCounter
from pipeline.unchanged import IndexReads

ALERT_STAT = "trawl/alerts/new_substance"


class NewSubstanceAlerts:
    def __init__(self, index: IndexBackend, stats: StatsCounter, sink: AlertSink | None = None,
                 reads: IndexReads | None = None) -> None:
        self.index, self.stats, self.sink = index, stats, sink  # sink None: the JSON-lines log under $TRAWL_HOME
        self.reads = reads or IndexReads(index, stats)
        self.known_tokens: set[str] | None = None

    def check(self, candidates: list[CandidateSubstance]) -> None:
        """Alerts the candidates whose token is new, counting the alerts raised."""
        if not candidates:
            return
        if self.known_tokens is None:
            nothing: list[CandidateSubstance] = []
            stored, ok = self.reads.read("reading known substance tokens", lambda: self.index.candidates(), nothing)
            if not ok:
                # unknown which tokens are new: alerting all would flood, so none is alerted while
                # the index is unavailable (counted as a degraded read; the records are spooled)
                return
            self.known_tokens = {c.token for c in stored}
        fresh = [c for c in candidates if c.token not in self.known_tokens]
        if fresh:
            events = alert_new_candidates(fresh, known_tokens=self.known_tokens, sink=self.sink)
            self.stats.inc_value(ALERT_STAT, len(events))

    def seen(self, candidates: Iterable[CandidateSubstance]) -> None:
        """Remember tokens passed on to the store (once the index is read: before, it knows them)."""
        if self.known_tokens is not None:
            self.known_tokens.update(c.token for c in candidates)
