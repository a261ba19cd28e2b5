"""Full-text query parsing and substance synonyms, shared by both backends.

Both backends tokenise the same way (runs of letters/digits, lower-cased,
diacritics folded: FTS5 ``unicode61 remove_diacritics 2`` and an ES pattern
tokenizer + asciifolding), and a query is expanded here, once, into
"every word must match, as a phrase of its tokens, or one of its synonyms".
Doing the expansion in Python rather than in each engine is what keeps
result sets identical.

Synonyms come from the `core.vocabulary.Vocabulary` the backend was opened with
(generated from enrich/'s reference lists by the application); the index holds no
vocabulary of its own.
"""
from __future__ import annotations

import re

from core.vocabulary import Vocabulary

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def has_words(text: str) -> bool:
    """Whether the query text has any searchable word ('"', '*' or '-' alone have none)."""
    return bool(_TOKEN.search(text))


def synonyms(name: str, vocabulary: Vocabulary) -> list[str]:
    """The name, its canonical name and its synonyms, lower-cased (stored listings carry
    canonical names, so a filter on "4-MMC" must also look for "mephedrone")."""
    return vocabulary.synonyms(name)


def parse_text(text: str, vocabulary: Vocabulary) -> list[list[list[str]]]:
    """Query text -> AND of words; each word is an OR of phrases (token lists).

    Multi-word synonyms are only recognised when typed as one word
    ("4-mmc", "meow-meow"), which keeps the expansion simple and identical in both engines."""
    words: list[list[list[str]]] = []
    for word in text.split():
        toks = tokens(word)
        if not toks:
            continue
        alternatives = [toks]
        for name in vocabulary.group(word):
            alt = tokens(name)
            if alt and alt not in alternatives:
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
