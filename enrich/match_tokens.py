"""Token-level helpers of the matcher: colour neighbours, transposed-letter codes, the
letters-only and leetspeak forms of a token (cached: every token of every title asks)."""
from __future__ import annotations

from functools import lru_cache

from enrich import fuzzy
from enrich.lists import NameEntry, ReferenceLists
from enrich.match_types import Hit
from enrich.normalize import atoms, leet_fold, normalise_with_offsets

COLOURS = {"grey", "gray", "white", "yellow", "pink", "blue", "green", "red", "orange", "purple", "black", "beige",
           "brown", "golden", "gold", "silver"}


def next_to_colour(texts: list[str], hit: Hit) -> bool:
    prev = texts[hit.start - 1] if hit.start else ""
    nxt = texts[hit.end] if hit.end < len(texts) else ""
    return prev in COLOURS or nxt in COLOURS


def transposed_codes(lists: ReferenceLists) -> dict[str, NameEntry]:
    """Codes with digits, 6+ characters, with two adjacent LETTERS swapped ("25inbmoe" ->
    25I-NBOMe). Digits never move (3-MMC / 4-MMC), and a variant that is a name itself or
    comes from two substances is dropped."""
    found: dict[str, NameEntry | None] = {}
    for key, entry in lists.names.items():
        if len(key) < 6 or key.isalpha() or entry.context_only:
            continue
        for j in range(len(key) - 1):
            a, b = key[j], key[j + 1]
            if a == b or not (a.isalpha() and b.isalpha()):
                continue
            variant = key[:j] + b + a + key[j + 2:]
            if variant in lists.names:
                continue
            known = found.get(variant, entry)
            found[variant] = entry if known is not None and known.canonical == entry.canonical else None
    return {v: e for v, e in found.items() if e is not None}


def atom_texts(text: str) -> list[str]:
    return [a.text for a in atoms(normalise_with_offsets(text)[0])]


def other_names(canonical: str, names: dict[str, list[str]]) -> tuple[str, ...]:
    out: dict[str, None] = {}
    for field_name in ("synonyms", "abbreviations", "street_names", "context_names", "descriptor_names"):
        for name in names.get(field_name, []):
            if name != canonical:
                out.setdefault(name, None)
    return tuple(out)


@lru_cache(maxsize=131072)
def fuzzy_word(token: str) -> tuple[str | None, bool]:
    """A token's letters-only form for fuzzy matching (leetspeak folded) and whether it
    is an English word; (None, False) when it cannot be part of a fuzzy query."""
    text = leet_fold(token) if not token.isalpha() and leetable(token) else token
    if not (text.isalpha() and text.isascii()):
        return None, False
    return text, text in fuzzy.english_words()


@lru_cache(maxsize=131072)
def leet_folded(token: str) -> str | None:
    """The leetspeak-folded form of a token when it is all letters then, else None
    (cached: every untouched token of every title asks)."""
    if not leetable(token):
        return None
    folded = leet_fold(token)
    return folded if folded.isalpha() else None


def leetable(token: str) -> bool:
    """Mixed letters/digits that could be leetspeak ("c0caine"), not a quantity ("5g")."""
    letters = sum(c.isalpha() for c in token)
    return len(token) >= 4 and letters >= 2 and letters < len(token)
