"""The query-time substance vocabulary (core.vocabulary.Vocabulary), generated from the reference lists.

Every name in the lists becomes an alias of its canonical name. Search groups (free-text
expansion, Elasticsearch synonyms) take only the names that cannot be ordinary words: the
canonical name, `synonyms` and `abbreviations`, minus context-only and descriptor names and
keys under three characters, at most MAX_GROUP_NAMES per substance. Street names ("speed",
"ice", strain names) still resolve a substance filter through the aliases, but do not widen
a text search, where they would match unrelated words.
"""
from __future__ import annotations

import os
import re

from core.errors import TrawlError
from core.vocabulary import Vocabulary, name_key
from enrich.lists import ENV_VAR, ReferenceLists, default_lists
from enrich.normalize import name_key as list_key

_WORD_RE = re.compile(r"[^\W_]+")
MAX_GROUP_NAMES = 16  # per substance: each name is one more OR-ed phrase in a text query
SEARCH_FIELDS = ("abbreviations", "synonyms")  # abbreviations first: few, short and much typed


def build_vocabulary(lists: ReferenceLists | None = None) -> Vocabulary:
    """The vocabulary of `lists` (default: the shipped lists plus $TRAWL_CONTROL_LISTS)."""
    lists = lists or default_lists()
    groups: dict[str, list[str]] = {}
    for canonical, substance in lists.substances.items():
        members = [canonical]
        seen = {_spelling(canonical)}
        for field_name in SEARCH_FIELDS:
            for text in substance.names.get(field_name, []):
                entry = lists.names.get(list_key(text))
                spelling = _spelling(text)
                if entry is None or entry.canonical != canonical or entry.context_only or entry.descriptor:
                    continue  # skipped by the loader (key of another substance) or an ordinary word
                if len(name_key(text)) < 3 or spelling in seen or len(members) >= MAX_GROUP_NAMES:
                    continue
                seen.add(spelling)
                members.append(text)
        groups[canonical] = members
    aliases = {name_key(e.text): e.canonical for e in lists.names.values()}
    sources = [{"source": i.source, "instrument": i.instrument, "version": i.version, "as_of": i.as_of,
                "entries": i.entries} for i in lists.lists]
    return Vocabulary.from_groups(groups, aliases, sources)


def _spelling(text: str) -> tuple[str, ...]:
    """The words of a name as a search tokenises them: "M-Cat" and "m cat" are one spelling, "mcat" another."""
    return tuple(_WORD_RE.findall(text.lower()))


_DEFAULT: dict[str, Vocabulary] = {}


def default_vocabulary() -> Vocabulary:
    """Cached vocabulary of the default lists; never raises: broken lists give an empty
    vocabulary whose `problem` says why (searches still run, without synonyms)."""
    key = os.environ.get(ENV_VAR, "")
    if key not in _DEFAULT:
        try:
            _DEFAULT[key] = build_vocabulary()
        except TrawlError as exc:
            return Vocabulary.empty(str(exc).splitlines()[0][:200])
    return _DEFAULT[key]
