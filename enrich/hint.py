"""The listing's category as a substance hint ("Drugs » Cannabis - Buds and Flowers", "Weed").

A category is written by the market, not the vendor: an ordinary word in it ("Weed",
"Hash", "Speed") names its substance without any quantity next to it. The hint does two
things (enrich.matcher):

1. drug context: a category naming a substance or a drug family ("Stimulants", "Benzos")
   lets street words in the title count anywhere in the title ("7g premium thai weed");
2. fallback: when the title names no substance, no unlisted analogue and is no guide, the
   substance named by the most specific level of the category is reported, with reason
   `hint`, `source="hint"` and a lower score. Only the last level counts, or its parent
   when the last level is a form of the same thing ("Cannabis > Buds/Flowers"); a level naming
   two substances ("Cannabis & Hash") names none, and a custom listing ("custom listing for
   X") is a reservation, not an offer of the category's substance.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from enrich.match_types import SubstanceMatch
    from enrich.matcher import Matcher

LEVEL_SEPARATOR = re.compile(r"\s*(?:»|>|/|\||::|,|\s[-–]\s)\s*")
DRUG_FAMILY_WORDS = {
    "drugs", "drug", "cannabis", "stimulants", "stimulant", "opioids", "opiates", "benzos", "benzodiazepines",
    "psychedelics", "ecstasy", "dissociatives", "prescription", "pharmaceuticals", "pharmacy", "rc", "rcs",
    "research", "chemicals", "steroids", "weed", "hash", "edibles", "concentrates", "dmt", "mushrooms",
    "shrooms", "pills", "downers", "uppers", "empathogens", "entactogens", "sedatives", "painkillers",
}
# a last category level that only says which form of its parent is sold
FORM_LEVEL_WORDS = {
    "buds", "bud", "flowers", "flower", "shake", "trim", "prerolls", "pre", "rolls", "preroll", "seeds", "pills",
    "pill", "powder", "crystal", "crystals", "tabs", "blotters", "liquid", "bars", "and", "indoor", "outdoor",
    "smalls", "popcorn", "pressed", "domestic", "imported", "import",
}


@dataclass
class HintInfo:
    is_drug: bool
    matches: list[SubstanceMatch] = field(default_factory=list)


def read_hint(matcher: Matcher, prep: Any, decisions: dict[str, Any]) -> HintInfo:
    """What a category hint names (every list name counts there, street words included)."""
    hits = matcher.category_hits(prep, decisions)
    texts = [a.text for a in prep.atoms]
    is_drug = bool(hits) or any(t in DRUG_FAMILY_WORDS for t in texts)
    if not hits:
        return HintInfo(is_drug)
    level = [len(LEVEL_SEPARATOR.findall(prep.norm[:a.start])) for a in prep.atoms]
    last = level[-1]
    last_level_atoms = [t for t, lv in zip(texts, level, strict=True) if lv == last]
    wanted = {last}
    if all(t in FORM_LEVEL_WORDS for t in last_level_atoms) and last > 0:
        wanted.add(last - 1)
    chosen = [h for h in hits if level[h.start] in wanted]
    matches = [m for m in matcher.one_per_substance(prep, chosen, texts) if m.relation == "offered"]
    # a level naming two substances ("Cannabis & Hash", "Coke and Speed") is a family: no fallback
    return HintInfo(is_drug, matches if len(matches) == 1 else [])
