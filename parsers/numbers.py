"""Counts on pages: feedback "(1,234)", "1.2k", "Sold 532", "Quantity left: 8"."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from parsers._base import Result, locale_uses_decimal_comma, read_number, require_str

_INT_RE = re.compile(r"(?<![\w.,])(?P<num>\d{1,3}(?:[,.'\u00a0\u202f ]\d{3})+|\d+(?:[.,]\d+)?)\s*(?P<mult>k|m|mil|thousand|million)?(?![a-z])", re.I)
_MULT = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "mil": 1_000_000, "million": 1_000_000}


@dataclass(frozen=True)
class IntResult(Result):
    raw: str
    ok: bool = False
    error: str | None = None
    value: int | None = None
    matched: str | None = None


def parse_int(text: str, *, site_locale: str | None = None) -> IntResult:
    """First whole count in the text ("(1,234)" -> 1234, "1.2k" -> 1200, "Sold 532" -> 532)."""
    raw = require_str(text)
    s = unicodedata.normalize("NFKC", raw) if not raw.isascii() else raw
    m = _INT_RE.search(s)
    if m is None:
        return IntResult(raw=raw, error="no number found")
    token, mult = m.group("num"), (m.group("mult") or "").lower()
    if mult:
        value, _ = read_number(token, decimal_comma=locale_uses_decimal_comma(site_locale))
        if value is None:
            return IntResult(raw=raw, error=f"unreadable number {token!r}")
        return IntResult(raw=raw, ok=True, value=round(value * _MULT[mult]), matched=m.group(0))
    # counts are whole numbers, so a single separator before three digits groups thousands
    value, _ = read_number(token, decimal_comma=None if "," in token else True)
    if value is None or not float(value).is_integer():
        return IntResult(raw=raw, error=f"{token!r} is not a whole number", matched=m.group(0))
    if value > 10**15:
        return IntResult(raw=raw, error=f"{token!r} is implausibly large", matched=m.group(0))
    return IntResult(raw=raw, ok=True, value=int(value), matched=m.group(0))
