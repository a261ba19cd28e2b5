"""Substance matching: one function for the pipeline, the CLI and the API.

Stages per text: normalise (offsets kept) -> atoms -> exact lookup of 1-5 atom
n-grams, longest first (every name, code and synonym; separators ignored so
"3 MMC" == "3-MMC" == "3mmc") -> leetspeak retry for mixed letter/digit tokens
-> fuzzy for the remaining long alphabetic n-grams (see enrich.fuzzy) -> the
context rule for ordinary-word street names (see enrich.context) -> analogue tokens
(enrich.analogue: a list hit inside "5F-AB-PINACA" is dropped, the token is an early-warning
candidate) -> form/colour descriptors -> offered or mentioned (enrich.relation) -> one match
per substance.  `match_batch` runs the fuzzy stage once for all texts with cdist.
"""
from __future__ import annotations

import copy
import gc
import re
from collections.abc import Callable

from enrich import fuzzy
from enrich.analogue import candidate_spans, is_prefix_modifier, is_ring_position, is_suffix_modifier
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
from enrich.lists import NameEntry, ReferenceLists, default_lists
from enrich.match_listing import ListingAnalysis
from enrich.match_reading import BoundedCache, Decision, Reading, cached_decisions
from enrich.match_tokens import (
    atom_texts,
    fuzzy_word,
    leet_folded,
    next_to_colour,
    other_names,
    transposed_codes,
)
from enrich.match_types import Analysis, Candidate, Hit, Prepared, SubstanceMatch
from enrich.normalize import Atom, atoms, name_key, normalise_with_offsets
from enrich.refine import CANNABIS_FAMILY, THC, is_potency, refine
from enrich.relation import is_guide, mentioned_flags

_BARE_CODE = re.compile(r"^\d{1,2}[a-z]{1,3}$")  # "25b", "2c"
CAS_IN_TEXT = re.compile(r"(?<![\d-])\d{2,7}-\d{2}-\d(?![\d-])")
MAX_NGRAM = 8  # long systematic names: 'tert-butyl 4-anilinopiperidine-1-carboxylate'
SCORES = {"exact": 1.0, "synonym": 1.0, "abbreviation": 1.0, "street": 0.95}
LEET_PENALTY = 0.05
CONTEXT_SCORE = 0.85
HINT_SCORE = 0.6
TRANSPOSED_SCORE = 0.9
# written exactly so, these codes are everyday tokens far more often than drugs ("no 2fa")
COLLIDING_CODES = {"2fa"}
DECISION_CACHE_SIZE = 200_000  # fuzzy strings are short: some tens of MB at most


