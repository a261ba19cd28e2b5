"""enrich.match: precision on isomers and traps, spans in the original text, one function for all paths."""
from __future__ import annotations

import random

import pytest
from click.testing import CliRunner

from enrich import match, match_batch, match_reference
from tests.enrich.test_gold import load_gold
from trawl.enrich_cli import match as match_cmd


def names(text: str) -> list[str]:
    return [m.canonical for m in match(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3-MMC 5g", ["3-methylmethcathinone"]),
        ("4-MMC 5g", ["mephedrone"]),
        ("3-CMC 5g", ["3-chloromethcathinone"]),
        ("2C-B 10 pills", ["2C-B"]),
        ("2C-E 10 pills", ["2C-E"]),
        ("2C-B-FLY 10 pills", ["2C-B-FLY"]),
        ("4-FA 1g", ["4-FA"]),
        ("4-FMA 1g", ["4-FMA"]),
        ("4-FMC 1g", ["4-FMC"]),
        ("MDA", ["MDA"]),
        ("MDMA", ["MDMA"]),
        ("MDEA", ["MDEA"]),
    ],
)
def test_isomers_and_codes_are_exact(text: str, expected: list[str]) -> None:
    assert names(text) == expected


def test_codes_never_match_fuzzily() -> None:
    # one character from a real code is a different (or no) substance
    for text in ("5-MMC 5g", "3-XMC 5g", "2C-Q 10 pills", "MDMAA 1g", "4-FZ 1g"):
        assert all(m.reason != "fuzzy" for m in match(text)), text
    assert names("5-MMC 5g") == []


@pytest.mark.parametrize("text", ["basket of eggs", "coca-cola 2l", "high speed shipping", "price list", "ice cream 1L $4", "snow white"])
def test_common_word_traps(text: str) -> None:
    assert names(text) == []


@pytest.mark.parametrize(
    ("text", "expected", "reason"),
    [
        ("mephedron 5g", "mephedrone", "fuzzy"),
        ("metamfetamine 1g", "methamphetamine", "synonym"),
        ("ketamin 5g", "ketamine", "synonym"),
        ("alprazolan 2mg", "alprazolam", "fuzzy"),
        ("hydrochloride cocaine", "cocaine", "exact"),
    ],
)
def test_misspellings(text: str, expected: str, reason: str) -> None:
    found = match(text)
    assert [m.canonical for m in found] == [expected]
    assert found[0].reason == reason
    if reason == "fuzzy":
        assert 0.88 <= found[0].score < 1.0


def test_ambiguous_fuzzy_is_rejected() -> None:
    # equally close to isotonitazene and isotonitazepyne: two controlled substances, no guess
    assert names("isotonitazine 1g") == []


def test_context_street_names() -> None:
    assert names("speed 10g") == ["amphetamine"]
    assert names("speed") == []
    assert names("MDMA 1g, high speed shipping") == ["MDMA"]
    assert names("MDMA crystal 5g") == ["MDMA"]  # form word next to another drug
    assert names("crystal 3.5g") == ["methamphetamine"]
    assert names("boric acid 1kg") == []
    assert names("acid blotters 10x") == ["LSD"]
    found = match("ice 1g")
    assert found[0].reason == "street" and found[0].score == 0.85


def test_spans_point_into_the_original_text() -> None:
    text = "Best ＭＤＭＡ and co\u200bcaïne, α-PVP 1g"
    found = match(text)
    assert [m.canonical for m in found] == ["MDMA", "cocaine", "alpha-PVP"]
    for m in found:
        assert text[m.span[0]:m.span[1]] == m.matched_text
    assert [m.matched_text for m in found] == ["ＭＤＭＡ", "co\u200bcaïne", "α-PVP"]


def test_cas_number_in_text() -> None:
    found = match("CAS 4676-39-5 available, 1kg")
    assert [(m.canonical, m.reason) for m in found] == [("3,4-MDP-2-P", "cas")]
    assert names("order 4676-39-6") == []  # wrong check digit, no entry


def test_to_ref_builds_index_record() -> None:
    ref = match("Mephedrone 4-MMC 10g")[0].to_ref()
    assert (ref.name, ref.controls, ref.match_type, ref.matched_text) == ("mephedrone", ["1971:II"], "exact", "Mephedrone")
    assert ref.substance_class == "synthetic cathinone" and ref.score == 1.0


def test_batch_equals_single_and_reference_on_gold() -> None:
    texts = [text for text, _ in load_gold()]
    batch = match_batch(texts)
    assert batch == [match(t) for t in texts]
    assert batch == match_reference(texts)


def test_batch_equals_reference_on_random_misspellings() -> None:
    rng = random.Random(3)
    words = ["mephedrone", "methamphetamine", "alprazolam", "isotonitazene", "methylone", "ethylone", "buprenorphine",
             "clonazolam", "clonazepam", "flubromazolam", "pentedrone", "methedrone", "etizolam", "eutylone"]
    texts = []
    for _ in range(300):
        w = list(rng.choice(words))
        i = rng.randrange(len(w))
        op = rng.random()
        if op < 0.33:
            del w[i]
        elif op < 0.66:
            w[i] = rng.choice("aeiouxyzkt")
        else:
            w.insert(i, rng.choice("aeiou"))
        texts.append("".join(w) + " " + rng.choice(["1g", "5g", "x10", "pure"]))
    assert match_batch(texts) == match_reference(texts)
    # batch duplicates are independent copies
    twice = match_batch(["MDMA 1g", "MDMA 1g"])
    assert twice[0] == twice[1] and twice[0][0] is not twice[1][0]


def test_cli_match_json() -> None:
    result = CliRunner().invoke(match_cmd, ["3-MMC 10g and 3-CMPVP 5g", "--json"])
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.output)
    assert [m["canonical"] for m in data["matches"]] == ["3-methylmethcathinone"]
    assert data["matches"][0]["span"] == [0, 5]
    assert [c["token"] for c in data["candidates"]] == ["3-cmpvp"]
