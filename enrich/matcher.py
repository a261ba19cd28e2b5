"""Substance matching: one function for the pipeline, the CLI and the API.

Stages per text: normalise (offsets kept) -> atoms -> exact lookup of 1-5 atom
n-grams, longest first (every name, code and synonym; separators ignored so
"3 MMC" == "3-MMC" == "3mmc") -> leetspeak retry for mixed letter/digit tokens
-> fuzzy for the remaining long alphabetic n-grams (see enrich.fuzzy) -> the
context rule for ordinary-word street names (see enrich.context) -> analogue tokens
(enrich.analogue: a list hit inside "5F-AB-PINACA" is dropped, the token is an early-warning
candidate) -> form/colour descriptors -> offered or mentioned (enrich.relation) -> one match
per substance.  `match_batch` runs the fuzzy stage once for all texts with cdist; its
decisions are kept per query (they depend on the query alone).  The exact stage is in
enrich.match_exact; a listing's title, category and description are analysed together,
each read once, by `Matcher.analyse_listing` (enrich.match_listing).
"""
from __future__ import annotations

import copy
import gc

from enrich import fuzzy
from enrich.context import (
    blocked_by_neighbours,
    has_drug_context,
    has_title_context,
    is_descriptor,
    is_form_of_neighbour,
    is_non_drug,
    next_to_offer,
)
from enrich.hint import HintInfo, read_hint
from enrich.lists import ReferenceLists, default_lists
from enrich.match_exact import ExactStage
from enrich.match_listing import ListingAnalysis
from enrich.match_reading import BoundedCache, Decision, cached_decisions
from enrich.match_tokens import (
    atom_texts,
    next_to_colour,
    other_names,
    transposed_codes,
)
from enrich.match_types import Analysis, Candidate, Hit, Prepared, SubstanceMatch
from enrich.refine import CANNABIS_FAMILY, THC, is_potency, refine
from enrich.relation import is_guide, mentioned_flags

CONTEXT_SCORE = 0.85
HINT_SCORE = 0.6
DECISION_CACHE_SIZE = 100_000  # about 15 MB: a run reads ~9 new fuzzy strings per listing


