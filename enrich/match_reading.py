"""A text read up to the matcher's exact stage (`Reading`), and lines read apart joined into
the reading of their text joined with newlines, so a listing's title, category and
description are read once and not again for the early-warning pass over all three.

Why joining is exact: a newline is a break character (enrich.normalize._BREAK_CHARS), so
no atom joins across it: no exact, CAS, shared-suffix or fuzzy n-gram, no analogue
modifier (a modifier's gap must be "-", "" or " ") and no designer-drug token
(enrich.analogue tokens are [a-z0-9-] runs whose look-behind is one character, and a
newline passes it as the start of a text does). Normalisation folds one character at a
time. The one reading that spans a newline is a word spelled out in single letters
("m d\nm a": letters one character apart), so lines that end and begin with a single
letter are not joined (`join_readings` returns None and the caller reads the joined text).
What does depend on the whole text is the order of hits (CAS hits first, then word hits,
then the codes sharing a family suffix), kept here as prepare() would make it.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import TypeVar

from enrich.match_types import Hit
from enrich.normalize import Atom

SEPARATOR = "\n"
_ENDS_WITH_LETTER_ATOM = re.compile(r"(?:^|[\W_])[^\W\d_]\Z")
_STARTS_WITH_LETTER_ATOM = re.compile(r"[^\W\d_](?:[\W_]|\Z)")


@dataclass
class Reading:
    """prepare()'s work before the analogue-candidate step (which removes hits): kept
    untouched, so it can be finished more than once and joined with other readings."""

    text: str
    norm: str
    offsets: list[int] | None
    atoms: list[Atom]
    cas_hits: list[Hit]
    word_hits: list[Hit]  # exact, transposed-code and leetspeak hits, in text order
    suffix_hits: list[list[Hit]]  # per hit of cas_hits + word_hits: codes sharing its family suffix
    queries: list[tuple[int, int, str]]  # (first atom, end atom, fuzzy string)
    spans: list[tuple[int, int, str, str]]  # enrich.analogue.candidate_spans(norm)


def join_readings(parts: list[Reading]) -> Reading | None:
    """The reading of SEPARATOR.join(part texts), the same as reading that text; None when
    a word spelled out in single letters could run across a newline."""
    if crosses_lines(parts):
        return None
    offsets: list[int] | None = None if all(p.offsets is None for p in parts) else []
    atoms: list[Atom] = []
    cas_hits: list[Hit] = []
    word_hits: list[Hit] = []
    cas_suffix: list[list[Hit]] = []
    word_suffix: list[list[Hit]] = []
    queries: list[tuple[int, int, str]] = []
    spans: list[tuple[int, int, str, str]] = []
    text_base = norm_base = atom_base = 0
    for part in parts:
        if offsets is not None:
            if part.offsets is None:
                offsets.extend(range(text_base, text_base + len(part.norm)))
            else:
                offsets.extend(text_base + k for k in part.offsets)
            offsets.append(text_base + len(part.text))  # the separator itself
        atoms.extend([Atom(t, start + norm_base, end + norm_base, joinable) for t, start, end, joinable in part.atoms])
        cas_hits.extend(_moved(h, atom_base) for h in part.cas_hits)
        word_hits.extend(_moved(h, atom_base) for h in part.word_hits)
        split = len(part.cas_hits)
        cas_suffix.extend([_moved(h, atom_base) for h in extra] for extra in part.suffix_hits[:split])
        word_suffix.extend([_moved(h, atom_base) for h in extra] for extra in part.suffix_hits[split:])
        queries.extend((s + atom_base, e + atom_base, q) for s, e, q in part.queries)
        spans.extend((s + norm_base, e + norm_base, token, pattern) for s, e, token, pattern in part.spans)
        text_base += len(part.text) + len(SEPARATOR)
        norm_base += len(part.norm) + len(SEPARATOR)
        atom_base += len(part.atoms)
    if offsets is not None:
        offsets.pop()  # no separator after the last part
    return Reading(SEPARATOR.join(p.text for p in parts), SEPARATOR.join(p.norm for p in parts), offsets, atoms,
                   cas_hits, word_hits, cas_suffix + word_suffix, queries, spans)


def crosses_lines(parts: list[Reading]) -> bool:
    """A line ends and the next begins with a single letter: a word spelled out in single
    letters ("m d\\nm a", enrich.normalize._collapse_spelled_out) may run across the newline."""
    return any(_ENDS_WITH_LETTER_ATOM.search(before.norm) is not None
               and _STARTS_WITH_LETTER_ATOM.match(after.norm) is not None
               for before, after in pairwise(parts))


def _moved(hit: Hit, atoms_before: int) -> Hit:
    return replace(hit, start=hit.start + atoms_before, end=hit.end + atoms_before)


Decision = tuple[str, float, str] | None
_MISSING = object()
_K = TypeVar("_K")
_V = TypeVar("_V")


class BoundedCache(dict[_K, _V]):
    """A dict that forgets its oldest entries beyond `size` (insertion order: re-crawls and
    vendors repeat the same texts within a run, so the newest entries are the useful ones)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.lock = threading.Lock()  # web/API threads share one matcher

    def put_all(self, values: dict[_K, _V]) -> None:
        with self.lock:
            self.update(values)
            while len(self) > self.size:
                del self[next(iter(self))]


def cached_decisions(cache: BoundedCache[str, Decision], queries: Iterable[str],
                     score: Callable[[list[str]], dict[str, Decision]]) -> dict[str, Decision]:
    """Fuzzy decisions for `queries`: from the cache, and `score`d for those not in it. A
    decision depends on its query alone (enrich.fuzzy.decide), never on the batch."""
    wanted = set(queries)
    found: dict[str, Decision] = {}
    for query in wanted:
        decision = cache.get(query, _MISSING)  # one lookup: another thread may evict meanwhile
        if decision is not _MISSING:
            found[query] = decision  # type: ignore[assignment]
    missing = sorted(wanted.difference(found))
    if missing:
        scored = score(missing)
        cache.put_all(scored)
        found.update(scored)
    return found
