"""When does an ordinary-word street name ("speed", "ice", "coke") mean a drug?

Rule (documented in the enrich README text):
1. Drug context is required somewhere in the text: a quantity or price
   ("3.5g", "10 pills", "$40", "0.002 btc"), a purity word ("pure", "uncut"),
   or another substance matched by a non-context name.
2. The neighbouring words must not make it a common phrase: "high speed",
   "speed shipping", "ice cream", "diet coke", "coke zero", "boric acid" (any
   "...ic acid"), "snow white".
3. Form words ("crystal", "ice", "shards", "snow", "rock") right next to another
   substance describe that substance's form ("MDMA crystal"), not a second drug.
4. Unless another substance is named in the text, the street name must sit next to
   the offer itself: a number or quantity ("tina 1g", "10 G ket"), or a form, grade or
   purity word ("acid tabs", "hash AAA", "eve lab tested").  "Molly dress 2 pcs",
   "acid reflux tablets" and "bars of soap" stay unmatched.
"""
from __future__ import annotations

import re

_QTY_RE = re.compile(
    r"\d+(?:[.,]\d+)?\s?(?:g|gr|grams?|kg|kilos?|mg|mcg|ug|μg|oz|ounces?|ml|pcs|pieces|pills?|tabs?|tablets?|caps?|capsules?|blotters?|bars?|x)\b"
)
_PRICE_RE = re.compile(r"[$€£]\s?\d|\d\s?(?:usd|eur|gbp|btc|xmr|ltc|\$|€|£)(?![a-z])")
_PURITY_WORDS = {"pure", "purity", "uncut", "lab", "tested"}
_QUANTITY_WORDS = {"qp", "hp", "oz", "zip", "eighth", "8th", "ounce", "gram", "grams"}

# words that turn the street name next to them into an everyday phrase
PREV_BLOCK = {
    "high", "fast", "full", "top", "max", "low", "express", "light", "super", "diet", "warp",
    "internet", "download", "upload", "connection", "shipping", "delivery", "black", "thin",
    "gold", "silver", "chocolate", "protein", "granola", "candy", "energy", "bath", "snack", "dry",
}
NEXT_BLOCK = {
    "shipping", "ship", "delivery", "deliveries", "post", "posting", "dispatch", "service", "services",
    "internet", "test", "tests", "boat", "cream", "cube", "cubes", "pack", "packs", "box", "zero",
    "cola", "white", "queen", "age", "skating", "hockey", "bucket", "machine", "maker", "storm",
    "board", "boarding", "limit", "bump", "bumps", "dial", "reader", "metal", "music", "house",
    "tea", "coffee", "cold", "water", "man", "muscle", "meat", "body", "mass", "exchange",
    "trading", "lending", "payment", "payments", "network", "transfer", "chains", "seed", "seeds",
    "lawn", "mower", "cutter", "killer", "reflux", "rate", "rates", "power",
}
OFFER_WORDS = {
    "tab", "tabs", "blotter", "blotters", "pill", "pills", "cap", "caps", "capsules", "shards", "shard",
    "crystal", "crystals", "rock", "rocks", "powder", "paste", "bar", "bars", "pellets", "lab", "tested",
    "pure", "uncut", "premium", "quality", "grade", "top", "best", "aaa", "aaaa", "aaaaa", "no", "indoor",
    "outdoor", "oil", "flowers", "buds", "haze", "pnp", "needlepoint", "fishscale", "flake", "hcl",
    "sample", "bulk", "stealth", "of", "x", "qp", "hp", "oz", "zip", "gram", "grams",
}
_NUMBERISH_RE = re.compile(r"^\d+(?:[.,]\d+)?[a-z]{0,5}$")


def next_to_offer(atom_texts: list[str], start: int, end: int) -> bool:
    """Rule 4: a number, quantity or offer word right before or after the name."""
    prev = atom_texts[start - 1] if start > 0 else ""
    nxt = atom_texts[end] if end < len(atom_texts) else ""
    if nxt and ((nxt in OFFER_WORDS and nxt != "of") or _NUMBERISH_RE.match(nxt)):
        return True
    # "1g of tina", "100 bars", "10 G ket": the quantity comes first
    before = atom_texts[start - 2] if start > 1 else ""
    return bool(prev and (_NUMBERISH_RE.match(prev) or (prev == "of" and _NUMBERISH_RE.match(before))
                          or (prev in {"g", "gr", "oz", "x"} and _NUMBERISH_RE.match(before))))


FORM_WORDS = {"crystal", "crystals", "ice", "shards", "snow", "rock", "rocks", "crack", "glass", "blotter", "blotters", "bars"}