class Matcher(ExactStage):
    def __init__(self, lists: ReferenceLists) -> None:
        self.lists = lists
        self.choices = fuzzy.build_choices(lists)
        self.by_cas = {s.cas: s.canonical for s in lists.substances.values() if s.cas}
        self.prefixes = {key[:n] for key in lists.names for n in range(1, len(key) + 1)}
        self.descriptor_keys = {key for key, e in lists.names.items() if e.descriptor or is_descriptor(atom_texts(e.text))}
        self.descriptor_names = {e.text for key, e in lists.names.items() if key in self.descriptor_keys}
        self.precursors = {c for c, s in lists.substances.items() if s.controls and all(x.startswith("1988:") for x in s.controls)}
        self.synonyms = {c: other_names(s.canonical, s.names) for c, s in lists.substances.items()}
        self.transposed = transposed_codes(lists)
        self.transposed_starts = {v[:n] for v in self.transposed for n in range(1, len(v) + 1)}
        self.decision_cache: BoundedCache[str, Decision] = BoundedCache(DECISION_CACHE_SIZE)

    # -- stage 3: decide and assemble ------------------------------------------------
    def _all_hits(self, prep: Prepared, decisions: dict[str, tuple[str, float, str] | None]
                  ) -> tuple[list[Hit], list[tuple[int, int, str, str]]]:
        fuzzy_hits = []
        for start, end, query in prep.queries:
            decision = decisions.get(query)
            if decision is not None:
                canonical, score, name = decision
                fuzzy_hits.append(Hit(start, end, canonical, "fuzzy", round(score / 100.0, 4), name))
        # best fuzzy hits first; an n-gram overlapping a better one is dropped
        fuzzy_hits.sort(key=lambda h: (-h.score, h.start, h.end - h.start))
        taken: list[Hit] = []
        for hit in fuzzy_hits:
            if all(hit.end <= t.start or hit.start >= t.end for t in taken):
                taken.append(hit)
        hits = sorted(prep.hits + taken, key=lambda h: h.start)
        return self._resolve_candidates(hits, prep.candidates)

    def category_hits(self, prep: Prepared, decisions: dict[str, tuple[str, float, str] | None]) -> list[Hit]:
        """Hits in a category hint: street words count without context, descriptors do not."""
        hits, _ = self._all_hits(prep, decisions)
        texts = [a.text for a in prep.atoms]
        return [h for h in hits if h.name not in self.descriptor_names
                and not (h.context_only and blocked_by_neighbours(texts, h.start, h.end))]

    def finish(self, prep: Prepared, decisions: dict[str, tuple[str, float, str] | None],
               hint: HintInfo | None = None) -> list[SubstanceMatch]:
        """The matches of one prepared text (bench/match.py's naive path calls this)."""
        return self.conclude(prep, decisions, hint).matches

    def conclude(self, prep: Prepared, decisions: dict[str, tuple[str, float, str] | None],
                 hint: HintInfo | None = None) -> Analysis:
        hits, candidates = self._all_hits(prep, decisions)
        texts = [a.text for a in prep.atoms]
        hits = self._apply_context_rule(prep, hits, texts, hint)
        hits = self._drop_descriptors(hits, bool(candidates), texts)
        matches = refine(self.one_per_substance(prep, hits, texts), self.lists, self._potency(prep, hits, texts),
                         set(texts), prep.text)
        if hint is not None and hint.matches and not candidates and not is_guide(texts) and "custom" not in texts \
                and not any(m.relation == "offered" for m in matches):
            matches += [self._from_hint(m) for m in hint.matches if m.canonical not in {x.canonical for x in matches}]
        return Analysis(matches, [self._candidate(prep, c) for c in candidates])

    def _resolve_candidates(self, hits: list[Hit], candidates: list[tuple[int, int, str, str]]
                            ) -> tuple[list[Hit], list[tuple[int, int, str, str]]]:
        """A hit covering a candidate token whole resolved it (a misspelt listed name): no
        candidate. A hit strictly inside a candidate is a piece of an analogue: no hit."""
        kept_candidates = []
        for cand in candidates:
            # a family-shaped token ("dimethylone") is read as a misspelling only within one edit
            same = [h for h in hits if (h.start, h.end) == (cand[0], cand[1])]
            if any(h.reason != "fuzzy" or h.score >= fuzzy.CUTOFF / 100 for h in same):
                continue
            kept_candidates.append(cand)
            hits = [h for h in hits if not (cand[0] <= h.start and h.end <= cand[1])]
        return hits, kept_candidates

    def _apply_context_rule(self, prep: Prepared, hits: list[Hit], texts: list[str],
                            hint: HintInfo | None) -> list[Hit]:
        solid = [h for h in hits if not h.context_only]
        if len(solid) == len(hits):
            return hits
        context = has_drug_context(prep.norm, texts, bool(solid))
        # rule 5: the whole title (a mass, a drug-listing word) or a drug category hint is
        # context enough, without adjacency, unless the title reads as a fraud/digital listing
        title_context = (has_title_context(prep.norm, texts) or (hint is not None and hint.is_drug)) \
            and not is_non_drug(texts)
        solid_spans = [(h.start, h.end) for h in solid]
        kept = []
        for hit in hits:
            if hit.context_only:
                if not (context or title_context) or blocked_by_neighbours(texts, hit.start, hit.end):
                    continue
                if is_form_of_neighbour(texts, hit.start, hit.end, solid_spans):
                    continue
                if not solid and not title_context and not next_to_offer(texts, hit.start, hit.end):
                    continue
                hit.score = min(hit.score, CONTEXT_SCORE)
            kept.append(hit)
        return kept

    def _potency(self, prep: Prepared, hits: list[Hit], texts: list[str]) -> set[str]:
        thc = [h for h in hits if h.canonical == THC]
        if thc and all(is_potency(prep.norm, prep.atoms[h.start].start, prep.atoms[h.end - 1].end,
                                  texts[h.start - 1] if h.start else "") for h in thc):
            return {THC}
        return set()

    def _drop_descriptors(self, hits: list[Hit], has_candidate: bool, texts: list[str]) -> list[Hit]:
        """Form/colour words ("crystal", "brown sugar", "blotters") describe the named substance;
        they name one only when nothing else is named (and no unlisted analogue is)."""
        descriptors = [h for h in hits if h.name in self.descriptor_names and h.reason != "fuzzy"]
        if not descriptors:
            return hits
        others = [h for h in hits if h not in descriptors]

        def described(d: Hit) -> bool:  # another substance is named; within cannabis the product word decides
            return has_candidate or any(not (d.canonical in CANNABIS_FAMILY and h.canonical in CANNABIS_FAMILY)
                                        for h in others)

        # a colour in a list of colours ("C-stamp grey/brown") is a colour
        return [h for h in hits if h not in descriptors or not (described(h) or next_to_colour(texts, h))]

    def one_per_substance(self, prep: Prepared, hits: list[Hit], texts: list[str]) -> list[SubstanceMatch]:
        if not hits:
            return []
        mentioned = mentioned_flags(texts, prep.norm, prep.atoms, [(h.start, h.end) for h in hits],
                                    [h.canonical for h in hits])
        offered = {h.canonical for h, m in zip(hits, mentioned, strict=True) if not m}
        # a precursor named with a drug made from it is the synthesis route ("meth, 99% ephedrine")
        products = {c for c in offered if not self._is_precursor(c)}
        seen: dict[str, SubstanceMatch] = {}
        for hit, flag in zip(hits, mentioned, strict=True):
            relation = "mentioned" if flag or (products and self._is_precursor(hit.canonical)) else "offered"
            if hit.canonical in seen and not (seen[hit.canonical].relation == "mentioned" and relation == "offered"):
                continue
            sub = self.lists.substances[hit.canonical]
            a, b = prep.atoms[hit.start], prep.atoms[hit.end - 1]
            if prep.offsets is None:
                start, end = a.start, b.end
            else:
                start, end = prep.offsets[a.start], prep.offsets[b.end - 1] + 1
            seen[hit.canonical] = SubstanceMatch(
                canonical=sub.canonical,
                substance_class=sub.substance_class,
                controls=list(sub.controls),
                score=hit.score,
                span=(start, end),
                matched_text=prep.text[start:end],
                reason=hit.reason,
                matched_name=hit.name,
                cas=sub.cas,
                notes=list(sub.notes),
                relation=relation,
                synonyms=self.synonyms[sub.canonical],
            )
        return sorted(seen.values(), key=lambda m: m.span[0])

    def _is_precursor(self, canonical: str) -> bool:
        return canonical in self.precursors

    def _from_hint(self, found: SubstanceMatch) -> SubstanceMatch:
        moved = copy.copy(found)
        moved.reason, moved.score, moved.source, moved.relation = "hint", min(found.score, HINT_SCORE), "hint", "offered"
        return moved

    def _candidate(self, prep: Prepared, cand: tuple[int, int, str, str]) -> Candidate:
        a, b = prep.atoms[cand[0]], prep.atoms[cand[1] - 1]
        span = (a.start, b.end) if prep.offsets is None else (prep.offsets[a.start], prep.offsets[b.end - 1] + 1)
        return Candidate(cand[2], cand[3], span)

    def analyse_many(self, texts: list[str], hints: list[str | None] | None = None,
                     scorer: str = "cdist") -> list[Analysis]:
        """Matches and candidates per text; `hints` (the listing's category, one per text) give
        drug context and, when the title names nothing, the category's substance."""
        # a batch allocates many small acyclic objects; the cyclic collector would walk the
        # large reference lists again and again (about a fifth of the batch time): paused
        # for the batch, collected as usual afterwards
        paused = gc.isenabled()
        gc.disable()
        try:
            return self._analyse_many(texts, hints, scorer)
        finally:
            if paused:
                gc.enable()

    def _analyse_many(self, texts: list[str], hints: list[str | None] | None, scorer: str) -> list[Analysis]:
        hint_list = list(hints) if hints is not None else [None] * len(texts)
        # re-crawls repeat titles and categories: each distinct text is prepared once
        prepared = {t: self.prepare(t) for t in dict.fromkeys([*texts, *(h for h in hint_list if h)])}
        decisions = self.decisions([q for p in prepared.values() for _, _, q in p.queries], scorer)
        hint_info = {h: read_hint(self, prepared[h], decisions) for h in dict.fromkeys(h for h in hint_list if h)}
        finished: dict[tuple[str, str | None], Analysis] = {}
        out: list[Analysis] = []
        for text, hint in zip(texts, hint_list, strict=True):
            key = (text, hint or None)
            if key in finished:  # duplicates get their own copies: callers may mutate results
                out.append(copy.deepcopy(finished[key]))
                continue
            finished[key] = self.conclude(prepared[text], decisions, hint_info.get(hint) if hint else None)
            out.append(finished[key])
        return out

    def decisions(self, queries: list[str], scorer: str = "cdist") -> dict[str, Decision]:
        """Fuzzy decisions per query; the batch scorer's are kept (a decision depends on its
        query alone, and titles, categories and vendors' boilerplate repeat)."""
        if scorer != "cdist":  # the reference scorers always score (they check the batch one)
            unique = sorted(set(queries))
            return fuzzy.SCORERS[scorer](unique, self.choices) if unique else {}
        return cached_decisions(self.decision_cache, queries, lambda todo: fuzzy.score_cdist(todo, self.choices))

    def analyse_listing(self, title: str, hint: str, description: str) -> ListingAnalysis:
        """enrich_listing's three readings with each text read once: `title` (with its category
        `hint`), `description` (concluded only when asked) and the early-warning candidates of
        f"{title}\\n{hint}".strip() + "\\n" + description, as analyse() of each would give."""
        return ListingAnalysis(self, title, hint, description)

    def match_many(self, texts: list[str], scorer: str = "cdist", hints: list[str | None] | None = None
                   ) -> list[list[SubstanceMatch]]:
        return [a.matches for a in self.analyse_many(texts, hints, scorer)]


