"""Fuzzy stage: long names only, scored with RapidFuzz, one decision rule for all paths.

Three scorers give the same decisions:
- `score_cdist`: the production fast path, one `process.cdist` over the unique
  queries of a whole batch against precomputed normalised choices;
- `score_extract`: the naive per-query `process.extract` (what the benchmark compares);
- `score_plain`: a plain Python loop over `fuzz.ratio`, the reference for tests.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from enrich.context import DESCRIPTOR_WORDS
from enrich.lists import ReferenceLists
from enrich.normalize import atoms, normalise_with_offsets, skeleton

CUTOFF = 88.0  # best candidate must reach this (fuzz.ratio on spelling skeletons) ...
MARGIN = 3.0  # and beat the best OTHER substance by this much, else it is ambiguous
# ... or be within a few edits of it: fuzz.ratio is 100 * (1 - indel / (len_a + len_b)), and one
# substitution or transposition costs 2 indels. Names up to 7 letters allow one edit, 8 one and a
# half, 9+ two ("herion", "vigara", "suboxen", "alprozelam").
EDITS = ((7, 2), (8, 3))  # (longest skeleton length, indels allowed); longer: 4
LONG_EDITS = 4
FLOOR = 100.0 * (1 - LONG_EDITS / (2 * 9)) - MARGIN  # scores below cannot affect a decision
# family morphemes: a query and a name with different ones are different substances, however
# close ("fluorexetamine" is not "fluoroketamine", "-zolam" is not "-zepam")
# (in skeleton spelling, see normalize.skeleton: x -> ks, z -> s, y -> i)
FAMILIES = ("ksetamine", "ketamine", "solam", "sepam", "nitasene", "nitasepine", "ilone", "edrone",
            "fubinaka", "butinaka", "kminaka", "pinaka", "binaka")
# modifiers in front of a name: "dimethylone" is not "methylone" (dealt with as a prefix, below)
MIN_LEN = 6  # names and queries shorter than this are exact-only
MAX_QUERY_ATOMS = 3
LEN_RATIO = (0.8, 1.25)
CHUNK = 2048  # rows of the cdist matrix computed at once (bounds memory)


@dataclass(frozen=True)
class FuzzyChoice:
    text: str  # skeleton string compared
    canonical: str
    name: str  # the reference name it came from


def fuzzy_string(words: Iterable[str]) -> str:
    """Order-insensitive, spelling-insensitive form: 'hcl cocaine' == 'cocaine hcl'."""
    return _fuzzy_string(tuple(words))


@lru_cache(maxsize=131072)
def _fuzzy_string(words: tuple[str, ...]) -> str:
    return " ".join(sorted(skeleton(w) for w in words))


def build_choices(lists: ReferenceLists) -> list[FuzzyChoice]:
    """Long, digit-free, unambiguous names.  Names with digits (3-MMC, 2C-B,
    3-methylmethcathinone) are positional codes: one character is a different
    substance, so they only ever match exactly."""
    by_text: dict[str, set[str]] = {}
    origin: dict[str, str] = {}
    for entry in lists.names.values():
        if entry.context_only or len(entry.key) < MIN_LEN or not entry.key.isalpha():
            continue
        norm, _ = normalise_with_offsets(entry.text)
        parts = [a.text for a in atoms(norm)]
        if len(parts) > 1 and any(len(p) <= 3 for p in parts):
            continue  # a code in letters ("AB-PINACA", "alpha-PVP"): "ADB-PINACA" is another substance
        if len(parts) > 1 and any(p in DESCRIPTOR_WORDS for p in parts):
            continue  # "meth crystals": "made crystals" is close, but only in its form word
        text = fuzzy_string(parts)
        by_text.setdefault(text, set()).add(entry.canonical)
        origin.setdefault(text, entry.text)
    # a skeleton shared by two substances cannot tell them apart: exact-only
    return [FuzzyChoice(t, next(iter(c)), origin[t]) for t, c in sorted(by_text.items()) if len(c) == 1]


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Dictionary words never fuzzy-match: 'heroine', 'methane', 'ketone' are words."""
    from english_words import get_english_words_set

    return frozenset(get_english_words_set(["web2", "gcide"], lower=True, alpha=True))


