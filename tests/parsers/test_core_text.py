"""core.text: the character-level folding parsers/ and enrich/ share."""
from __future__ import annotations

import doctest

import core.text
from core.text import fold_unicode
from enrich.normalize import normalise_with_offsets
from parsers import clean_text


def test_doctests() -> None:
    failures, tried = doctest.testmod(core.text)
    assert tried >= 5 and failures == 0


def test_one_character_folds_as_parsers_clean_text() -> None:
    """enrich folds one character at a time; on a single character the shared fold must agree
    with the full parsers clean-up (which adds only word-level steps), over the whole BMP."""
    differ = [hex(cp) for cp in range(0x80, 0x10000)
              if not 0xD800 <= cp <= 0xDFFF and not chr(cp).isspace() and fold_unicode(chr(cp)) != clean_text(chr(cp))]
    assert differ == []


def test_matching_normalisation_uses_the_fold() -> None:
    norm, offsets = normalise_with_offsets("ｍｅｐｈ\u200bedrone \u202eα-PVP")
    assert norm == "mephedrone alpha-pvp"
    assert offsets is not None and len(offsets) == len(norm)