class Matcher:
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

    # -- stage 1: exact ----------------------------------------------------------
    def prepare(self, text: str, lookup: Callable[[str], NameEntry | None] | None = None) -> Prepared:
        """Exact stage; `lookup` replaces the dictionary lookup (the naive benchmark path)."""
        return self.finish_reading(self.read(text, lookup))

    def read(self, text: str, lookup: Callable[[str], NameEntry | None] | None = None) -> Reading:
        """prepare() up to the analogue candidates; readings of lines can be joined (enrich.match_reading)."""
        norm, offsets = normalise_with_offsets(text)
        toks = atoms(norm)
        get = lookup or self.lists.names.get
        # prefix pruning is exact (a key can only extend a prefix of a key); the naive
        # path (custom lookup) checks every n-gram instead
        prefixes = None if lookup else self.prefixes
        texts = [t.text for t in toks]
        joinable = [t.joinable for t in toks]
        count = len(toks)
        cas_hits = self._cas_hits(norm, toks) if "-" in norm else []  # a CAS number has two hyphens
        word_hits: list[Hit] = []
        covered = [False] * count
        for cas_hit in cas_hits:
            for j in range(cas_hit.start, cas_hit.end):
                covered[j] = True
        names, transposed_starts = self.lists.names, self.transposed_starts
        i = 0
        while i < count:
            if covered[i]:
                i += 1
                continue
            run = 1
            while run < MAX_NGRAM and i + run < count and joinable[i + run] and not covered[i + run]:
                run += 1
            hit: Hit | None = None
            if prefixes is not None:
                key = ""
                for k in range(1, run + 1):  # grow the n-gram while it can still become a key
                    key += texts[i + k - 1]
                    if key not in prefixes:
                        break
                    entry = get(key)
                    if entry is not None:
                        hit = Hit(i, i + k, entry.canonical, entry.reason, SCORES[entry.reason], entry.text, entry.context_only)
            else:
                for k in range(run, 0, -1):  # longest first
                    entry = get("".join(texts[i:i + k]))
                    if entry is not None:
                        hit = Hit(i, i + k, entry.canonical, entry.reason, SCORES[entry.reason], entry.text, entry.context_only)
                        break
            if hit is None and texts[i] in transposed_starts and not texts[i].isalpha():
                hit = self._transposed_hit(texts, i, run)
            if hit is None:
                folded = leet_folded(texts[i])  # cached; None for plain words and quantities
                if folded is not None and folded in names:
                    hit = self._leet_hit(texts[i], i)
            if hit is not None:
                word_hits.append(hit)
                for j in range(hit.start, hit.end):
                    covered[j] = True
                i = hit.end
            else:
                i += 1
        suffix_hits = self._shared_suffix_hits(norm, texts, toks, cas_hits + word_hits, covered)
        return Reading(text, norm, offsets, toks, cas_hits, word_hits, suffix_hits, self._fuzzy_queries(toks, covered),
                       candidate_spans(norm))

    def finish_reading(self, reading: Reading) -> Prepared:
        """The Prepared of a reading; the reading's hits are copied, never changed."""
        hits = [copy.copy(h) for h in reading.cas_hits] + [copy.copy(h) for h in reading.word_hits]
        hits += [copy.copy(h) for extra in reading.suffix_hits for h in extra]
        candidates = self._candidates(reading.norm, reading.atoms, hits, reading.spans)
        texts = [a.text for a in reading.atoms]
        for hit in hits:
            if hit.reason != "cas" and "".join(texts[hit.start:hit.end]) in COLLIDING_CODES:
                hit.context_only = True
        return Prepared(reading.text, reading.norm, reading.offsets, reading.atoms, hits, reading.queries, candidates)

    def _shared_suffix_hits(self, norm: str, texts: list[str], toks: list[Atom], hits: list[Hit],
                            covered: list[bool]) -> list[list[Hit]]:
        """Codes sharing one family suffix: "25b 25c NBOMe", "25B/25C-NBOMe" name both (per hit)."""
        extras: list[list[Hit]] = []
        for hit in hits:
            extra: list[Hit] = []
            extras.append(extra)
            if hit.end - hit.start < 2 or not _BARE_CODE.match(texts[hit.start]):
                continue
            suffix = "".join(texts[hit.start + 1:hit.end])
            j = hit.start - 1
            while j >= 0 and not covered[j] and _BARE_CODE.match(texts[j]) \
                    and norm[toks[j].end:toks[j + 1].start].strip(" /,&+") == "":
                entry = self.lists.names.get(texts[j] + suffix)
                if entry is None:
                    break
                extra.append(Hit(j, j + 1, entry.canonical, entry.reason, SCORES[entry.reason], entry.text))
                covered[j] = True
                j -= 1
        return extras

    def _candidates(self, norm: str, toks: list[Atom], hits: list[Hit], spans: list[tuple[int, int, str, str]]
                    ) -> list[tuple[int, int, str, str]]:
        """Designer-drug-shaped tokens (enrich.analogue) and list names written with an analogue
        modifier ("3-Cl-PCP", "25B-NBOH"): the exact hits inside them are removed here."""
        found: list[tuple[int, int, str, str]] = []
        if spans:
            starts = {a.start: k for k, a in enumerate(toks)}
            ends = {a.end: k for k, a in enumerate(toks)}
            for start, end, token, pattern in spans:
                if start in starts and end in ends and name_key(token) not in self.lists.names:
                    found.append((starts[start], ends[end] + 1, token, pattern))
        for hit in list(hits):
            if hit.reason == "cas":
                continue
            first, last = hit.start, hit.end
            while first > 0 and is_prefix_modifier(toks[first - 1].text, norm[toks[first - 1].end:toks[first].start]):
                first -= 1
            if first < hit.start and first > 0 and is_ring_position(toks[first - 1].text, toks[first].text,
                                                                   norm[toks[first - 1].end:toks[first].start]):
                first -= 1  # "4 AcO DET": the ring position of a spaced substituent
            while last < len(toks) and is_suffix_modifier(toks[last].text, norm[toks[last - 1].end:toks[last].start]):
                last += 1
            inside = next((c for c in found if c[0] <= first and last <= c[1]), None)
            if (first, last) == (hit.start, hit.end) and inside is None:
                continue
            hits.remove(hit)  # an analogue of the listed name, never the name itself
            if inside is None:
                found.append((first, last, norm[toks[first].start:toks[last - 1].end], "modified-name"))
        return found

    def _cas_hits(self, norm: str, toks: list[Atom]) -> list[Hit]:
        """A CAS number in the text names its substance (chemical B2B listings quote them)."""
        hits = []
        for m in CAS_IN_TEXT.finditer(norm):
            canonical = self.by_cas.get(m.group())
            if canonical is None:
                continue
            idx = [k for k, a in enumerate(toks) if a.start >= m.start() and a.end <= m.end()]
            if idx:
                hits.append(Hit(idx[0], idx[-1] + 1, canonical, "cas", 1.0, m.group()))
        return hits

    def _transposed_hit(self, texts: list[str], i: int, run: int) -> Hit | None:
        """A code with two adjacent letters swapped ("25I-NBMOe"): longest n-gram first."""
        for k in range(run, 0, -1):
            entry = self.transposed.get("".join(texts[i:i + k]))
            if entry is not None:
                return Hit(i, i + k, entry.canonical, "fuzzy", TRANSPOSED_SCORE, entry.text, entry.context_only)
        return None

    def _leet_hit(self, token: str, i: int) -> Hit | None:
        folded = leet_folded(token)
        if folded is None:
            return None
        entry = self.lists.names.get(folded)
        if entry is None:
            return None
        return Hit(i, i + 1, entry.canonical, entry.reason, SCORES[entry.reason] - LEET_PENALTY, entry.text, entry.context_only)

    # -- stage 2: fuzzy candidates -------------------------------------------------
    def _fuzzy_queries(self, toks: list[Atom], covered: list[bool]) -> list[tuple[int, int, str]]:
        words = [fuzzy_word(t.text) for t in toks]  # (letters-only form or None, is English)
        queries = []
        count = len(toks)
        for i in range(count):
            # the n-gram grows one atom at a time: its letters, length and "all English" are
            # carried along instead of recomputed from the slice
            letters: list[str] = []
            total = 0
            all_english = True
            for k in range(1, fuzzy.MAX_QUERY_ATOMS + 1):
                j = i + k
                if j > count or covered[j - 1]:
                    break
                word, english = words[j - 1]
                if word is None or (k > 1 and not toks[j - 1].joinable):
                    break
                letters.append(word)
                total += len(word)
                all_english = all_english and english
                if total < fuzzy.MIN_LEN or all_english:
                    continue
                queries.append((i, j, fuzzy.fuzzy_string(letters)))
        return queries

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
