"""Reading place words in free shipping text: "CANADA  USA  UK & EU", "WORLWIDE", "CZECHREPUBLIC".

Market cells are often typed by hand without separators, misspelt or glued together. A list
piece that is not one name is read word by word, longest name first (up to four words):

>>> [code for _, code in read_words("CANADA  USA  AND UK")[0]]
['CA', 'US', 'GB']
>>> read_words("PM us for info")  # no places: 'us' is a pronoun beside other words
([], ['pm', 'info'], False)

Named steps, each tried only when the previous one found nothing:
1. `resolve_name`: the exact name / code / alias / region / worldwide word;
2. glued or repeated names ("czechrepublic", "germanygermany");
3. misspellings of worldwide words and of long names (edit distance 1-2, never on short words).
Two-letter words that are also English ("in", "to", "me", "us", "no", "pm", "it", "at") count as
codes only when every other word of the piece is a place too ("DE AT", "EU NO CH"), so "PM us for
info" and "ships to" name nothing.
"""
from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz.distance import OSA

from parsers.regions import REGIONS, WORLDWIDE, _names, country_code, normalise_name

# words that carry no place and no meaning for the destination list
FILLER = frozenset("""
only and or & the of to in all any every single most parts part countries country we ship shipping ships from
include including included incl etc others other more also plus + with free tracked registered mail post
express priority ask for locations location inquire within please preferably preferrably pref
massive states state continental mainland you are is it delivery deliver available ok
""".split())
# English words that are also ISO codes: places only inside a piece made of places alone
AMBIGUOUS_CODES = frozenset({"in", "to", "me", "us", "no", "pm", "it", "at", "is", "be", "do", "so", "my", "am",
                             "as", "by", "id", "an", "na", "dom", "can", "and", "per"})
# two-letter codes sellers really use as words; other two-letter words count only in a pure list
SAFE_CODES = frozenset({"uk", "eu", "ww", "gb", "nl", "de", "nz", "au", "fr", "es", "se", "dk", "fi", "pl", "ca", "ie"})
# never places in shipping text: "PM" is a private message, "DOM"/"domestic" means the origin
NOT_PLACES = frozenset({"pm", "dom"})
DOMESTIC = frozenset({"domestic", "dom", "inland", "national", "nationwide", "local"})
_WORLD_SPELLINGS = ("worldwide", "world", "wideworld", "global", "international")
_WORD = re.compile(r"[a-z$']+")
_MAX_SPAN = 4
_MAX_WORDS = 60


def resolve_name(key: str) -> tuple[str, frozenset[str] | str | None]:
    """("country", code) | ("region", codes) | ("world", None) | ("none", None) for one normalised name."""
    if not key:
        return "none", None
    if key in REGIONS:
        return "region", REGIONS[key]
    if key in WORLDWIDE:
        return "world", None
    code = country_code(key)
    if code:
        return "country", code
    return "none", None


@lru_cache(maxsize=1)
def _glued() -> dict[str, tuple[str, frozenset[str] | str | None]]:
    """Every multi-word name without its spaces ("czechrepublic"), and without a leading "the"."""
    out: dict[str, tuple[str, frozenset[str] | str | None]] = {}
    for name, code in _names().items():
        if " " in name:
            out.setdefault(name.replace(" ", ""), ("country", code))
    for name, codes in REGIONS.items():
        if " " in name:
            out.setdefault(name.replace(" ", ""), ("region", codes))
    for name in WORLDWIDE:
        out.setdefault(name.replace(" ", "").replace("-", ""), ("world", None))
    return out


@lru_cache(maxsize=1)
def _long_names() -> list[tuple[str, tuple[str, frozenset[str] | str | None]]]:
    """Names of six letters or more, the only ones a misspelling may be matched to."""
    names: dict[str, tuple[str, frozenset[str] | str | None]] = {}
    for name, code in _names().items():
        if len(name) >= 6 and name.replace(" ", "").isalpha():
            names[name] = ("country", code)
    for name, codes in REGIONS.items():
        if len(name) >= 6 and name.replace(" ", "").isalpha():
            names[name] = ("region", codes)
    return sorted(names.items())


