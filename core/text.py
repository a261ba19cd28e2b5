"""Character-level Unicode folding shared by parsers/ (text clean-up) and enrich/ (matching).

Pure functions, no project imports. Only the steps that need no context live here:
Unicode compatibility forms, invisible characters, whitespace runs. Look-alike letters and
leetspeak depend on the surrounding word and stay with their users (parsers.text, enrich.normalize).
"""
from __future__ import annotations

import re
import unicodedata

# zero-width characters, the soft hyphen, the Mongolian vowel separator and bidi controls:
# sellers put them inside words so that filters miss them
INVISIBLE: dict[int, None] = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f\u202a\u202b\u202c\u202d\u202e"), None
)
_SPACE_RE = re.compile(r"\s+")


def strip_invisible(text: str) -> str:
    """Remove invisible characters.

    >>> strip_invisible("me\\u200bph\\u00adedrone")
    'mephedrone'
    """
    return text.translate(INVISIBLE)


def collapse_spaces(text: str) -> str:
    """Runs of whitespace (NBSP included) become one space; ends are trimmed.

    >>> collapse_spaces("  10\\u00a0g \\n pure ")
    '10 g pure'
    """
    return _SPACE_RE.sub(" ", text).strip()


def fold_unicode(text: str) -> str:
    """NFKC compatibility form, invisible characters removed, whitespace collapsed.

    >>> fold_unicode("ｍｅｐｈ\\u200bedrone")
    'mephedrone'
    >>> fold_unicode("\\u202e")
    ''
    >>> fold_unicode("½")
    '1⁄2'
    """
    if text.isascii():
        return collapse_spaces(text)
    return collapse_spaces(strip_invisible(unicodedata.normalize("NFKC", text)))
