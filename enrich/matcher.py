"""Substance matching: one function for the pipeline, the CLI and the API.

Stages per text: normalise (offsets kept) -> atoms -> exact lookup of 1-5 atom
n-grams, longest first (every name, code and synonym; separators ignored so
"3 MMC" == "3-MMC" == "3mmc") -> leetspeak retry for mixed letter/digit tokens
-> fuzzy for the remaining long alphabetic n-grams (see enrich.fuzzy) -> the
context rule for ordinary-word street names (see enrich.context) -> one match per
substance.  `match_batch` runs the fuzzy stage once for all texts with cdist.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from enrich import fuzzy
from enrich.context import blocked_by_neighbours, has_drug_context, is_form_of_neighbour, next_to_offer
from enrich.lists import NameEntry, ReferenceLists, default_lists
from enrich.normalize import Atom, atoms, leet_fold, normalise_with_offsets
from index.model import SubstanceRef

CAS_IN_TEXT = re.compile(r"(?<![\d-])\d{2,7}-\d{2}-\d(?![\d-])")
MAX_NGRAM = 8  # long systematic names: 'tert-butyl 4-anilinopiperidine-1-carboxylate'
SCORES = {"exact": 1.0, "synonym": 1.0, "abbreviation": 1.0, "street": 0.95}
LEET_PENALTY = 0.05
CONTEXT_SCORE = 0.85


@dataclass
class SubstanceMatch:
    canonical: str
    substance_class: str
    controls: list[str]
    score: float
    span: tuple[int, int]  # in the ORIGINAL text
    matched_text: str
    reason: str  # exact | synonym | abbreviation | street | cas | fuzzy
    matched_name: str = ""  # the reference name that matched
    cas: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_ref(self) -> SubstanceRef:
        return SubstanceRef(
            name=self.canonical,
            substance_class=self.substance_class,
            controls=list(self.controls),
            match_type=self.reason,
            score=self.score,
            matched_text=self.matched_text,
        )

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["span"] = list(self.span)
        return data


@dataclass
class _Hit:
    start: int  # atom index
    end: int  # atom index, exclusive
    canonical: str
    reason: str
    score: float
    name: str
    context_only: bool = False


@dataclass
class _Prepared:
    text: str
    norm: str
    offsets: list[int] | None
    atoms: list[Atom]
    hits: list[_Hit]
    queries: list[tuple[int, int, str]]  # (start, end, fuzzy string) for uncovered n-grams


class Matcher:
    def __init__(self, lists: ReferenceLists) -> None:
        self.lists = lists
        self.choices = fuzzy.build_choices(lists)
        self.by_cas = {s.cas: s.canonical for s in lists.substances.values() if s.cas}
        self.prefixes = {key[:n] for key in lists.names for n in range(1, len(key) + 1)}

    # -- stage 1: exact ----------------------------------------------------------
    def prepare(self, text: str, lookup: Callable[[str], NameEntry | None] | None = None) -> _Prepared:
        """Exact stage; `lookup` replaces the dictionary lookup (the naive benchmark path)."""
        norm, offsets = normalise_with_offsets(text)
        toks = atoms(norm)
        get = lookup or self.lists.names.get
        # prefix pruning is exact (a key can only extend a prefix of a key); the naive
        # path (custom lookup) checks every n-gram instead
        prefixes = None if lookup else self.prefixes
        texts = [t.text for t in toks]
        hits = self._cas_hits(norm, toks)
        covered = [False] * len(toks)
        for cas_hit in hits:
            for j in range(cas_hit.start, cas_hit.end):
                covered[j] = True
        i = 0
        while i < len(toks):
            if covered[i]:
                i += 1
                continue
            run = 1
            while run < MAX_NGRAM and i + run < len(toks) and toks[i + run].joinable and not covered[i + run]:
                run += 1
            hit: _Hit | None = None
            if prefixes is not None:
                key = ""
                for k in range(1, run + 1):  # grow the n-gram while it can still become a key
                    key += texts[i + k - 1]
                    if key not in prefixes:
                        break
                    entry = get(key)
                    if entry is not None:
                        hit = _Hit(i, i + k, entry.canonical, entry.reason, SCORES[entry.reason], entry.text, entry.context_only)
            else:
                for k in range(run, 0, -1):  # longest first
                    entry = get("".join(texts[i:i + k]))
                    if entry is not None:
                        hit = _Hit(i, i + k, entry.canonical, entry.reason, SCORES[entry.reason], entry.text, entry.context_only)
                        break
            if hit is None:
                hit = self._leet_hit(toks[i].text, i)
            if hit is not None:
                hits.append(hit)
                for j in range(hit.start, hit.end):
                    covered[j] = True
                i = hit.end
            else:
                i += 1
        return _Prepared(text, norm, offsets, toks, hits, self._fuzzy_queries(toks, covered))

    def _cas_hits(self, norm: str, toks: list[Atom]) -> list[_Hit]:
        """A CAS number in the text names its substance (chemical B2B listings quote them)."""
        hits = []
        for m in CAS_IN_TEXT.finditer(norm):
            canonical = self.by_cas.get(m.group())
            if canonical is None:
                continue
            idx = [k for k, a in enumerate(toks) if a.start >= m.start() and a.end <= m.end()]
            if idx:
                hits.append(_Hit(idx[0], idx[-1] + 1, canonical, "cas", 1.0, m.group()))
        return hits

    def _leet_hit(self, token: str, i: int) -> _Hit | None:
        if not _leetable(token):
            return None
        folded = leet_fold(token)
        if not folded.isalpha():
            return None
        entry = self.lists.names.get(folded)
        if entry is None:
            return None
        return _Hit(i, i + 1, entry.canonical, entry.reason, SCORES[entry.reason] - LEET_PENALTY, entry.text, entry.context_only)

    # -- stage 2: fuzzy candidates -------------------------------------------------
    def _fuzzy_queries(self, toks: list[Atom], covered: list[bool]) -> list[tuple[int, int, str]]:
        words = [_fuzzy_word(t.text) for t in toks]  # (letters-only form or None, is English)
        queries = []
        for i in range(len(toks)):
            for k in range(1, fuzzy.MAX_QUERY_ATOMS + 1):
                j = i + k
                if j > len(toks) or covered[j - 1] or words[j - 1][0] is None or (k > 1 and not toks[j - 1].joinable):
                    break
                parts = words[i:j]
                letters = [w for w, _ in parts if w is not None]  # all of them: the loop stops at the first None
                if sum(map(len, letters)) < fuzzy.MIN_LEN or all(english for _, english in parts):
                    continue
                queries.append((i, j, fuzzy.fuzzy_string(letters)))
        return queries

    # -- stage 3: decide and assemble ------------------------------------------------
    def finish(self, prep: _Prepared, decisions: dict[str, tuple[str, float, str] | None]) -> list[SubstanceMatch]:
        fuzzy_hits = []
        for start, end, query in prep.queries:
            decision = decisions.get(query)
            if decision is not None:
                canonical, score, name = decision
                fuzzy_hits.append(_Hit(start, end, canonical, "fuzzy", round(score / 100.0, 4), name))
        # best fuzzy hits first; an n-gram overlapping a better one is dropped
        fuzzy_hits.sort(key=lambda h: (-h.score, h.start, h.end - h.start))
        taken: list[_Hit] = []
        for hit in fuzzy_hits:
            if all(hit.end <= t.start or hit.start >= t.end for t in taken):
                taken.append(hit)
        hits = sorted(prep.hits + taken, key=lambda h: h.start)
        hits = self._apply_context_rule(prep, hits)
        return self._one_per_substance(prep, hits)

    def _apply_context_rule(self, prep: _Prepared, hits: list[_Hit]) -> list[_Hit]:
        solid = [h for h in hits if not h.context_only]
        if len(solid) == len(hits):
            return hits
        texts = [a.text for a in prep.atoms]
        context = has_drug_context(prep.norm, texts, bool(solid))
        solid_spans = [(h.start, h.end) for h in solid]
        kept = []
        for hit in hits:
            if hit.context_only:
                if not context or blocked_by_neighbours(texts, hit.start, hit.end):
                    continue
                if is_form_of_neighbour(texts, hit.start, hit.end, solid_spans):
                    continue
                if not solid and not next_to_offer(texts, hit.start, hit.end):
                    continue
                hit.score = min(hit.score, CONTEXT_SCORE)
            kept.append(hit)
        return kept

    def _one_per_substance(self, prep: _Prepared, hits: list[_Hit]) -> list[SubstanceMatch]:
        seen: dict[str, SubstanceMatch] = {}
        for hit in hits:
            if hit.canonical in seen:
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
            )
        return list(seen.values())

    def match_many(self, texts: list[str], scorer: str = "cdist") -> list[list[SubstanceMatch]]:
        # re-crawls repeat titles: each distinct text is prepared once
        prepared = {t: self.prepare(t) for t in dict.fromkeys(texts)}
        unique = sorted({q for p in prepared.values() for _, _, q in p.queries})
        decisions = fuzzy.SCORERS[scorer](unique, self.choices) if unique else {}
        finished = {t: self.finish(p, decisions) for t, p in prepared.items()}
        out: list[list[SubstanceMatch]] = []
        seen: set[str] = set()
        for text in texts:  # duplicates get their own copies: callers may mutate results
            out.append(copy.deepcopy(finished[text]) if text in seen else finished[text])
            seen.add(text)
        return out


@lru_cache(maxsize=131072)
def _fuzzy_word(token: str) -> tuple[str | None, bool]:
    """A token's letters-only form for fuzzy matching (leetspeak folded) and whether it
    is an English word; (None, False) when it cannot be part of a fuzzy query."""
    text = leet_fold(token) if not token.isalpha() and _leetable(token) else token
    if not (text.isalpha() and text.isascii()):
        return None, False
    return text, text in fuzzy.english_words()


def _leetable(token: str) -> bool:
    """Mixed letters/digits that could be leetspeak ("c0caine"), not a quantity ("5g")."""
    letters = sum(c.isalpha() for c in token)
    return len(token) >= 4 and letters >= 2 and letters < len(token)


def get_matcher(lists: ReferenceLists | None = None) -> Matcher:
    lists = lists or default_lists()
    if lists._matcher is None:
        lists._matcher = Matcher(lists)
    return lists._matcher


def match(text: str, *, lists: ReferenceLists | None = None) -> list[SubstanceMatch]:
    """Every substance mentioned in `text`, one match each, in order of appearance."""
    return get_matcher(lists).match_many([text])[0]


def match_batch(texts: list[str], *, lists: ReferenceLists | None = None) -> list[list[SubstanceMatch]]:
    """Same results as calling match() on each text; the fuzzy stage runs once (cdist)."""
    return get_matcher(lists).match_many(list(texts))


def match_reference(texts: list[str], *, lists: ReferenceLists | None = None) -> list[list[SubstanceMatch]]:
    """Plain-loop reference implementation (fuzz.ratio in Python loops), for tests."""
    return get_matcher(lists).match_many(list(texts), scorer="plain")
