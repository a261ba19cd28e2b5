"""Hostile input: nothing raises, spans stay inside the text, batch == single."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from enrich import extract_identifiers, match, match_batch, new_substance_candidates, parse_pgp_key

WORDS = st.sampled_from(["MDMA", "3-MMC", "ketamin", "ice", "1g", "$40", "speed", "α-PVP", "ＭＤＭＡ", "co\u200bcaine",
                         "c0caine", "M.D.M.A", "acid", "tabs", "basket", "€", "\u00a0", "-", ",", "(", "3,4-", "fetty"])
TEXTS = st.one_of(st.text(max_size=200), st.lists(WORDS, max_size=12).map(" ".join))


@settings(max_examples=150, deadline=None)
@given(TEXTS)
def test_match_never_raises_and_spans_are_valid(text: str) -> None:
    found = match(text)
    for m in found:
        start, end = m.span
        assert 0 <= start < end <= len(text)
        assert text[start:end] == m.matched_text
    assert len({m.canonical for m in found}) == len(found)
    new_substance_candidates(text)
    extract_identifiers(text)


@settings(max_examples=40, deadline=None)
@given(st.lists(TEXTS, max_size=8))
def test_batch_equals_single(texts: list[str]) -> None:
    assert match_batch(texts) == [match(t) for t in texts]


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_pgp_garbage_is_reported(body: str) -> None:
    info = parse_pgp_key(f"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n{body}\n-----END PGP PUBLIC KEY BLOCK-----")
    assert info.ok is False or len(info.fingerprint) in (40, 64)