def has_drug_context(norm: str, atom_texts: list[str], other_substance: bool) -> bool:
    if other_substance:
        return True
    if _QTY_RE.search(norm) or _PRICE_RE.search(norm):
        return True
    return any(a in _PURITY_WORDS or a in _QUANTITY_WORDS for a in atom_texts)


# Whole-title drug context (rule 5): a mass or dose ("7g", "(14grams)", "250 mgs", "1oz"), a
# per-gram price, or words that only drug listings use ("indoor", "AAA", "strain", "uncut").
_MASS_RE = re.compile(r"\d\s?(?:g|gr|grs|grams?|grammes?|grms|gm|kg|kilos?|mg|mgs|mcg|ug|oz|ounces?|lbs?|pounds?|qp|hp)\b")
DRUG_WORDS = {
    "pure", "purity", "uncut", "lab", "tested", "indoor", "outdoor", "hydro", "aaa", "aaaa", "aaaaa", "strain",
    "indica", "sativa", "hybrid", "thc", "cbd", "kush", "haze", "skunk", "buds", "bud", "nugs", "flower", "flowers",
    "shake", "trim", "pollen", "kief", "resin", "coffeeshop", "dispensary", "pharma", "pills", "tabs", "tablets",
    "blotters", "pellets", "stealth", "reagent", "grams", "gram", "oz", "ounce", "eighth", "qp", "hp", "zip",
    "moroccan", "afghan", "afghani", "colombian", "peruvian", "bolivian", "dutch", "cali", "premium", "organic",
    "stimulant", "stimulants", "partypack", "drugs", "psychedelics", "edibles", "vape", "carts",
}
# words of fraud / digital / guide listings: an ordinary word there is not a drug ("hash rate", "2fa")
NON_DRUG_WORDS = {
    "account", "accounts", "bank", "banks", "login", "logins", "card", "cards", "cc", "cvv", "fullz", "paypal",
    "software", "hack", "hacking", "hacked", "bypass", "2fa", "method", "methods", "ebook", "pdf", "tutorial",
    "guide", "netflix", "spotify", "crypter", "botnet", "sms", "ssn", "dob", "dumps", "logs", "template", "psd",
    "passport", "license", "licence", "info", "cashout", "carding", "bitcoin", "wallet", "rate", "hashrate",
    "mining", "miner", "gpu", "asic", "vpn", "proxy", "email", "emails", "database", "leak", "leaked", "script",
    "coinbase", "binance", "selfie", "selfies", "documents", "counterfeit", "replica", "watch",
    "dress", "shirt", "shoes", "game", "games", "key", "keys", "steam",
}


def has_title_context(norm: str, atom_texts: list[str]) -> bool:
    """Whole-title drug context: a mass/dose, a price per weight or a drug-listing word."""
    return not DRUG_WORDS.isdisjoint(atom_texts) or bool(_MASS_RE.search(norm))


def is_non_drug(atom_texts: list[str]) -> bool:
    return not NON_DRUG_WORDS.isdisjoint(atom_texts)


# Form and colour words: descriptors of a named substance ("champagne MDMA", "brown sugar
# MDMA rocks", "25I-NBOMe blotters"); they name a substance only when none is named.
DESCRIPTOR_WORDS = {
    "crystal", "crystals", "cristal", "cristals", "xtal", "ice", "shards", "shard", "glass", "snow", "rock", "rocks",
    "blotter", "blotters", "brown", "sugar", "white", "champagne", "pink", "blue", "golden", "tar", "base", "paste",
    "powder", "pearls", "flake", "fishscale", "bars", "bar", "tabs", "crack", "needlepoint", "shardz", "moonrock",
    "cart", "carts", "cartridge", "cartridges", "vape", "vapes", "disposable", "pen", "gummies", "edibles",
}


def is_descriptor(name_atoms: list[str]) -> bool:
    """A name made of form/colour words only ("crystal", "brown sugar", "blotters")."""
    return all(a in DESCRIPTOR_WORDS for a in name_atoms)


def blocked_by_neighbours(atom_texts: list[str], start: int, end: int) -> bool:
    """True when the words around atoms[start:end] make it an everyday phrase."""
    prev = atom_texts[start - 1] if start > 0 else ""
    nxt = atom_texts[end] if end < len(atom_texts) else ""
    if prev in PREV_BLOCK or nxt in NEXT_BLOCK:
        return True
    name = atom_texts[end - 1]
    # "boric acid", "citric acid", "hydrochloric acid": a chemical, not LSD
    return name == "acid" and prev.endswith("ic")


def is_form_of_neighbour(atom_texts: list[str], start: int, end: int, other_spans: list[tuple[int, int]]) -> bool:
    if atom_texts[start] not in FORM_WORDS:
        return False
    return any(s - 2 <= end and start <= e + 1 for s, e in other_spans)
