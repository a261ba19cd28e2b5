"""Rules over a title's matched substances as a whole (after the per-name rules).

1. Cannabis product type: "24% THC" / "high THC" is the potency of the flower or hash, not
   a THC product: it is dropped next to another cannabis product, else it names the flower;
   a strain or street name ("Kush", "White Widow") next to a named product ("hash", "THC
   vape oil") describes that product; herb words in a synthetic-cannabinoid title ("K2 /
   spice herb") are the carrier, not cannabis.
2. Combinations: when every component of a listed mixture is named ("promethazine +
   codeine solution"), the mixture is offered instead of its parts; a mixture's street name
   next to one of its components ("codeine linctus lean") is that component's descriptor.
3. Pill style: a brand or street name of a classic drug next to the exact name of a newer
   analogue of the same class ("Blue Xanax B707 ... bromazolam", "pressed Roxy M30 ...
   protonitazene") names the style of the pill: mentioned, the analogue is offered.
4. Hormone class tags: pharmacy titles name the actives, then tag their classes in
   parentheses ("Norethisterone ... + Estradiol ... Vial (progesterone) (estrogen)"). A
   hormone written alone in parentheses after another hormone of its class names that class,
   not a second active: dropped.  Alone, or as the named product ("Prometrium (progesterone)",
   one substance), it stays the offer.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from enrich.normalize import name_key

if TYPE_CHECKING:
    from enrich.lists import ReferenceLists
    from enrich.match_types import SubstanceMatch

CANNABIS, RESIN, THC, CBD = "cannabis", "cannabis resin", "THC", "CBD"
CANNABIS_PRODUCTS = {RESIN, THC, CBD}
CANNABIS_FAMILY = {CANNABIS, *CANNABIS_PRODUCTS}
SYNTHETIC_CANNABINOID_WORDS = {"spice", "k2", "cannabinoid", "cannabinoids", "cannibinoid", "cannabionid", "noid",
                               "noids", "synthetic"}
# names of the plant itself; any other name of cannabis (a strain, a product word) is a descriptor
# when a cannabis product is named too
CANNABIS_CORE = {"cannabis", "weed", "marijuana", "marihuana", "ganja", "bud", "buds", "flower", "flowers", "grass",
                 "pot"}
POTENCY_BEFORE = {"high", "low", "max", "thc", "potency"}
# classes (first word of `substance_class`) whose members' titles carry "(progesterone)"-style tags
HORMONE_CLASSES = {"progestogen", "estrogen"}


def is_potency(norm: str, start: int, end: int, prev_atom: str) -> bool:
    """'24% THC', '22 % THC', 'HIGH THC', 'THC: 25%', 'THC 29%'."""
    before = norm[max(0, start - 6):start].rstrip()
    after = norm[end:end + 8].lstrip(" :-")
    return before.endswith("%") or prev_atom in POTENCY_BEFORE or (after[:1].isdigit() and "%" in after[:6])


def refine(matches: list[SubstanceMatch], lists: ReferenceLists, potency: set[str], atom_texts: set[str],
           text: str = "") -> list[SubstanceMatch]:
    """`potency`: canonicals whose every hit was a potency figure; `text`: the matched text
    (the spans point into it)."""
    matches = _without_class_tags(matches, text)
    offered = {m.canonical for m in matches if m.relation == "offered"}
    out = []
    for m in matches:
        if m.relation != "offered":
            out.append(m)
            continue
        if m.canonical == THC and THC in potency:
            if offered & {CANNABIS, RESIN}:
                continue
            if CANNABIS in lists.substances:
                _rename(m, lists, CANNABIS)
        elif m.canonical == CANNABIS and name_key(m.matched_name) not in CANNABIS_CORE and (
                offered & CANNABIS_PRODUCTS - potency or atom_texts & SYNTHETIC_CANNABINOID_WORDS):
            continue  # a strain name describing the hash / oil / cart, or the herb of a spice blend
        out.append(m)
    out = _combinations(_with_co_actives(out, lists), lists)
    return _pill_style(out)


def _without_class_tags(matches: list[SubstanceMatch], text: str) -> list[SubstanceMatch]:
    """Rule 4: "(progesterone)" after "Norethisterone" tags the class of the named active."""
    def family(m: SubstanceMatch) -> str:
        return (m.substance_class.split() or [""])[0]

    def in_parentheses(m: SubstanceMatch) -> bool:
        start, end = m.span
        return text[:start].rstrip().endswith("(") and text[end:].lstrip().startswith(")")

    tags = [m for m in matches if m.relation == "offered" and family(m) in HORMONE_CLASSES and in_parentheses(m)
            and any(o.relation == "offered" and o.canonical != m.canonical and family(o) == family(m)
                    and o.span[0] < m.span[0] for o in matches)]
    dropped = {id(m) for m in tags}
    return [m for m in matches if id(m) not in dropped] if tags else matches


def _with_co_actives(matches: list[SubstanceMatch], lists: ReferenceLists) -> list[SubstanceMatch]:
    """A combination brand ("Yasmin", "Super Kamagra") offers each of its actives, not only
    the one it is listed under; the co-actives share the brand's span and reason."""
    if not lists.co_actives:
        return matches
    named = {m.canonical for m in matches}
    out = list(matches)
    for m in matches:
        for canonical in lists.co_actives.get(name_key(m.matched_name), ()):
            if canonical in named or canonical not in lists.substances:
                continue
            named.add(canonical)
            sub = lists.substances[canonical]
            out.append(dataclasses.replace(m, canonical=canonical, substance_class=sub.substance_class,
                                           controls=list(sub.controls), cas=sub.cas,
                                           notes=[*sub.notes, f"co-active of {m.matched_name!r}"], synonyms=()))
    return out


