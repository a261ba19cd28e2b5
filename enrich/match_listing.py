"""A listing's texts analysed together, each read once (Matcher.analyse_listing).

The pipeline wants three things of a listing: the title's substances (with its category as
hint), the description's when the title offers none, and the early-warning candidates of
all three read as one text. Read apart, that is the title and category read twice and the
description twice. Here each text is read once (Matcher.read), the joined text's reading is
joined from the others (enrich.match_reading.join_readings: the same as reading it), the
fuzzy stage runs once for all, and each result is concluded exactly as analyse() would.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from enrich.hint import read_hint
from enrich.match_reading import Decision, Reading, crosses_lines, join_readings

if TYPE_CHECKING:
    from enrich.match_types import Analysis, Candidate
    from enrich.matcher import Matcher


def primary_text(title: str, hint: str) -> str:
    """Title and category, the listing's own words on what it sells."""
    return f"{title}\n{hint}".strip()


def joined_text(title: str, hint: str, description: str) -> str:
    """The text whose candidates a listing reports: title, category, description."""
    return f"{primary_text(title, hint)}\n{description}"


class ListingAnalysis:
    """analyse(title, hint=hint or None), analyse(description) and the candidates of
    analyse(joined_text(title, hint, description)), from one reading of each text."""

    def __init__(self, matcher: Matcher, title: str, hint: str, description: str) -> None:
        self._matcher = matcher
        readings: dict[str, Reading] = {}  # each distinct text read once

        def read(text: str) -> Reading:
            if text not in readings:
                readings[text] = matcher.read(text)
            return readings[text]

        primary = primary_text(title, hint)
        title_reading, description_reading = read(title), read(description)
        hint_reading = read(hint) if hint else None
        if hint_reading is not None and primary == f"{title}\n{hint}":
            parts = [title_reading, hint_reading, description_reading]
        elif primary == title:
            parts = [title_reading, description_reading]
        else:  # the title or category had surrounding blanks: the stripped text is read as such
            parts = [read(primary), description_reading]
        # a word spelled out across a newline: the joined text is read as such (rare)
        whole = matcher.read(f"{primary}\n{description}") if crosses_lines(parts) else None
        # fuzzy decisions only for the texts concluded: the description's are often not needed
        self._decisions: dict[str, Decision] = {}
        self._decided: set[int] = set()
        self._decide(title_reading, *([hint_reading] if hint_reading else []))
        prepared = {id(r): matcher.finish_reading(r) for r in readings.values()}
        self._description_reading = description_reading
        self._description = prepared[id(description_reading)]
        if description_reading is title_reading:  # its own copy: concluding the title changes its hits
            self._description = matcher.finish_reading(description_reading)
        hint_info = read_hint(matcher, prepared[id(hint_reading)], self._decisions) if hint_reading else None
        self.title: Analysis = matcher.conclude(prepared[id(title_reading)], self._decisions, hint_info)
        self.candidates: list[Candidate] = []  # of the joined text, as analyse(joined).candidates lists them
        # the joined text's analogue candidates are its lines' (see enrich.match_reading): when no
        # line has one, it has none, and the joined text need not be assembled
        joined_reading = whole if whole is not None or not any(prepared[id(p)].candidates for p in parts) \
            else join_readings(parts)  # None only for lines that cross, read whole above
        if joined_reading is not None:
            self._decide(*([whole] if whole else parts))  # the joined text's queries are its lines'
            joined = matcher.finish_reading(joined_reading)
            _, found = matcher._all_hits(joined, self._decisions)
            self.candidates = [matcher._candidate(joined, c) for c in found]
        self._description_analysis: Analysis | None = None

    def _decide(self, *readings: Reading) -> None:
        todo = [q for r in readings if id(r) not in self._decided for _, _, q in r.queries]
        self._decided.update(id(r) for r in readings)
        if todo:
            self._decisions.update(self._matcher.decisions(todo))

    def description(self) -> Analysis:
        """analyse(description): concluded on the first call only (the pipeline reads the
        description only when the title offers nothing)."""
        if self._description_analysis is None:
            self._decide(self._description_reading)
            self._description_analysis = self._matcher.conclude(self._description, self._decisions)
        return self._description_analysis