def cutoff(query: str, name: str) -> float:
    """Lowest accepted score for this pair: CUTOFF, or the score of a few edits on long names."""
    longest = max(len(query), len(name))
    indels = next((n for limit, n in EDITS if longest <= limit), LONG_EDITS)
    return min(CUTOFF, round(100.0 * (1 - indels / (len(query) + len(name))), 4) - 1e-6)


def _family(text: str) -> str | None:
    return next((f for f in FAMILIES if f in text), None)


def analogue_of(query: str, name: str) -> bool:
    """The query is the name with a modifier in front ("dimetilone" / "metilone") or of another
    family ("fluoreksetamine" / "fluoroketamine"): a different substance, not a misspelling."""
    q, n = query.replace(" ", ""), name.replace(" ", "")
    if len(q) - len(n) >= 2 and (q.endswith(n) or q.startswith(n)):
        return True
    fq, fn = _family(q), _family(n)
    return fq is not None and fn is not None and fq != fn


def decide(query: str, scored: Iterable[tuple[int, float]], choices: list[FuzzyChoice]) -> tuple[str, float, str] | None:
    """(canonical, score, name) when one substance clearly wins, else None."""
    best: dict[str, tuple[float, str, str]] = {}
    for idx, score in scored:
        choice = choices[idx]
        score = round(float(score), 4)
        if score < FLOOR or choice.text[0] != query[0]:
            continue
        ratio = len(query) / len(choice.text)
        if not LEN_RATIO[0] <= ratio <= LEN_RATIO[1]:
            continue
        if score > best.get(choice.canonical, (-1.0, "", ""))[0]:
            best[choice.canonical] = (score, choice.name, choice.text)
    if not best:
        return None
    ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))
    canonical, (score, name, text) = ranked[0]
    if score < cutoff(query, text) or analogue_of(query, text):
        return None
    # below CUTOFF only real edits count (a transposition is one): one on names up to 8 letters, two on longer
    if score < CUTOFF and OSA.distance(query, text) > (1 if max(len(query), len(text)) <= 8 else 2):
        return None
    if len(ranked) > 1 and score - ranked[1][1][0] < MARGIN:
        return None
    return canonical, score, name


def score_cdist(queries: list[str], choices: list[FuzzyChoice]) -> dict[str, tuple[str, float, str] | None]:
    import numpy as np

    # decide() only keeps choices with the query's first letter, so compare within
    # first-letter groups: same decisions, a fraction of the matrix
    by_letter: dict[str, list[int]] = {}
    for idx, choice in enumerate(choices):
        by_letter.setdefault(choice.text[0], []).append(idx)
    grouped: dict[str, list[str]] = {}
    for query in queries:
        grouped.setdefault(query[0], []).append(query)
    decisions: dict[str, tuple[str, float, str] | None] = {}
    for letter, group in grouped.items():
        indices = by_letter.get(letter, [])
        if not indices:
            decisions.update((q, None) for q in group)
            continue
        texts = [choices[i].text for i in indices]
        for lo in range(0, len(group), CHUNK):
            chunk = group[lo:lo + CHUNK]
            matrix = process.cdist(chunk, texts, scorer=fuzz.ratio, score_cutoff=FLOOR, dtype=np.float64, workers=1)
            for row_idx, query in enumerate(chunk):
                row = matrix[row_idx]
                decisions[query] = decide(query, ((indices[int(i)], row[i]) for i in np.flatnonzero(row)), choices)
    return decisions


def score_extract(queries: list[str], choices: list[FuzzyChoice]) -> dict[str, tuple[str, float, str] | None]:
    texts = [c.text for c in choices]
    decisions: dict[str, tuple[str, float, str] | None] = {}
    for query in queries:
        found = process.extract(query, texts, scorer=fuzz.ratio, score_cutoff=FLOOR, limit=None)
        decisions[query] = decide(query, ((idx, score) for _, score, idx in found), choices)
    return decisions


def score_plain(queries: list[str], choices: list[FuzzyChoice]) -> dict[str, tuple[str, float, str] | None]:
    decisions: dict[str, tuple[str, float, str] | None] = {}
    for query in queries:
        scored = [(i, fuzz.ratio(query, c.text)) for i, c in enumerate(choices)]
        decisions[query] = decide(query, scored, choices)
    return decisions


SCORERS = {"cdist": score_cdist, "extract": score_extract, "plain": score_plain}
