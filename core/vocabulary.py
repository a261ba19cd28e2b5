"""The substance vocabulary used at query time: which names mean the same substance.

One vocabulary, generated from the reference lists in enrich/data by
`enrich.vocabulary.build_vocabulary()` and passed to the index (`open_index(...,
vocabulary=...)`): the index never reads the lists itself. Two views of it:

- `aliases`: every known name (street names included) -> canonical name. A substance filter
  resolves through it, because stored listings carry canonical names.
- `groups`: canonical name -> the names a free-text search expands to (canonical first). Only
  unambiguous names are in a group (no ordinary words like "speed" or "ice"), and groups are
  small, because every name becomes one more phrase in the query (and one more synonym in
  the Elasticsearch analyzer).
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from core.text import fold_unicode

# click `Context.meta` key under which the application puts a zero-argument callable that
# returns the Vocabulary (index/cli.py reads it; trawl/cli.py sets it)
VOCABULARY_META = "trawl.vocabulary"
# click context meta key: the words of the command line as given (the export sidecar records them)
COMMAND_LINE_META = "trawl.command_line"

# Greek letters spelled out as chemical names write them ("α-PVP" == "alpha-PVP")
_GREEK = str.maketrans({"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "Δ": "delta", "ω": "omega"})
_ALNUM_RE = re.compile(r"[^\W_]+")


def name_key(name: str) -> str:
    """Lookup key of a substance name: folded, lower-cased, accents and separators dropped.

    >>> name_key("3-MMC") == name_key("3 mmc") == "3mmc"
    True
    >>> name_key("α-PVP"), name_key("Cocaína"), name_key("ｍｅｐｈ\\u200bedrone")
    ('alphapvp', 'cocaina', 'mephedrone')
    """
    text = fold_unicode(name.translate(_GREEK)).lower()
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return "".join(_ALNUM_RE.findall(text))


@dataclass(frozen=True)
class Vocabulary:
    """Substance names for search; build with `from_groups` (or `empty`)."""

    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # canonical -> search names
    aliases: Mapping[str, str] = field(default_factory=dict)  # name_key -> canonical
    # where the names came from (list file, version, as_of...), recorded in export sidecars
    sources: tuple[Mapping[str, Any], ...] = ()
    problem: str = ""  # why the vocabulary is empty, e.g. the reference lists failed to load
    _group_of: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)  # name_key -> canonical

    @classmethod
    def from_groups(cls, groups: Mapping[str, Iterable[str]], aliases: Mapping[str, str] | None = None,
                    sources: Iterable[Mapping[str, Any]] = ()) -> Vocabulary:
        """A vocabulary from canonical -> names; every group name is also an alias.

        >>> v = Vocabulary.from_groups({"mephedrone": ["4-MMC", "mcat"]}, {"meowmeow": "mephedrone"})
        >>> v.canonical("4 mmc"), v.canonical("Meow-Meow"), v.canonical("sugar")
        ('mephedrone', 'mephedrone', None)
        >>> v.group("MCAT")
        ('mephedrone', '4-MMC', 'mcat')
        >>> v.synonyms("4-mmc")
        ['4-mmc', 'mephedrone', 'mcat']
        """
        frozen: dict[str, tuple[str, ...]] = {}
        group_of: dict[str, str] = {}
        all_aliases: dict[str, str] = {}
        for canonical, names in groups.items():
            members: list[str] = []
            for name in (canonical, *names):
                key = name_key(name)
                if not key or group_of.setdefault(key, canonical) != canonical:
                    continue  # a name can sit in one group only; the first claim wins
                if name.lower() not in (m.lower() for m in members):
                    members.append(name)  # spellings of one key stay: "m-cat" and "mcat" tokenise apart
            frozen[canonical] = tuple(members)
            for name in members:
                all_aliases.setdefault(name_key(name), canonical)
        for key, canonical in (aliases or {}).items():
            all_aliases.setdefault(key, canonical)
        return cls(groups=frozen, aliases=all_aliases, sources=tuple(sources), _group_of=group_of)

    @classmethod
    def empty(cls, problem: str = "") -> Vocabulary:
        """No synonyms: a search matches names only as typed."""
        return cls(problem=problem)

    def canonical(self, name: str) -> str | None:
        """The canonical name `name` stands for, or None if the vocabulary does not know it."""
        return self.aliases.get(name_key(name))

    def group(self, name: str) -> tuple[str, ...]:
        """The search names of the group `name` belongs to (canonical first); () if none."""
        canonical = self._group_of.get(name_key(name))
        return self.groups[canonical] if canonical is not None else ()

    def synonyms(self, name: str) -> list[str]:
        """Lower-cased: the name as given, its canonical name, then the rest of its group."""
        names = [name.strip().lower()]
        canonical = self.canonical(name)
        for other in ([canonical] if canonical else []) + list(self.group(name)):
            if other.lower() not in names:
                names.append(other.lower())
        return names

    @property
    def digest(self) -> str:
        """Short content hash: tells two vocabularies (e.g. in index metadata) apart."""
        h = hashlib.sha256()
        for canonical in sorted(self.groups):
            h.update("\x1f".join(self.groups[canonical]).encode() + b"\x1e")
        for key in sorted(self.aliases):
            h.update(f"{key}\x1f{self.aliases[key]}\x1e".encode())
        return h.hexdigest()[:16]

    def provenance(self) -> Any:
        """The sources, or "unavailable: why" when the vocabulary could not be built."""
        if self.problem:
            return f"unavailable: {self.problem}"
        return [dict(s) for s in self.sources]


class LazyVocabulary(Vocabulary):
    """A vocabulary built on first use: a command that never names a substance (a search by
    site, an index flush) does not pay the second it takes to load the reference lists.

    >>> calls = []
    >>> lazy = LazyVocabulary(lambda: calls.append(1) or Vocabulary.from_groups({"mephedrone": ["4-MMC"]}))
    >>> calls
    []
    >>> lazy.canonical("4-mmc"), calls
    ('mephedrone', [1])
    >>> lazy.group("4-MMC"), calls
    (('mephedrone', '4-MMC'), [1])
    """

    def __init__(self, build: Callable[[], Vocabulary]) -> None:  # the fields come from build()
        object.__setattr__(self, "_build", build)
        object.__setattr__(self, "_built", None)

    def built(self) -> Vocabulary:
        built = object.__getattribute__(self, "_built")
        if built is None:
            built = object.__getattribute__(self, "_build")()
            object.__setattr__(self, "_built", built)
        return cast(Vocabulary, built)

    @property
    def groups(self) -> Mapping[str, tuple[str, ...]]:
        return self.built().groups

    @property
    def aliases(self) -> Mapping[str, str]:
        return self.built().aliases

    @property
    def sources(self) -> tuple[Mapping[str, Any], ...]:
        return self.built().sources

    @property
    def problem(self) -> str:
        return self.built().problem

    @property
    def _group_of(self) -> Mapping[str, str]:
        return self.built()._group_of
