"""The matcher's exact stage (enrich.matcher.Matcher inherits it): a text read into atoms,
exact / CAS / transposed-code / leetspeak / shared-suffix hits, the n-grams left for the
fuzzy stage (`Matcher.read` -> enrich.match_reading.Reading), then the analogue candidates
that remove the hits inside them (`Matcher.finish_reading` -> Prepared)."""
from __future__ import annotations

import copy
import re
from collections.abc import Callable

from enrich import fuzzy
from enrich.analogue import candidate_spans, is_prefix_modifier, is_ring_position, is_suffix_modifier
from enrich.lists import NameEntry, ReferenceLists
from enrich.match_reading import Reading
from enrich.match_tokens import fuzzy_word, leet_folded
from enrich.match_types import Hit, Prepared
from enrich.normalize import Atom, atoms, name_key, normalise_with_offsets

_BARE_CODE = re.compile(r"^\d{1,2}[a-z]{1,3}$")  # "25b", "2c"
CAS_IN_TEXT = re.compile(r"(?<![\d-])\d{2,7}-\d{2}-\d(?![\d-])")
MAX_NGRAM = 8  # long systematic names: 'tert-butyl 4-anilinopiperidine-1-carboxylate'
SCORES = {"exact": 1.0, "synonym": 1.0, "abbreviation": 1.0, "street": 0.95}
LEET_PENALTY = 0.05
TRANSPOSED_SCORE = 0.9
# written exactly so, these codes are everyday tokens far more often than drugs ("no 2fa")
COLLIDING_CODES = {"2fa"}


class ExactStage:
    # set by Matcher.__init__
    lists: ReferenceLists
    by_cas: dict[str, str]
    prefixes: set[str]
    transposed: dict[str, NameEntry]
    transposed_starts: set[str]

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
