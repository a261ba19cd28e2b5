"""Analogue shapes: designer-drug tokens and the modifiers that make a different substance.

Two things live here, both used by the matcher so that it and early warning never disagree:

- `candidate_spans(norm)`: tokens shaped like a designer drug of a known family (positional
  codes "3-CMPVP", "-azolam", "-nitazene", "25x-NBOMe/NBOH/NBF", "*-PINACA/-INACA/-ICA",
  JWH/AM/UR/XLR/PB codes, 2C-x, DMXE-like arylcyclohexylamines, "-ylone"/"-edrone"
  cathinones ...).  The matcher drops a list hit that sits strictly inside such a token
  ("AB-PINACA" inside "5F-AB-PINACA"): the token names another substance.  A token whose
  key is a list name, or that a list hit covers whole (a misspelling the matcher resolved),
  is not a candidate.
- `is_prefix_modifier` / `is_suffix_modifier`: the pieces written with a hyphen before or
  after a list name that turn it into an analogue ("5F-", "4F-", "5Cl-", "N-ethyl-",
  "desethyl-", "bk-", "nor-", "3-Cl-", "-NBOH", "-PINACA"): the hit is dropped and the whole
  token becomes a candidate, never the parent.
"""
from __future__ import annotations

import re

_T = r"[a-z0-9]"
_CANNABINOID_TAIL = r"(?:pinaca|binaca|fubinaca|butinaca|chminaca|pica|fubica|inaca|ica|pegaclone|pinac|bica)"
# (pattern name, regex over normalised text), most specific first; token boundaries are non-[a-z0-9-]
PATTERNS: list[tuple[str, str]] = [
    # a bare "pvp" is a gaming word: require a positional prefix or alpha-
    ("pyrrolidinophenone", rf"(?:\d-{_T}{{1,5}}-?|(?:\d-{_T}{{1,5}}-)?(?:alpha|a)-)p(?:v|h|ih|b|p|ihe|e)p"),
    ("cathinone-code", rf"\d(?:,\d)?-{_T}{{0,3}}(?:mc|ec|pc|mmc|cmc|fmc|bmc|emc)"),
    ("nitazene", rf"{_T}[a-z0-9-]*nitaze(?:ne|pyne)"),
    ("azolam", rf"{_T}[a-z0-9-]*zolam"),
    ("azepam", rf"{_T}[a-z0-9-]*azepam"),
    ("fentanyl", rf"{_T}[a-z0-9-]*fentan[yi]l"),
    ("nbome", r"\d{2}[a-z]{1,2}-?nb(?:ome|oh|f|cn|mdo|meo)"),
    ("2c", r"2c-[a-z]{1,3}(?:-[a-z0-9]{1,4}){0,2}"),
    ("3c", r"3c-[a-z]{1,2}"),
    ("lsd-prodrug", r"\d?[a-z]{1,3}-lsd"),
    ("tryptamine", r"\d-(?:ho|aco|meo|propo|f|me)-(?:[a-z]{2,6})"),
    ("cannabinoid", rf"{_T}+(?:-{_T}+)*-{_CANNABINOID_TAIL}(?:-{_T}+)?"),
    ("cannabinoid-code", r"(?:\d?[a-z]{0,2}-)?(?:jwh|am|mam|ur|xlr|pb|fub-pb|fdu-pb|nm|sdb|mn|fab|emb|akb|apica|thj|"
                         r"cumyl|mdmb|adb|amb|ab|mmb|5f|5cl|4f)-?\d{2,4}"),
    ("cannabinoid-prefixed", r"\d(?:f|cl|br)-?(?:adb|mdmb|amb|mmb|ab|apinaca|akb-?48|sdb-?\d+|emb|mn-?\d+|pb-?\d+|cumyl)"
                             r"(?:-[a-z0-9]+)*"),
    ("amphetamine-code", r"\d-(?:f|cl|br|me|meo|mt|c|i)(?:a|ma|ea|pa)"),
    ("amphetamine-tma", r"tma-\d"),
    ("phenidate", rf"{_T}[a-z0-9-]*phenidate"),
    ("arylcyclohexylamine", r"(?:\d-(?:meo|ho|f|cl|me|br)-(?:pcp|pce|pcpy|pcpr|dck|mxe)|[a-z]{1,3}-?mxe|"
                            rf"[a-z]*xetamine|{_T}[a-z0-9-]*(?:dck|ketamine))"),
    ("cathinone", r"(?:n-ethyl|di|tri|nor|iso)?-?[a-z]{0,12}(?:ylone|edrone|ylhexedrone|pentedrone)"),
]
# every pattern is bounded by non-[a-z0-9-] on both sides, so a candidate is always a whole
# hyphen-joined token: tokens are cut first and matched whole (much faster than a search)
CANDIDATE_RE = re.compile("|".join(f"(?P<p{i}>{rx})" for i, (_, rx) in enumerate(PATTERNS)))
_TOKEN_RE = re.compile(r"(?<![a-z0-9-])[a-z0-9]+(?:-+[a-z0-9]+)*")
_QUANTITY_TOKEN = re.compile(r"^\d+[a-z]{0,3}$")
# an all-letter token can only be a candidate with one of these endings
_ALPHA_ENDINGS = ("zolam", "azepam", "nitazene", "nitazepyne", "fentanyl", "fentanil", "phenidate", "xetamine", "dck",
                  "ketamine", "mxe", "ylone", "edrone", "pentedrone")