@lru_cache(maxsize=8192)
def _spelling(word: str) -> tuple[str, frozenset[str] | str | None]:
    """A glued, repeated or misspelt name ("newzealand", "ukuk", "worlwide", "austrailia")."""
    glued = _glued().get(word[3:] if word.startswith("the") and len(word) > 6 else word) or _glued().get(word)
    if glued:
        return glued
    half = len(word) // 2
    if len(word) >= 4 and len(word) % 2 == 0 and word[:half] == word[half:]:
        kind, value = resolve_name(word[:half])
        if kind != "none":
            return kind, value
    if word == "wide" or (len(word) >= 4 and any(
            word[0] == w[0] and OSA.distance(word, w) <= 2 for w in _WORLD_SPELLINGS)):
        return "world", None
    if len(word) >= 5:
        limit = 1 if len(word) < 9 else 2
        best: tuple[int, tuple[str, frozenset[str] | str | None]] | None = None
        for name, place in _long_names():
            if abs(len(name) - len(word)) > limit:
                continue
            d = OSA.distance(word, name, score_cutoff=limit)
            if d <= limit and (best is None or d < best[0]):
                best = (d, place)
        if best:
            return best[1]
        if " " not in word:  # a truncated long name: "finlan", "europ"
            starts = {place for name, place in _long_names() if name.startswith(word) and len(name) - len(word) <= 2}
            if len(starts) == 1:
                return starts.pop()
    return "none", None


def read_words(text: str) -> tuple[list[tuple[str, frozenset[str] | str | None]], list[str], bool]:
    """(places read, words left unread, domestic named) from a piece written without separators."""
    key = normalise_name(text).replace("'", "")
    if re.fullmatch(r"(?:[a-z] ){3,}[a-z]", key):  # "w o r l d w i d e"
        key = key.replace(" ", "")
    words = _WORD.findall(key.replace("u$a", "usa"))[:_MAX_WORDS]  # a longer cell is prose, not a list
    places: list[tuple[int, str, frozenset[str] | str | None]] = []
    unread: list[str] = []
    domestic = False
    i = 0
    while i < len(words):
        word = words[i]
        if word in FILLER:
            i += 1
            continue
        if word in NOT_PLACES:
            unread.append(word)
            i += 1
            continue
        for span in range(min(_MAX_SPAN, len(words) - i), 0, -1):
            phrase = words[i:i + span]
            kind, value = resolve_name(" ".join(phrase))
            if kind == "none" and span > 1 and all(len(w) == 1 for w in phrase):
                kind, value = resolve_name("".join(phrase))  # "e u", "every where" glued
            elif kind == "none" and span == 2:
                kind, value = resolve_name("".join(phrase))
            if kind != "none":
                places.append((i, kind, value))
                i += span
                break
        else:
            if word in DOMESTIC:
                domestic = True
                i += 1
                continue
            # a misspelt two-word name first ("new zeland", "latin amercia"), then the word alone
            if i + 1 < len(words) and (words[i + 1] not in FILLER or len(word) >= 5):
                kind, value = _spelling(f"{word} {words[i + 1]}")
                if kind != "none":
                    places.append((i, kind, value))
                    i += 2
                    continue
            kind, value = _spelling(word)
            if kind != "none":
                places.append((i, kind, value))
            else:
                unread.append(word)
            i += 1
    if unread:  # "PM us for info": English two-letter words are not codes beside other words
        places = [p for p in places if words[p[0]] not in AMBIGUOUS_CODES
                  and (len(words[p[0]]) != 2 or words[p[0]] in SAFE_CODES or p[1] != "country")]
    return [(k, v) for _, k, v in places], unread, domestic
