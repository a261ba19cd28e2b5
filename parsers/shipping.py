"""Ships-from / ships-to fields: ISO alpha-2 origin, destination lists with regions expanded,
"Worldwide except ..." exclusions."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from parsers._base import Result
from parsers.regions import REGIONS, UNKNOWN_ORIGIN, WORLDWIDE, country_code, normalise_name

_EXCEPT = re.compile(r"\s*(?:\bexcept(?:\s+for)?\b|\bexcluding\b|\bexclude[sd]?\b|\bbut not\b|\bbut\b|\bwithout\b"
                     r"|\bnot to\b|\bnot\b|\bno\b|\bex\.)\s*:?\s*", re.I)
_SPLIT = re.compile(r"\s*(?:[,;/|+\n\u2022]|\s-\s)\s*")
_AND = re.compile(r"\s+(?:and|&|or)\s+", re.I)
_FLAG = re.compile("[\U0001F1E6-\U0001F1FF]{2}")
_LABEL = re.compile(r"^\s*(?:ships?\s+(?:from|to)|shipping\s+(?:from|to)|origin(?:\s+country)?|destinations?|delivery\s+to"
                    r"|from|to)(?![a-z])\s*:?\s*", re.I)


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

    def to_listing_fields(self) -> dict[str, object]:
        """index.model.Listing fields; the model writes "XX" for a stated but unknown/worldwide origin."""
        origin = self.origin or ("XX" if self.raw_from and self.raw_from.strip() else None)
        return {"origin": origin, "destinations": list(self.destinations),
                "destinations_excluded": list(self.destinations_excluded), "ships_worldwide": self.ships_worldwide}


def _prep(text: str) -> str:
    t = unicodedata.normalize("NFKC", text) if not text.isascii() else text
    t = _FLAG.sub(lambda m: f",{m.group(0)},", t)
    return _strip_label(t)


def _strip_label(text: str) -> str:
    rest = _LABEL.sub("", text.strip())
    return rest if rest.strip() else text.strip()  # "TO" alone is Tonga, not a label


def _resolve(piece: str) -> tuple[str, frozenset[str] | str | None]:
    """("country", code) | ("region", codes) | ("world", None) | ("none", None)."""
    key = normalise_name(piece)
    if key in REGIONS:
        return "region", REGIONS[key]
    if key.count("(") != key.count(")"):
        key = key.strip("() ")  # a bracket left over from splitting "Worldwide (except USA)"
    if not key:
        return "none", None
    if key in WORLDWIDE or key.startswith(("worldwide", "world wide")):
        return "world", None
    if key in REGIONS:
        return "region", REGIONS[key]
    bare = re.sub(r"\s*\(c\)$|\s+only$|\s+countries$", "", key)
    if bare in REGIONS:
        return "region", REGIONS[bare]
    code = country_code(key)
    if code is None and bare != key:
        code = country_code(bare)
    if code:
        return "country", code
    return "none", None


def _places(text: str) -> tuple[set[str], bool, list[str]]:
    """(codes, worldwide, unresolved pieces) named in a list like "Germany, Austria & Switzerland"."""
    codes: set[str] = set()
    world = False
    unresolved: list[str] = []
    for piece in _SPLIT.split(text):
        if not piece.strip():
            continue
        kind, value = _resolve(piece)
        if kind == "none" and _AND.search(piece):
            parts = [_resolve(p) for p in _AND.split(piece)]
            if all(k != "none" for k, _ in parts):
                for k, v in parts:
                    world |= k == "world"
                    codes |= {v} if isinstance(v, str) else set(v or ())
                continue
        if kind == "world":
            world = True
        elif kind == "region":
            codes |= set(value or ())
        elif kind == "country":
            codes.add(str(value))
        else:
            unresolved.append(piece.strip())
    return codes, world, unresolved


def parse_origin(text: str) -> tuple[str | None, list[str], str | None]:
    """(alpha-2 or None, notes, error) for a ships-from field."""
    t = _strip_label(text)
    key = normalise_name(t)
    if not key:
        return None, [], "empty origin"
    if key in UNKNOWN_ORIGIN:
        return None, [f"origin {t!r} is unknown/undeclared"], None
    kind, value = _resolve(t)
    if kind == "country":
        return str(value), [], None
    if kind == "world":
        return None, [f"origin {t!r} names no country (worldwide)"], None
    if kind == "region":
        return None, [f"origin {t!r} is a region, not a country"], None
    codes, _, _ = _places(t)
    if len(codes) == 1:
        return codes.pop(), [f"origin read from {t!r}"], None
    return None, [], f"unknown origin {t!r}"


def parse_shipping(ships_from: str | None, ships_to: str | None) -> Shipping:
    """Origin and destinations of a listing ("Netherlands", "Worldwide except USA, Australia")."""
    for name, v in (("ships_from", ships_from), ("ships_to", ships_to)):
        if v is not None and not isinstance(v, str):
            raise TypeError(f"{name} must be str or None, not {type(v).__name__}")
    try:
        return _parse(ships_from, ships_to)
    except Exception as exc:  # noqa: BLE001 - hostile input never stops a crawl
        return Shipping(raw_from=ships_from, raw_to=ships_to, error=f"internal error: {type(exc).__name__}")


def _parse(ships_from: str | None, ships_to: str | None) -> Shipping:
    notes: list[str] = []
    errors: list[str] = []
    origin = None
    if ships_from is not None and ships_from.strip():
        origin, o_notes, o_err = parse_origin(ships_from)
        notes += o_notes
        if o_err:
            errors.append(o_err)
    destinations: set[str] = set()
    excluded: set[str] = set()
    world = False
    unresolved: list[str] = []
    if ships_to is not None and ships_to.strip():
        t = _prep(ships_to)
        parts = _EXCEPT.split(t, maxsplit=1)
        main = parts[0]
        destinations, world, unresolved = _places(main)
        if len(parts) > 1:
            excluded, _, unres_ex = _places(parts[1])
            unresolved += unres_ex
            if not main.strip() or (not destinations and not world):
                world = True  # "except USA" alone means everywhere else
                notes.append("exclusion without a destination read as worldwide")
        if world and destinations:
            listed = sorted(destinations)
            more = f" (+{len(listed) - 12} more)" if len(listed) > 12 else ""
            notes.append(f"worldwide shipping; also listed: {', '.join(listed[:12])}{more}")
        if unresolved:
            notes.append(f"not a country or region: {', '.join(unresolved)}")
        if not destinations and not world:
            errors.append(f"no destination found in {ships_to!r}")
    dest = [] if world else sorted(destinations - excluded)
    found_any = origin is not None or world or bool(dest) or (ships_from is not None and not errors and bool(notes))
    return Shipping(raw_from=ships_from, raw_to=ships_to, ok=found_any and not errors, error="; ".join(errors) or None,
                    origin=origin, destinations=dest, destinations_excluded=sorted(excluded), ships_worldwide=world,
                    unresolved=unresolved, notes=notes)
