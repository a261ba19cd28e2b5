"""Early warning: substance-like tokens that match no reference list.

A token is a candidate new substance when it has the shape of a designer-drug name of a
known family (enrich.analogue.PATTERNS: positional codes like "3-CMPVP", "-azolam",
"-nitazene", "-fentanyl", 2C-x, 25x-NBOMe/NBOH/NBF, *-PINACA/-INACA/-ICA and JWH/AM/UR/XLR/
PB codes, DMXE-like arylcyclohexylamines, "-ylone"/"-edrone" cathinones, LSD prodrugs...)
or is a listed name written with an analogue modifier ("3-Cl-PCP", "N-desethyl-
protonitazene": pattern `modified-name`), and its key is no name in the loaded lists.

The candidates come from the matcher's own reading of the text (enrich.matcher.analyse),
so the two never contradict each other: a token the matcher resolved as a misspelt listed
name ("alprozolam") is no candidate, a list hit inside a candidate ("AB-PINACA" inside
"5F-AB-PINACA") is no match, and a quantity glued in front ("5xfentanyl") is not part of
the token. The pipeline stores candidates as core.records.CandidateSubstance and raises an
alert for new ones (enrich.alerts).
"""
from __future__ import annotations

from core.records import CandidateSubstance, Listing
from enrich.analogue import PATTERNS
from enrich.lists import ReferenceLists
from enrich.matcher import Candidate, analyse, get_matcher

__all__ = ["PATTERNS", "Candidate", "candidate_records", "new_substance_candidates", "unique_candidates"]


def new_substance_candidates(text: str, *, lists: ReferenceLists | None = None) -> list[Candidate]:
    """Substance-like tokens in `text` that match none of the reference names."""
    return unique_candidates(analyse(text, lists=lists).candidates)


def unique_candidates(candidates: list[Candidate]) -> list[Candidate]:
    """The first of each token (in the matcher's order), in order of appearance."""
    found: dict[str, Candidate] = {}
    for cand in candidates:
        found.setdefault(cand.token, cand)
    return sorted(found.values(), key=lambda c: c.span)


def candidates_batch(texts: list[str], *, lists: ReferenceLists | None = None) -> list[list[Candidate]]:
    """new_substance_candidates for many single-line texts, with one fuzzy pass."""
    return [a.candidates for a in get_matcher(lists).analyse_many(list(texts))]


def candidate_records(listing: Listing, *, lists: ReferenceLists | None = None) -> list[CandidateSubstance]:
    """CandidateSubstance records for one listing (title + description), ready for
    `backend.write(Records(candidates=...))`; the backend merges first/last seen and examples."""
    seen_at = listing.crawled_at or listing.last_seen or listing.first_seen
    text = f"{listing.title}\n{listing.description}"
    return [
        CandidateSubstance(token=c.token, first_seen=seen_at, last_seen=seen_at, site=listing.site,
                           example_listing_ids=[listing.listing_id], pattern=c.pattern)
        for c in new_substance_candidates(text, lists=lists)
    ]
