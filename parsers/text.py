"""Text clean-up before matching: Unicode forms, invisible characters, look-alike letters,
leetspeak and flag emoji.

Sellers disguise keywords ("mеphedrone" with a Cyrillic "е", "c0ca1ne", zero-width
joiners inside words) so that market filters miss them.  Folding is deliberately narrow:
digits are turned into letters only inside tokens that look like a word with digits
sprinkled in, never in quantities ("10g"), codes ("3-MMC", "2C-B", "M30") or addresses.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from core.text import collapse_spaces, strip_invisible
from parsers._base import Result, require_str

# look-alikes of Latin letters (Cyrillic, Greek, a few IPA/Latin-extended); folded only in
# tokens that also contain real Latin letters, so genuinely Cyrillic/Greek words survive
HOMOGLYPHS = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "к": "k", "м": "m",
    "т": "t", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ӏ": "l", "ɡ": "g", "ё": "e", "һ": "h",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "Х": "X", "У": "Y", "І": "I", "Ј": "J", "Ѕ": "S",
    "α": "a", "ο": "o", "ν": "v", "ρ": "p", "κ": "k", "ι": "i", "υ": "u",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
})
_CONFUSABLE_CHARS = frozenset(chr(k) for k in HOMOGLYPHS)

LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a"}
_WORD_RE = re.compile(r"[^\W_]+(?:@[^\W_]+)*", re.UNICODE)
# digits followed by a unit/ordinal suffix are measurements, never leetspeak
_MEASURE_TAIL = re.compile(r"\d+(?:mg|g|ug|mcg|µg|ml|kg|oz|lbs?|gr|x|pcs|mm|cm|k)$", re.I)
_FLAG_RE = re.compile("[\U0001F1E6-\U0001F1FF]{2}")


@dataclass(frozen=True)
class CleanText(Result):
    raw: str
    value: str
    changes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.value != self.raw


def flag_to_code(flag: str) -> str | None:
    """"🇳🇱" -> "NL" (regional indicator pair); None for anything else."""
    if len(flag) != 2 or not all(0x1F1E6 <= ord(c) <= 0x1F1FF for c in flag):
        return None
    return "".join(chr(ord(c) - 0x1F1E6 + ord("A")) for c in flag)


def _is_latin(c: str) -> bool:
    """Latin letter, accented ones included (Latin-1 Supplement and Latin Extended-A/B)."""
    return ("a" <= c <= "z") or ("A" <= c <= "Z") or ("\u00c0" <= c <= "\u024f" and c not in "\u00d7\u00f7")


def _is_leet_token(token: str) -> bool:
    if not (3 <= len(token) <= 16) or token[-1].isdigit():
        return False
    if token[0].isdigit() and token[0] != "0":
        return False  # "4mmc", "10g", "2cb", "1st": quantities and chemical codes
    digits = sum(c.isdigit() for c in token)
    if digits == 0 and "@" not in token:
        return False
    if digits > 3 or any(c.isdigit() and c not in LEET for c in token):
        return False
    if sum(c.isalpha() for c in token) < 2 or _MEASURE_TAIL.search(token):
        return False
    return True


def _fold_leet(token: str) -> str:
    upper = all(c.isupper() for c in token if c.isalpha())
    out = "".join(LEET.get(c, c) for c in token)
    return out.upper() if upper else out


def normalize_text(text: str, *, deobfuscate: bool = True) -> CleanText:
    """Normalise Unicode and (with `deobfuscate`) undo look-alike letters and leetspeak.

    Never raises on str input; every change made is listed in `.changes`."""
    raw = require_str(text)
    changes: list[str] = []
    value = raw
    if not value.isascii():
        nfkc = unicodedata.normalize("NFKC", value)
        if nfkc != value:
            changes.append("unicode NFKC")
            value = nfkc
        stripped = strip_invisible(value)
        if stripped != value:
            changes.append(f"removed {len(value) - len(stripped)} invisible character(s)")
            value = stripped
        if _FLAG_RE.search(value):
            def _flag(m: re.Match[str]) -> str:
                code = flag_to_code(m.group(0)) or ""
                changes.append(f"flag {m.group(0)} -> {code}")
                return f" {code} "
            value = _FLAG_RE.sub(_flag, value)
    if deobfuscate:
        value = _deobfuscate(value, changes)
    value = collapse_spaces(value)
    return CleanText(raw=raw, value=value, changes=changes)


def _deobfuscate(value: str, changes: list[str]) -> str:
    def fold(m: re.Match[str]) -> str:
        # leetspeak first, then look-alikes: this order makes the clean-up idempotent
        out = m.group(0)
        if _is_leet_token(out):
            folded = _fold_leet(out)
            if folded != out:
                changes.append(f"leetspeak {out} -> {folded}")
                out = folded
        if not out.isascii() and any(c in _CONFUSABLE_CHARS for c in out) and any(_is_latin(c) for c in out):
            folded = out.translate(HOMOGLYPHS)
            changes.append(f"homoglyphs {out} -> {folded}")
            out = folded
        return out

    if value.isascii() and not any(c.isdigit() or c == "@" for c in value):
        return value  # nothing to fold: the common case, kept cheap
    return _WORD_RE.sub(fold, value)


def clean_text(text: str) -> str:
    """The cleaned text only (what the matcher compares against reference names)."""
    return normalize_text(text).value
