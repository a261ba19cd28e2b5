"""Early warning: substance-like tokens that match no reference list.

A token is a candidate new substance when it has the shape of a designer-drug name
(a positional code like "3-CMPVP", a known suffix like "-azolam", "-nitazene",
"-fentanyl", a 2C-/NBOMe/LSD-prodrug/cannabinoid code) and its normalised key is
not any name, synonym or code in the loaded lists.  The pipeline stores them as
index.model.CandidateSubstance and raises an alert for new ones (enrich.alerts).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from enrich.lists import ReferenceLists, default_lists
from enrich.normalize import name_key, normalise_with_offsets
from index.model import CandidateSubstance, Listing

_T = r"[a-z0-9]"
# (pattern name, regex over normalised text); token boundaries are non-[a-z0-9-]
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (name, re.compile(rf"(?<![a-z0-9-]){rx}(?![a-z0-9-])"))
    for name, rx in [
        # a bare "pvp" is a gaming word: require a positional prefix or alpha-
        ("pyrrolidinophenone", rf"(?:\d-{_T}{{1,5}}-?|(?:\d-{_T}{{1,5}}-)?(?:alpha|a)-)p(?:v|h|ih|b|p|ihe|e)p"),
        ("cathinone-code", rf"\d(?:,\d)?-{_T}{{0,3}}(?:mc|ec|pc|mmc|cmc|fmc|bmc|emc)"),
        ("azolam", rf"{_T}[a-z0-9-]*zolam"),
        ("azepam", rf"{_T}[a-z0-9-]*azepam"),
        ("nitazene", rf"{_T}[a-z0-9-]*nitaze(?:ne|pyne)"),
        ("fentanyl", rf"{_T}[a-z0-9-]*fentan[yi]l"),
        ("2c", r"2c-[a-z]{1,3}(?:-[a-z0-9]{1,4}){0,2}"),
        ("nbome", r"\d{2}[a-z]{1,2}-nbo(?:me|h|f)"),
        ("lsd-prodrug", r"\d?[a-z]{1,3}-lsd"),
        ("tryptamine", r"\d-(?:ho|aco|meo|propo|f)-(?:[a-z]{2,6})"),
        ("cannabinoid", rf"{_T}+(?:-{_T}+)*-(?:pinaca|binaca|pica|fubinaca|butinaca|chminaca|fubica|pegaclone)"),
        ("amphetamine-code", r"\d-(?:f|cl|br|me|meo|mt)(?:a|ma|ea|pa)"),
        ("phenidate", rf"{_T}[a-z0-9-]*phenidate"),
        ("ketamine-analogue", rf"{_T}[a-z0-9-]*(?:dck|ketamine)"),
        ("arylcyclohexylamine", r"\d-(?:meo|ho|f|cl|me)-(?:pcp|pce|pcpy|pcpr|dck)"),
    ]
]


@dataclass(frozen=True)
class Candidate:
    token: str  # normalised, e.g. "3-cmpvp"
    pattern: str
    span: tuple[int, int]  # in the original text


def new_substance_candidates(text: str, *, lists: ReferenceLists | None = None) -> list[Candidate]:
    """Substance-like tokens in `text` that match none of the reference names."""
    lists = lists or default_lists()
    norm, offsets = normalise_with_offsets(text)
    found: dict[str, Candidate] = {}
    taken: list[tuple[int, int]] = []
    for pattern, regex in PATTERNS:
        for m in regex.finditer(norm):
            start, end = m.span()
            if any(start < e and s < end for s, e in taken):
                continue  # one token, one pattern (the first, most specific, wins)
            taken.append((start, end))
            token = m.group()
            if name_key(token) in lists.names or token in found:
                continue
            span = (start, end) if offsets is None else (offsets[start], offsets[end - 1] + 1)
            found[token] = Candidate(token, pattern, span)
    return sorted(found.values(), key=lambda c: c.span)


def candidate_records(listing: Listing, *, lists: ReferenceLists | None = None) -> list[CandidateSubstance]:
    """CandidateSubstance records for one listing (title + description), ready for
    `backend.write(candidates=...)`; the backend merges first/last seen and examples."""
    seen_at = listing.crawled_at or listing.last_seen or listing.first_seen
    text = f"{listing.title}\n{listing.description}"
    return [
        CandidateSubstance(token=c.token, first_seen=seen_at, last_seen=seen_at, site=listing.site,
                           example_listing_ids=[listing.listing_id], pattern=c.pattern)
        for c in new_substance_candidates(text, lists=lists)
    ]