def _rename(m: SubstanceMatch, lists: ReferenceLists, canonical: str) -> None:
    sub = lists.substances[canonical]
    m.canonical, m.substance_class, m.controls, m.cas = canonical, sub.substance_class, list(sub.controls), sub.cas
    m.notes = [*sub.notes, "read from a potency figure"]


def _combinations(matches: list[SubstanceMatch], lists: ReferenceLists) -> list[SubstanceMatch]:
    offered = {m.canonical: m for m in matches if m.relation == "offered"}
    mixtures = _mixtures(lists)
    involved = _INVOLVED[id(lists)]
    relevant = {mx for c in offered for mx in involved.get(c, ())}
    if not relevant:
        return matches  # most titles: no mixture and no component of one
    order = _ORDER[id(lists)]
    # only mixtures named or with a part named can change anything; list order kept
    for mixture in sorted(relevant, key=order.__getitem__):
        parts = mixtures[mixture]
        if mixture in offered and any(p in offered for p in parts):
            drop = {mixture} if offered[mixture].reason == "street" else set(parts)  # "lean" next to codeine
            matches = [m for m in matches if m.canonical not in drop]
        elif mixture not in offered and all(p in offered for p in parts):
            first = offered[parts[0]]
            _rename_to(first, lists, mixture)
            matches = [m for m in matches if m.canonical not in parts[1:]]
    return matches


def _rename_to(m: SubstanceMatch, lists: ReferenceLists, canonical: str) -> None:
    sub = lists.substances[canonical]
    m.canonical, m.substance_class, m.controls, m.cas, m.notes = (
        canonical, sub.substance_class, list(sub.controls), sub.cas, [*sub.notes, "all components named"])


_MIXTURES: dict[int, dict[str, list[str]]] = {}
_PARTS: dict[int, set[str]] = {}
_INVOLVED: dict[int, dict[str, set[str]]] = {}  # canonical -> mixtures it is, or is a part of
_ORDER: dict[int, dict[str, int]] = {}  # mixture -> position in the list order


def _mixtures(lists: ReferenceLists) -> dict[str, list[str]]:
    """Listed substances whose canonical name is made of two or more other canonical names."""
    key = id(lists)
    if key not in _MIXTURES:
        found = {}
        for canonical in lists.substances:
            words = canonical.replace("-", " ").split()
            parts = [w for w in words if w in lists.substances and w != canonical]
            if len(parts) >= 2:
                found[canonical] = parts
        _MIXTURES[key] = found
        _PARTS[key] = {p for parts in found.values() for p in parts}
        involved: dict[str, set[str]] = {}
        for mixture, parts in found.items():
            for name in (mixture, *parts):
                involved.setdefault(name, set()).add(mixture)
        _INVOLVED[key] = involved
        _ORDER[key] = {mixture: k for k, mixture in enumerate(found)}
    return _MIXTURES[key]


def _pill_style(matches: list[SubstanceMatch]) -> list[SubstanceMatch]:
    exact = [m for m in matches if m.relation == "offered" and m.reason == "exact"]
    for m in matches:
        if m.relation != "offered" or m.reason not in ("synonym", "street") or m.canonical in m.matched_name:
            continue
        own = m.substance_class.split()
        for other in exact:
            theirs = other.substance_class.split()
            if other.canonical != m.canonical and len(theirs) > len(own) and theirs[-len(own):] == own:
                m.relation = "mentioned"
                break
    return matches