PATTERN_NAMES = {f"p{i}": name for i, (name, _) in enumerate(PATTERNS)}
# a quantity or multiplier glued in front of a name is not part of it ("5xfentanyl", "10-fentanyl")
# nor is a market word ("non-fentanyl", "buy-")
_MULTIPLIER_RE = re.compile(r"^(?:\d+(?:[.,]\d+)?(?:x|mg|g|gr|ug|mcg|ml|pcs)-?(?=[a-z])|x\d+-?(?=[a-z])"
                            r"|(?:non|no|anti|pure|buy|real|fake|top|best|new|uk|us|eu)-)")

# written with a hyphen (or glued) before a name: a positional / halogen / alkyl modifier
_PREFIX_MODIFIER_RE = re.compile(
    r"^(?:\d{1,2}(?:f|cl|br|i|me|meo|ho|aco|et|d|c|n)?|f|cl|br|me|meo|ho|aco|n|o|bk|di|tri|nor|des|iso|homo|"
    r"desethyl|desmethyl|desalkyl|ethyl|methyl|propyl|butyl|fluoro|chloro|bromo|iodo|nitro|methoxy|hydroxy|"
    r"dimethyl|diethyl|dehydro|deschloro|ndesethyl|nethyl|nmethyl)$"
)
_SPACED_MODIFIERS = {"aco", "meo", "ho"}
# written with a hyphen after a name: a family suffix that makes another compound
# (digits are not: "MDMA-84%" is a purity)
_SUFFIX_MODIFIER_RE = re.compile(rf"^(?:nbome|nboh|nbf|nbcn|nbmd|{_CANNABINOID_TAIL}|dck|mxe|pcp)$")
# a digit written hyphenated before a name is a quantity when a unit follows it
_QUANTITY_RE = re.compile(r"^\d+(?:[.,]\d+)?(?:x|mg|g|gr|grams?|ug|mcg|ml|kg|oz|pcs|pills?|tabs?)$")


def strip_multiplier(token: str) -> tuple[str, int]:
    """(token without a leading quantity/multiplier, characters removed)."""
    m = _MULTIPLIER_RE.match(token)
    return (token[m.end():], m.end()) if m else (token, 0)


def candidate_spans(norm: str) -> list[tuple[int, int, str, str]]:
    """(start, end, token, pattern) of designer-drug-shaped tokens in normalised text."""
    found = []
    for tok in _TOKEN_RE.finditer(norm):
        text = tok.group()
        if len(text) < 3 or (text.isalpha() and not text.endswith(_ALPHA_ENDINGS)):
            continue
        if "-" not in text and (text.isdigit() or _QUANTITY_TOKEN.match(text)):
            continue  # "10g", "250mg", "5x": most tokens with digits are quantities
        m = CANDIDATE_RE.fullmatch(text)
        if m is None:
            continue
        start, end = tok.span()
        token, cut = strip_multiplier(text)
        if len(token) < 3:
            continue
        found.append((start + cut, end, token, PATTERN_NAMES[m.lastgroup or ""]))
    return found


def is_prefix_modifier(atom: str, gap: str) -> bool:
    """`atom` written right before a name, separated by `gap`, makes it an analogue."""
    if gap not in ("-", ""):
        # "N-desethyl protonitazene", "4 AcO DET": long or ring-substituent modifiers may stand apart
        return gap == " " and (len(atom) >= 6 or atom in _SPACED_MODIFIERS) and _PREFIX_MODIFIER_RE.match(atom) is not None
    if gap == "" and atom.isdigit():
        return False  # a number glued to a name is a quantity ("0.25mdma", "5xfentanyl")
    return not _QUANTITY_RE.match(atom) and _PREFIX_MODIFIER_RE.match(atom) is not None


def is_suffix_modifier(atom: str, gap: str) -> bool:
    return gap == "-" and _SUFFIX_MODIFIER_RE.match(atom) is not None


def is_ring_position(atom: str, modifier: str, gap: str) -> bool:
    """A single digit written apart before a spaced ring substituent ("4 AcO DET")."""
    return gap == " " and len(atom) == 1 and atom.isdigit() and modifier in _SPACED_MODIFIERS
