"""Full-text query parsing and substance synonyms, shared by both backends.

Both backends tokenise the same way (runs of letters/digits, lower-cased,
diacritics folded: FTS5 ``unicode61 remove_diacritics 2`` and an ES pattern
tokenizer + asciifolding), and a query is expanded here, once, into
"every word must match, as a phrase of its tokens, or one of its synonyms".
Doing the expansion in Python rather than in each engine is what keeps
result sets identical.
"""
from __future__ import annotations

import re
from functools import lru_cache

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)

# Street names and abbreviations of common substances (groups are symmetric).
# Kept small and obvious on purpose: enrich/ owns the reference lists, and
# these only exist so a search for "mcat" finds "mephedrone" in both backends.
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("mephedrone", "4-mmc", "4-methylmethcathinone", "mcat", "meow meow"),
    ("3-methylmethcathinone", "3-mmc", "metaphedrone"),
    ("mdma", "ecstasy", "molly", "3,4-methylenedioxymethamphetamine"),
    ("cocaine", "coke", "charlie"),
    ("amphetamine", "speed"),
    ("methamphetamine", "meth", "crystal meth", "ice"),
    ("cannabis", "marijuana", "weed"),
    ("ketamine", "ket", "special k"),
    ("lsd", "lysergide", "acid"),
    ("heroin", "diamorphine", "smack"),
    ("alprazolam", "xanax"),
    ("diazepam", "valium"),
    ("oxycodone", "oxycontin"),
    ("gamma-hydroxybutyrate", "ghb"),
    ("alpha-pvp", "a-pvp", "flakka"),
)


def tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def _key(text: str) -> str:
    return " ".join(tokens(text))


_SYNONYMS: dict[str, tuple[str, ...]] = {}
for _group in SYNONYM_GROUPS:
    for _name in _group:
        _SYNONYMS[_key(_name)] = _group


def synonyms(name: str) -> list[str]:
    """The name, its synonyms and its canonical name per the reference lists, lower-cased.

    Stored listings carry canonical names (enrich.match resolved them), so a filter on
    "4-MMC" must become "mephedrone"; enrich/ knows far more names than SYNONYM_GROUPS."""
    group = _SYNONYMS.get(_key(name))
    names = [name.strip().lower()]
    if group:
        names += [g for g in group if g != names[0]]
    canonical = _canonical_from_reference_lists(name)
    if canonical and canonical not in names:
        names.append(canonical)
    return names


@lru_cache(maxsize=1024)
def _canonical_from_reference_lists(name: str) -> str | None:
    try:
        from enrich.lists import default_lists
        from enrich.normalize import name_key

        entry = default_lists().names.get(name_key(name))
    except Exception:  # noqa: BLE001 - enrich/ missing or its lists broken: fall back to our own groups
        return None
    return entry.canonical.lower() if entry else None


def parse_text(text: str) -> list[list[list[str]]]:
    """Query text -> AND of words; each word is an OR of phrases (token lists).

    Multi-word synonyms are only recognised when typed as one word
    ("4-mmc"), which keeps the expansion simple and identical in both engines."""
    words: list[list[list[str]]] = []
    for word in text.split():
        toks = tokens(word)
        if not toks:
            continue
        group = _SYNONYMS.get(" ".join(toks))
        alternatives = [toks]
        if group:
            for name in group:
                alt = tokens(name)
                if alt not in alternatives:
                    alternatives.append(alt)
        words.append(alternatives)
    return words


def fts5_match(words: list[list[list[str]]]) -> str:
    """FTS5 MATCH expression; tokens are alphanumeric only, so quoting is safe."""
    parts = []
    for alternatives in words:
        phrases = ['"' + " ".join(alt) + '"' for alt in alternatives]
        parts.append(phrases[0] if len(phrases) == 1 else "(" + " OR ".join(phrases) + ")")
    return " AND ".join(parts)
