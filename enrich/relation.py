"""Offered or only mentioned? Negation, comparison and guides around a substance name.

A name is `mentioned` (kept, searchable, not counted as offered) when:

1. a negation or comparison marker stands right before it: "no fent", "non fentanyl",
   "without", "like Xanax", "similar to MDA", "stronger than oxy", "analog of diazepam",
   "isomer of", "simulation of", "alternative to", "natural Viagra", "synthetic cocaine";
2. a marker follows it: "fent free" / "fent-free" (not "MDMA free shipping"), "Molly subs",
   "methylphenidate analogue";
3. the title is a guide, a book or paraphernalia: "how to make", "synthesis", "tutorial",
   "guide", "magazine", "pipe", "test kit" — every name in it is the subject, not the offer.

A marker reaches the names coordinated with the first one ("no meth or fent", "meth and
fent free", "ritalin / methylphenidate analogue", "like Adderall Speed").
"""
from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from enrich.normalize import Atom

NEGATION_BEFORE = {"no", "non", "not", "without", "zero", "nothing", "never", "like", "natural", "unlike", "vs"}
# two-word markers: (first, second) right before the name
PAIRS_BEFORE = {
    ("similar", "to"), ("simulation", "of"), ("analog", "of"), ("analogue", "of"), ("isomer", "of"),
    ("stronger", "than"), ("weaker", "than"), ("better", "than"), ("alternative", "to"), ("substitute", "for"),
    ("instead", "of"), ("replacement", "for"), ("compared", "to"), ("free", "of"), ("free", "from"),
    ("legal", "alternative"), ("replacement", "of"), ("closest", "to"), ("same", "as"), ("version", "of"),
}
# a marker that only makes these substances mentioned ("synthetic cocaine" is not cocaine)
RESTRICTED_BEFORE = {"synthetic": {"cocaine", "heroin", "cannabis"}, "pink": {"cocaine"}, "fake": {"cocaine"}}
AFTER = {"free", "subs", "sub", "substitute", "analog", "analogue", "alternative", "replacement", "replica", "clone"}
# "MDMA FREE shipping": free followed by an offer word is not a negation
FREE_OFFERS = {"shipping", "ship", "delivery", "post", "postage", "sample", "samples", "next", "express", "gift",
               "bonus", "tracking", "tracked", "uk", "eu", "us", "usa", "worldwide", "ww", "with", "for", "reship",
               "test", "tester", "extra", "bag", "bags", "pills", "tabs", "bar", "bars", "1", "2", "3", "5", "10",
               "nd", "ndd", "dispatch", "domestic", "returns", "refill"}
GUIDE_WORDS = {
    "guide", "guides", "tutorial", "tutorials", "book", "books", "ebook", "magazine", "manual", "synthesis",
    "manufacture", "manufacturing", "recipe", "recipes", "course", "pipe", "pipes", "bong", "bongs", "grinder",
    "detox", "handbook", "encyclopedia", "documentary", "poster", "sticker", "stickers", "shirt", "tshirt",
}
GUIDE_PAIRS = {("how", "to"), ("learn", "to"), ("test", "kit"), ("testing", "kit"), ("reagent", "kit"),
               ("drug", "test"), ("grow", "guide"), ("to", "grow"), ("to", "make"), ("to", "cook")}
CONJUNCTIONS = {"and", "or", "nor", "und", "et", "y"}
_JOINING = set(" /,&-")  # a '+', '|', '!', '(' or '.' between two names ends the marker's reach


def _coordinated(gap_atoms: list[str], gap_text: str, side_by_side: bool = True) -> bool:
    """Two names joined by a conjunction, a slash, '&' or a comma, or (forward only) written side
    by side: "like Adderall Speed", but "Oxycodone M30 fent-free" offers the oxycodone."""
    marks = {c for c in gap_text if not c.isalnum()}
    if not gap_atoms:
        return marks <= _JOINING and (side_by_side or bool(marks - {" "}))
    return len(gap_atoms) == 1 and gap_atoms[0] in CONJUNCTIONS and marks <= _JOINING


def is_guide(atom_texts: list[str]) -> bool:
    if not GUIDE_WORDS.isdisjoint(atom_texts):
        return True
    return any(pair in GUIDE_PAIRS for pair in pairwise(atom_texts))


def mentioned_flags(atom_texts: list[str], norm: str, atoms: Sequence[Atom], spans: list[tuple[int, int]],
                    canonicals: list[str]) -> list[bool]:
    """For each hit (atom span, sorted by start), True when it is only mentioned."""

    def between(end: int, start: int) -> tuple[list[str], str]:  # words and text between two hits
        return atom_texts[end:start], norm[atoms[end - 1].end:atoms[start].start]

    n = len(spans)
    if n == 0:
        return []
    if is_guide(atom_texts):
        return [True] * n
    flags = [False] * n
    for k, (start, end) in enumerate(spans):
        prev = atom_texts[start - 1] if start > 0 else ""
        prev2 = atom_texts[start - 2] if start > 1 else ""
        nxt = atom_texts[end] if end < len(atom_texts) else ""
        nxt2 = atom_texts[end + 1] if end + 1 < len(atom_texts) else ""
        before = (prev in NEGATION_BEFORE or (prev2, prev) in PAIRS_BEFORE
                  or canonicals[k] in RESTRICTED_BEFORE.get(prev, ()))
        # "X free shipping" is an offer; "X analog of Y" points forward, at Y
        after = (nxt in AFTER and not (nxt == "free" and nxt2 in FREE_OFFERS) and nxt2 not in {"of", "to", "for"}
                 # "fent free", "fent-free"; "COCAINE - FREE next day" starts another clause
                 and norm[atoms[end - 1].end:atoms[end].start] in (" ", "-", "- "))
        if before:
            flags[k] = True
            j = k  # forward: "no meth or fent", "like Adderall Speed"
            while j + 1 < n and _coordinated(*between(spans[j][1], spans[j + 1][0])):
                j += 1
                flags[j] = True
        if after:
            flags[k] = True
            j = k  # backward: "meth and fent free", "ritalin / methylphenidate analogue"
            while j > 0 and _coordinated(*between(spans[j - 1][1], spans[j][0]), side_by_side=False):
                j -= 1
                flags[j] = True
    return flags