def get_matcher(lists: ReferenceLists | None = None) -> Matcher:
    lists = lists or default_lists()
    if lists._matcher is None:
        lists._matcher = Matcher(lists)
    return lists._matcher


def match(text: str, *, hint: str | None = None, lists: ReferenceLists | None = None) -> list[SubstanceMatch]:
    """Every substance named in `text`, one match each, in order of appearance; `relation`
    says whether it is offered or only mentioned. `hint`: the listing's category."""
    return get_matcher(lists).match_many([text], hints=[hint])[0]


def analyse(text: str, *, hint: str | None = None, lists: ReferenceLists | None = None) -> Analysis:
    """Matches and early-warning candidates of one text (they never contradict each other)."""
    return get_matcher(lists).analyse_many([text], [hint])[0]


def match_batch(texts: list[str], *, hints: list[str | None] | None = None,
                lists: ReferenceLists | None = None) -> list[list[SubstanceMatch]]:
    """Same results as calling match() on each text; the fuzzy stage runs once (cdist)."""
    return get_matcher(lists).match_many(list(texts), hints=hints)


def match_reference(texts: list[str], *, hints: list[str | None] | None = None,
                    lists: ReferenceLists | None = None) -> list[list[SubstanceMatch]]:
    """Plain-loop reference implementation (fuzz.ratio in Python loops), for tests."""
    return get_matcher(lists).match_many(list(texts), scorer="plain", hints=hints)
