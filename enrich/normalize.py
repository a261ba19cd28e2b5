"""Text normalisation for matching, keeping a map back to the original offsets.

Non-ASCII characters are folded one at a time (`core.text.fold_unicode`: NFKC and
invisible-character removal; then look-alike letters and accents) so every output
character still points at the input character it came from: match spans are reported in the ORIGINAL text.
Leetspeak is NOT folded here, because digits are meaningful in chemical codes
(3-MMC, 2C-B, 4-FA); the matcher folds it per token, only where no code matched.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from core.text import fold_unicode

# Greek letters used in chemical names: spelled out so "α-PVP" == "alpha-PVP".
_GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "Δ": "delta", "ω": "omega"}
_ZERO_WIDTH = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}
# Cyrillic/Greek look-alikes of Latin letters. parsers.clean_text folds these only inside
# Latin words (from context); here they are folded one character at a time.
_HOMOGLYPHS = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "к": "k", "м": "m",
    "т": "t", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ո": "n", "ο": "o", "ν": "v", "ρ": "p",
    "Α": "a", "Β": "b", "Ε": "e", "Η": "h", "Ι": "i", "Κ": "k", "Μ": "m", "Ν": "n", "Ο": "o",
    "Ρ": "p", "Τ": "t", "Χ": "x", "А": "a", "В": "b", "Е": "e", "К": "k", "М": "m", "Н": "h",
    "О": "o", "Р": "p", "С": "c", "Т": "t", "Х": "x",
})
_ATOM_RE = re.compile(r"[^\W_]+")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")
# n-grams never join across these: they separate items, not parts of one name
_BREAK_CHARS = set("|;:!?&*•\n\t/")


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if ch in _GREEK:
        return _GREEK[ch]
    if ch in _ZERO_WIDTH:
        return ""
    if ch.isspace():  # NBSP and friends separate words; never let clean-up delete them
        return " "
    ch = fold_unicode(ch)  # drops bidi controls and other invisible marks
    ch = unicodedata.normalize("NFKC", ch).translate(_HOMOGLYPHS)
    # strip accents: "cocaína" -> "cocaina"
    decomposed = unicodedata.normalize("NFKD", ch)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def normalise_with_offsets(text: str) -> tuple[str, list[int] | None]:
    """Lower-cased folded text and, for non-ASCII input, output index -> input index.

    None as the map means identity (the ASCII fast path, which most titles take)."""
    if text.isascii():
        return text.lower(), None
    pieces: list[str] = []
    changes: list[tuple[int, int]] = []  # (input index, folded length) where length != 1
    pos = 0
    for m in _NON_ASCII_RE.finditer(text):
        pieces.append(text[pos:m.start()].lower())
        folded = _fold_char(m.group())
        pieces.append(folded)
        if len(folded) != 1:
            changes.append((m.start(), len(folded)))
        pos = m.end()
    pieces.append(text[pos:].lower())
    norm = "".join(pieces)
    if not changes:  # every character folded to exactly one: positions unchanged
        return norm, None
    offsets: list[int] = []
    prev = 0
    for index, length in changes:
        offsets.extend(range(prev, index))
        offsets.extend([index] * length)
        prev = index + 1
    offsets.extend(range(prev, len(text)))
    return norm, offsets


class Atom(NamedTuple):  # a tuple: titles make many of these, creation must be cheap
    text: str
    start: int  # in normalised text
    end: int
    joinable: bool  # may join the previous atom into one n-gram


# a name glued to a quantity ("rohypnol2mg", "viagra100") or a quantity / multiplier glued to a
# name ("25mdma" from "0.25mdma", "5xfentanyl"): split, so the name is an atom of its own. The
# trailing part must be a unit, so leetspeak ("her0in") is not split; the pieces stay joinable
# with no gap, so codes written glued ("3mmc", "25inbome") still join back into their key.
_GLUED_RE = re.compile(
    r"^(?:([a-z]{3,})(\d+(?:mg|g|gr|ug|mcg|ml|x|pcs|tabs?|pills?)?)"
    r"|(\d+(?:x|mg|g|gr|ug|mcg|ml)?)([a-z]{4,})"
    r"|(\d+x)(\d{1,2}[a-z]{1,3}))$"  # a multiplier glued to a code: "50x25i NBOMe"
)


def _split_glued(text: str, start: int) -> list[tuple[str, int, int]] | None:
    m = _GLUED_RE.match(text)
    if m is None:
        return None
    first = m.group(1) or m.group(3) or m.group(5)
    cut = start + len(first)
    return [(first, start, cut), (text[len(first):], cut, start + len(text))]


def atoms(norm: str) -> list[Atom]:
    result: list[Atom] = []
    prev_end = 0
    for m in _ATOM_RE.finditer(norm):
        gap = norm[prev_end:m.start()]
        joinable = bool(result) and len(gap) <= 3 and _BREAK_CHARS.isdisjoint(gap)
        text = m.group()
        pieces = _split_glued(text, m.start()) if not text.isalpha() and not text.isdigit() else None
        if pieces is None:
            result.append(Atom(text, m.start(), m.end(), joinable))
        else:
            result.append(Atom(pieces[0][0], pieces[0][1], pieces[0][2], joinable))
            result.append(Atom(pieces[1][0], pieces[1][1], pieces[1][2], True))
        prev_end = m.end()
    # cheap pre-check: spelled-out words need three single-letter atoms
    if sum(1 for a in result if len(a.text) == 1) < 3:
        return result
    return _collapse_spelled_out(result)


def _collapse_spelled_out(toks: list[Atom]) -> list[Atom]:
    """'C.O.C.A.I.N.E' / 'm d m a': a run of >= 3 single letters separated by one
    character is one word spelled out to dodge filters."""
    out: list[Atom] = []
    i = 0
    while i < len(toks):
        j = i
        while j + 1 < len(toks) and len(toks[j + 1].text) == 1 and toks[j + 1].text.isalpha() and toks[j + 1].start - toks[j].end == 1:
            j += 1
        if len(toks[i].text) == 1 and toks[i].text.isalpha() and j - i >= 2:
            out.append(Atom("".join(t.text for t in toks[i:j + 1]), toks[i].start, toks[j].end, toks[i].joinable))
            i = j + 1
        else:
            out.append(toks[i])
            i += 1
    return out


@lru_cache(maxsize=65536)
def name_key(name: str) -> str:
    """Key of a reference name: folded, separators dropped ("3-MMC" -> "3mmc")."""
    norm, _ = normalise_with_offsets(name)
    return "".join(a.text for a in atoms(norm))


_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"})


def leet_fold(token: str) -> str:
    return token.translate(_LEET)


_SKELETON_RULES = (("ph", "f"), ("th", "t"), ("kh", "k"), ("ck", "k"), ("ce", "se"), ("ci", "si"), ("cy", "si"),
                   ("c", "k"), ("q", "k"), ("y", "i"), ("x", "ks"), ("w", "v"), ("z", "s"))
_REPEAT_RE = re.compile(r"(.)\1+")


@lru_cache(maxsize=65536)
def skeleton(text: str) -> str:
    """Spelling skeleton for fuzzy matching: methamphetamine == metamfetamine."""
    for a, b in _SKELETON_RULES:
        text = text.replace(a, b)
    return _REPEAT_RE.sub(r"\1", text)
