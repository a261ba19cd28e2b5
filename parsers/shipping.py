"""Ships-from / ships-to fields: ISO alpha-2 origin, destination lists with regions expanded,
"Worldwide except ..." exclusions.

Steps (`_parse`): split labelled one-string forms ("Ships from: BE Ships to: FR", "AUS TO: USA",
"Ships from Poland to EU") into an origin and a destination part → read the origin → split the
destination text at its exclusion word ("except", "exept", "no" after worldwide, "-AUS") → read
each list piece as one name, else word by word (`parsers.places.read_words`) → "domestic" means the
origin. A part that states nothing ("Undeclared", "and 43 more", a bare number, a lone label) is
noted, not an error, and one unreadable part never discards the part that was read.

>>> s = parse_shipping(None, "Ships from: Belgium Ships to: Worldwide")
>>> s.origin, s.ships_worldwide
('BE', True)
>>> parse_shipping(None, "SE, NO, DK, FI").destinations
['DK', 'FI', 'NO', 'SE']
>>> s = parse_shipping("United Kingdom", "Europe and 8 more")
>>> s.ok, s.origin, len(s.destinations) > 30
(True, 'GB', True)
>>> parse_shipping("Germany", "Domestic only").destinations
['DE']
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz.distance import OSA

from parsers._base import Result
from parsers.places import NOT_PLACES, read_words, resolve_name
from parsers.regions import REGIONS, UNKNOWN_ORIGIN, normalise_name

# "no" negates only at the start, after a worldwide word or after "*" / "(" ("WORLDWIDE NO AUS",
# "EUROPE *NO US"); in a list it is Norway ("SE, NO, DK")
_EXCEPT = re.compile(
    r"\s*(?:\bexc?ept?(?:\s+for)?\b|\bexcep\b|\bexpect\b|\bexp\.|\bexcluding\b|\bexc?lude[sd]?\b|\bbut not\b|\bbut\b"
    r"|\bwithout\b|\bbesides\b|\bbanned\b|\bsorry\b|\bnot to\b|\bnot\b|\bno delivery to\b|\bex\.|(?<=\s)-(?=[a-z])"
    r"|\*\s*no\b|(?<=\()\s*no\b|^\s*no\b|(?<=wide)\s*,?\s*no\b|(?<=world)\s*,?\s*no\b|(?<=\bww)\s*,?\s*no\b"
    r"|(?<=\ball)\s+outside\b|\bdo not ship to\b|\bnot shipping to\b|\bno shipping to\b|\bother than\b|^\s*outside\b"
    r"|\bno to\b|(?<=/)\s*no\s+(?=[a-z]))\s*:?\s*", re.I)
_NEGATION = re.compile(r"\b(?:no|not|don'?t|never)\b", re.I)
_SPLIT = re.compile(r"\s*(?:[,;/|+*\n\u2022\[\]]|\s-\s|\.(?=[^\W\d_]{2})|=)\s*")
# a piece that names a condition, not a destination: "contact us for international", "WW soon"
_CONDITION = re.compile(r"\b(?:contact|ask|inquire|message|pm|soon|see my|notes?)\b", re.I)
_AND = re.compile(r"\s+(?:and|&|or)\s+|\s*&\s*", re.I)
_FLAG = re.compile("[\U0001F1E6-\U0001F1FF]{2}")
_LABEL = re.compile(r"^\s*(?:ships?\s+(?:from|to)|shipping\s+(?:from|to)|origin(?:\s+country)?|destinations?|delivery\s+to"
                    r"|from|to)(?![a-z])\s*:?\s*", re.I)
_FROM_LABEL = re.compile(r"(?:\b(?:ships?|shipping|shipped|sent)\s+from\b|\borigin(?:\s+country)?\b|\bfrom\b)\s*:?", re.I)
_TO_LABEL = re.compile(r"(?:\b(?:ships?|shipping|shipped|delivery|deliver(?:s|ing)?)\s+to\b|\bdestinations?\b"
                       r"|\bto\b)\s*:?", re.I)
_MORE = re.compile(r"\s*(?:\band\s+)?\d+\s+more\b\.?", re.I)
_IMAGE = re.compile(r"/([a-z]{2,3})\.(?:png|gif|jpe?g|svg|webp)\b", re.I)
_PARENS = re.compile(r"\(([^()]*)\)")
_LETTER = re.compile(r"[^\W\d_]")
_ONLY = re.compile(r"\s*\(c\)$|\s+only$|\s+countries$")
_ANYWHERE_IN = re.compile(r"\banywhere\s+in\b|\ball\s+of\b", re.I)
# cheap pre-check: most cells hold no exclusion word at all
_EXCEPT_GATE = re.compile(r"ex|but|with|besid|bann|sorr|\bno|-|outside|other", re.I)

Place = tuple[str, "frozenset[str] | str | None"]


@dataclass(frozen=True)
class Shipping(Result):
    raw_from: str | None
    raw_to: str | None
    ok: bool = False
    error: str | None = None
    origin: str | None = None  # ISO alpha-2; None for unknown/worldwide (see notes)
    destinations: list[str] = field(default_factory=list)  # sorted; [] when ships_worldwide
    destinations_excluded: list[str] = field(default_factory=list)
    ships_worldwide: bool = False
    unresolved: list[str] = field(default_factory=list)  # pieces that named no country/region
    notes: list[str] = field(default_factory=list)
    origin_stated: bool = False  # the text names an origin, known or not (a lone "From:" label does not)

    def to_listing_fields(self) -> dict[str, object]:
        """core.records.Listing fields; the model writes "XX" for a stated but unknown/worldwide origin."""
        origin = self.origin or ("XX" if self.origin_stated else None)
        return {"origin": origin, "destinations": list(self.destinations),
                "destinations_excluded": list(self.destinations_excluded), "ships_worldwide": self.ships_worldwide}


def _strip_label(text: str) -> str:
    rest = _LABEL.sub("", text.strip())
    return rest if rest.strip() else text.strip()  # "TO" alone is Tonga, not a label


def _states_nothing(text: str) -> bool:
    """A lone label ("From:"), a bare number (a misaligned cell) or punctuation."""
    if _FLAG.search(text):
        return False
    rest = _LABEL.sub("", text.strip()) if text.rstrip().endswith(":") else text
    return not _LETTER.search(rest)


def split_one_string(text: str) -> tuple[str | None, str | None]:
    """(origin part, destination part) of "Ships from: X Ships to: Y" / "X TO: Y" / "Ships from X to Y";
    (None, None) when the text is not in that form.

    >>> split_one_string("Origin: Canada | Destination: Canada, USA")
    ('Canada', 'Canada, USA')
    >>> split_one_string("AUS TO: USA ONLY")
    ('AUS', 'USA ONLY')
    >>> split_one_string("Ships from: Slovakia")
    ('Slovakia', None)
    >>> split_one_string("Canada, USA")
    (None, None)
    """
    frm = _FROM_LABEL.search(text)
    to = None
    for m in _TO_LABEL.finditer(text):
        if frm is None or m.start() >= frm.end():
            to = m
            break
    if to is not None:
        before = text[frm.end() if frm else 0:to.start()].strip(" |:-,;")
        after = text[to.end():].strip(" |:-,;")
        colon = to.group(0).rstrip().endswith(":") or bool(re.match(r"\s*(?:ship|deliver|destination)", to.group(0), re.I))
        if not after:
            return None, None
        if frm is None and not colon and not before:
            return None, None
        if frm is None and _NEGATION.search(before):
            return None, None  # "NO DELIVERY TO RUSSIA", "WORLDWIDE NO TO FINLAND": an exclusion
        if frm is None and (not colon or re.search(r"\bwe\b", before, re.I)):
            # bare "USA TO USA, CANADA": only when the first part is a place ("WE DO NOT SHIP TO" is not)
            places, unread, _ = read_words(before)
            if not places or unread:
                return None, None
        return (before or None), after
    if frm is not None and frm.start() <= 1:
        rest = text[frm.end():].strip(" |:-,;")
        return (rest or None), None
    return None, None


def _resolve(piece: str) -> Place:
    """One list piece: a name, else a piece with a bracket left over or "only"/"(c)" around a name."""
    key = normalise_name(piece).strip(" !*?")
    kind, value = resolve_name(key)
    if kind != "none":
        return kind, value
    if key.count("(") != key.count(")"):
        key = key.strip("() ")  # a bracket left over from splitting "Worldwide (except USA)"
    if key.startswith(("worldwide", "world wide")):
        return "world", None
    bare = _ONLY.sub("", key)
    if bare in REGIONS:
        return "region", REGIONS[bare]
    return resolve_name(bare)


def _places(text: str) -> tuple[set[str], bool, list[str], bool]:
    """(codes, worldwide, unresolved pieces, domestic named) in a list like "Germany, Austria & Switzerland"."""
    codes: set[str] = set()
    world = domestic = False
    unresolved: list[str] = []
    text = _PARENS.sub(lambda m: f", {m.group(1)},", text)  # "UK (free!) & EU", "Europe (EU)"
    text = _ANYWHERE_IN.sub("", text)  # "anywhere in Canada" is Canada
    for piece in _SPLIT.split(text):
        if not piece.strip(" ()!*?.-"):
            continue
        if _CONDITION.search(piece):
            unresolved.append(piece.strip())
            continue
        kind, value = _resolve(piece) if normalise_name(piece) not in NOT_PLACES else ("none", None)
        found: list[Place] = [(kind, value)] if kind != "none" else []
        if not found:
            parts = [_resolve(p) for p in _AND.split(piece)]
            if len(parts) > 1 and all(k != "none" for k, _ in parts):
                found = parts
        if not found:
            found, unread, dom = read_words(piece)
            domestic |= dom
            if not found and not dom and unread:
                unresolved.append(piece.strip())
        for k, v in found:
            world |= k == "world"
            codes |= {v} if isinstance(v, str) else set(v or ())
    return codes, world, unresolved, domestic


@lru_cache(maxsize=4096)
def _origin(text: str) -> tuple[str | None, tuple[str, ...], str | None]:
    code, notes, error = _parse_origin(text)
    return code, tuple(notes), error


def parse_origin(text: str) -> tuple[str | None, list[str], str | None]:
    """(alpha-2 or None, notes, error) for a ships-from field."""
    code, notes, error = _origin(text)
    return code, list(notes), error


def _parse_origin(text: str) -> tuple[str | None, list[str], str | None]:
    """(alpha-2 or None, notes, error) for a ships-from field."""
    t = _strip_label(text)
    image = _IMAGE.search(t)  # a flag image's file name: ".../flag/w13/aus.png"
    if image:
        t = image.group(1)
    key = normalise_name(t)
    if not key:
        return None, [], "empty origin"
    if key in UNKNOWN_ORIGIN or key.strip("() ") in UNKNOWN_ORIGIN or _misspelt_unknown(key):
        return None, [f"origin {t!r} is unknown/undeclared"], None
    kind, value = _resolve(t)
    if kind == "none":
        places, unread, _ = read_words(_PARENS.sub(r" \1 ", t))
        countries = {str(v) for k, v in places if k == "country"}
        if len(countries) == 1 and all(k == "country" for k, _ in places) and not unread:
            return countries.pop(), [f"origin read from {t!r}"], None
        if places and not countries:
            kind = places[0][0]
    if kind == "country":
        return str(value), [], None
    if kind == "world":
        return None, [f"origin {t!r} names no country (worldwide)"], None
    if kind == "region":
        return None, [f"origin {t!r} is a region, not a country"], None
    return None, [], f"unknown origin {t!r}"


def _misspelt_unknown(key: str) -> bool:
    """"undelcared", "unknwon": a misspelt word for an undeclared origin."""
    return len(key) >= 6 and any(len(w) >= 6 and OSA.distance(key, w, score_cutoff=1) <= 1 for w in UNKNOWN_ORIGIN)


def parse_shipping(ships_from: str | None, ships_to: str | None) -> Shipping:
    """Origin and destinations of a listing ("Netherlands", "Worldwide except USA, Australia")."""
    for name, v in (("ships_from", ships_from), ("ships_to", ships_to)):
        if v is not None and not isinstance(v, str):
            raise TypeError(f"{name} must be str or None, not {type(v).__name__}")
    try:
        return _parse(ships_from, ships_to)
    except Exception as exc:  # noqa: BLE001 - hostile input never stops a crawl
        return Shipping(raw_from=ships_from, raw_to=ships_to, error=f"internal error: {type(exc).__name__}")


def _prep(text: str) -> str:
    t = unicodedata.normalize("NFKC", text) if not text.isascii() else text
    return _FLAG.sub(lambda m: f",{m.group(0)},", t)


def _route(ships_from: str | None, ships_to: str | None) -> tuple[str | None, str | None, list[str]]:
    """The origin text and destination text, with labelled one-string forms split."""
    notes: list[str] = []
    origin_text = ships_from if ships_from and ships_from.strip() else None
    dest_text = ships_to if ships_to and ships_to.strip() else None
    for cell in (ships_from, ships_to):
        if not cell or not cell.strip():
            continue
        frm, to = split_one_string(_prep(cell))
        if frm is None and to is None:
            continue
        if cell is ships_to or to is not None:
            notes.append(f"one-string shipping text {cell.strip()[:60]!r} split into origin and destinations")
        if frm is not None and (cell is ships_from or origin_text is None or not ships_from):
            origin_text = frm
        if to is not None:
            dest_text = to
        elif cell is ships_to:
            dest_text = None  # "Ships from: Slovakia" in the ships-to cell names the origin
    return origin_text, dest_text, notes


def _parse(ships_from: str | None, ships_to: str | None) -> Shipping:
    origin_text, dest_text, notes = _route(ships_from, ships_to)
    errors: list[str] = []
    origin = None
    origin_stated = False
    if origin_text is not None and _states_nothing(origin_text):
        notes.append(f"ships-from {origin_text.strip()!r} states no origin")
    elif origin_text is not None:
        origin_stated = True
        origin, o_notes, o_err = parse_origin(origin_text)
        notes += o_notes
        if o_err:
            errors.append(o_err)
    destinations: set[str] = set()
    excluded: set[str] = set()
    world = False
    unresolved: list[str] = []
    if dest_text is not None:
        t = _prep(_strip_label(dest_text))
        more = _MORE.search(t)
        if more:
            notes.append(f"{more.group(0).strip()!r}: destinations the page does not name")
            t = _MORE.sub("", t)
        key = normalise_name(t)
        if _states_nothing(t) or key in UNKNOWN_ORIGIN or not key:
            notes.append(f"ships-to {dest_text.strip()[:60]!r} names no destination")
        else:
            destinations, world, unresolved, excluded = _read_destinations(t, origin, notes)
            if not destinations and not world:
                errors.append(f"no destination found in {dest_text!r}")
    dest = [] if world else sorted(destinations - excluded)
    read_any = origin is not None or (origin_stated and not errors) or world or bool(dest)
    if read_any and errors:  # keep the part that was read; say what was not
        notes += [f"unread: {e}" for e in errors]
        errors = [e for e in errors if e.startswith("unknown origin") and origin is None and not (world or dest)]
    ok = not errors and (read_any or not unresolved)
    if not ok and not errors:
        errors.append("nothing read")
    if not origin_text and not dest_text and not notes:
        ok, errors = False, ["empty shipping fields"]
    return Shipping(raw_from=ships_from, raw_to=ships_to, ok=ok, error="; ".join(errors) or None,
                    origin=origin, destinations=dest, destinations_excluded=sorted(excluded), ships_worldwide=world,
                    unresolved=unresolved, notes=notes, origin_stated=origin_stated)


def _read_destinations(text: str, origin: str | None, notes: list[str]) -> tuple[set[str], bool, list[str], set[str]]:
    parts = _EXCEPT.split(text, maxsplit=1) if _EXCEPT_GATE.search(text) else [text]
    main = parts[0]
    destinations, world, unresolved, domestic = _places(main)
    if domestic and origin:
        destinations.add(origin)
        notes.append(f"'domestic' read as the origin {origin}")
    excluded: set[str] = set()
    if len(parts) > 1:
        rest = re.sub(r"\bno\b", ",", parts[1], flags=re.I)  # "NO AUS NO LATIN AMERICA": repeated negation
        excluded, _, unres_ex, _ = _places(rest)
        unresolved += unres_ex
        if not main.strip() or (not destinations and not world and not domestic):
            world = True  # "except USA" alone means everywhere else
            notes.append("exclusion without a destination read as worldwide")
    if world and destinations:
        listed = sorted(destinations)
        more = f" (+{len(listed) - 12} more)" if len(listed) > 12 else ""
        notes.append(f"worldwide shipping; also listed: {', '.join(listed[:12])}{more}")
    if unresolved:
        notes.append(f"not a country or region: {', '.join(unresolved)}")
    return destinations, world, unresolved, excluded
