"""Shared pieces of every parser: the JSON-friendly result base and number reading.

Numbers on listing pages use every separator convention at once ("1,234.50",
"1.234,50", "9 001.12", "85,40").  `read_number` is the one place that decides,
and it reports when a locale hint (or a currency's habits) broke a tie.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any

# languages/countries whose sites write "1.234,50"
DECIMAL_COMMA_LOCALES = frozenset(
    "de nl fr es it pt pl cs sk sl hr sr bg ro hu ru uk tr sv da no nb nn fi et lv lt el id vi be at ch".split()
)
# currencies whose home sites mostly write a decimal comma (used only when no locale hint)
DECIMAL_COMMA_CURRENCIES = frozenset("EUR PLN SEK NOK DKK CZK HUF TRY RUB BRL".split())


class Result:
    """Mixin for frozen result dataclasses: `to_dict()` gives plain JSON types."""

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for extra in getattr(value, "_derived", ()):
            out[extra] = _plain(getattr(value, extra))
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def require_str(text: object, name: str = "text") -> str:
    if not isinstance(text, str):
        raise TypeError(f"{name} must be str, not {type(text).__name__}")
    return text


def locale_uses_decimal_comma(locale: str | None) -> bool | None:
    """True/False for a known locale like "de", "de_DE", "en-GB"; None when unknown/absent."""
    if not locale:
        return None
    parts = re.split(r"[-_.]", locale.strip().lower())
    if parts[0] in DECIMAL_COMMA_LOCALES:
        return True
    if parts[0] in ("en", "ja", "zh", "ko", "th", "he", "ms", "hi") or parts[0] in ("us", "gb", "uk", "au", "ca"):
        return False
    if len(parts) > 1 and parts[1] in DECIMAL_COMMA_LOCALES:
        return True
    return None


# digits with optional group separators (",", ".", "'", thin/normal/no-break spaces) and decimals
# atomic alternatives, each ending where digits end: no regex built on it can backtrack
# exponentially through "1,000/1,000/..." (found by a pathological-input test)
NUMBER_PATTERN = (
    r"(?>\d{1,3}(?:(?:[,.'’]|[ \u00a0\u202f\u2009](?=\d{3}(?!\d)))\d{3})+(?:[.,]\d+)?(?!\d)"
    r"|\d+(?:[.,]\d+)?(?!\d)|[.,]\d+(?!\d))"
)
NUMBER_RE = re.compile(NUMBER_PATTERN)
_SPACES = " \u00a0\u202f\u2009"


def read_number(token: str, *, decimal_comma: bool | None = None) -> tuple[float | None, str | None]:
    """Value of one number token and, when a convention decided an ambiguous token, a note.

    `decimal_comma`: True = "1.234,5" convention, False = "1,234.5", None = unknown."""
    t = token.strip()
    for s in _SPACES + "'’":
        t = t.replace(s, "")
    if not t:
        return None, None
    has_dot, has_comma = "." in t, "," in t
    note = None
    if has_dot and has_comma:
        dec = "." if t.rfind(".") > t.rfind(",") else ","
        grp = "," if dec == "." else "."
        t = t.replace(grp, "").replace(dec, ".")
    elif has_dot or has_comma:
        sep = "." if has_dot else ","
        head, _, tail = t.rpartition(sep)
        if t.count(sep) > 1:
            t = t.replace(sep, "")  # "1.234.567" can only be grouping
        elif len(tail) != 3 or head in ("", "0"):
            t = head + "." + tail  # "85,40", "0.001", ",5": decimals
        else:
            # "1.000" / "1,000": grouping or three decimals; a convention decides
            as_group = sep == "," if decimal_comma is None else (sep == ".") == decimal_comma
            note = f"'{token.strip()}' is ambiguous: read '{sep}' as {'thousands' if as_group else 'decimal'} separator"
            t = head + tail if as_group else head + "." + tail
    try:
        return float(t), note
    except ValueError:
        return None, None


def fmt_num(value: float) -> str:
    """Shortest plain decimal text of a float (no exponent), for round-trip tests and CLI."""
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text or "0"
