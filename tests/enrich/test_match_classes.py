"""Issue 14 substance classes, one table each: strings written to show the class (not copied
from real listings). Each row: text -> offered canonical names (and mentioned where the class
is about relations). Known failures are xfail(strict=True), so a fix has to move them."""
from __future__ import annotations

import pytest

from enrich import analyse, match, match_batch, match_reference
from enrich.lists import default_lists
from enrich.normalize import name_key


def offered(text: str, hint: str | None = None) -> list[str]:
    return [m.canonical for m in match(text, hint=hint) if m.relation == "offered"]


def mentioned(text: str, hint: str | None = None) -> list[str]:
    return [m.canonical for m in match(text, hint=hint) if m.relation == "mentioned"]


def row(text: str, *expected: str, xfail: str = "") -> object:
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(text, list(expected), id=text, marks=marks)


# -- class 1: drug context from the whole title and the category ------------------------------
CONTEXT = [
    row("7g premium thai weed", "cannabis"),
    row("5 grams pure uncut coke", "cocaine"),
    row("lemon pollen hash AAA", "cannabis resin"),
    row("DAMP STRONG SMELLING SPEED 1g", "amphetamine"),
    row("250 mgs TOP SHELF ICE", "methamphetamine"),
    row("3.5 GRAMS - HYDRO BUDS - WEED", "cannabis"),
    # non-drug listings keep ordinary words ordinary
    row("coinbase account + 2fa bypass"),
    row("Bank login, no 2fa, full info"),
    row("BTC hash rate 5 TH/s rental $40"),
    row("Molly dress 2 pcs"),
    row("acid reflux tablets 20 pack"),
    row("dry ice pellets 5kg"),
]


@pytest.mark.parametrize(("text", "expected"), CONTEXT)
def test_whole_title_context(text: str, expected: list[str]) -> None:
    assert offered(text) == expected


HINTED = [
    # (title, category) -> offered
    pytest.param("Grandpa Zorblax 3.5g", "Weed", ["cannabis"], id="unknown strain | Weed"),
    pytest.param("Premium hash from Morocco", "Drugs » Cannabis - Hash", ["cannabis resin"], id="hash | Cannabis - Hash"),
    pytest.param("Special offer 10 pieces", "Benzos > Xanax", ["alprazolam"], id="no name | Benzos > Xanax"),
    pytest.param("Lemon Haze 14g", "Cannabis > Buds/Flowers", ["cannabis"], id="parent level | Buds/Flowers"),
    pytest.param("Custom listing for a regular", "Stimulants > Cocaine", [], id="custom listing | Cocaine"),
    pytest.param("Mixed bag 28g", "Cannabis & Hash", [], id="two-substance level names none"),
    pytest.param("New 3-CMPVP 5g", "Stimulants > Cocaine", [], id="unlisted analogue beats the category"),
    pytest.param("Growing guide pdf", "Cannabis > Books", [], id="guide | cannabis category"),
    pytest.param("Netflix account 1 year", "Digital > Accounts", [], id="non-drug category"),
]


@pytest.mark.parametrize(("text", "hint", "expected"), HINTED)
def test_category_hint(text: str, hint: str, expected: list[str]) -> None:
    found = [m for m in match(text, hint=hint) if m.relation == "offered"]
    assert [m.canonical for m in found] == expected
    for m in found:
        if m.source == "hint":
            assert m.reason == "hint" and m.score <= 0.6 and hint[m.span[0]:m.span[1]] == m.matched_text


def test_hint_gives_context_to_title_street_words() -> None:
    assert offered("weed, the special one") == []
    assert offered("weed, the special one", hint="Weed") == ["cannabis"]


# -- class 2: form and colour words are descriptors --------------------------------------------
DESCRIPTORS = [
    row("25I-NBOMe 800ug blotters", "25I-NBOMe"),
    row("flubromazolam 0.25mg blotter", "flubromazolam"),
    row("brown sugar MDMA rocks", "MDMA"),
    row("champagne MDMA, light brown crystal", "MDMA"),
    row("Pentylone 250g 99 crystal", "pentylone"),
    row("KETAMINE 1G NEEDLE SHARDS", "ketamine"),
    row("DMT 1 Gram Crystal Powder", "DMT"),
    row("crystal 3.5g", "methamphetamine"),  # alone, the form word still names its drug
    row("Brown 5 grams", "heroin"),
    row("blotters 10x 100ug", "LSD"),
    row("crystal methylone 50g", "methylone"),
    row("C-STAMP GREY/BROWN 2G"),  # a colour in a list of colours
    row("Ketamin canadian made crystals", "ketamine"),
]


@pytest.mark.parametrize(("text", "expected"), DESCRIPTORS)
def test_form_and_colour_words(text: str, expected: list[str]) -> None:
    assert offered(text) == expected


# -- class 3: analogues never collapse to their parent ----------------------------------------
ANALOGUES = [
    # (text, the analogue's token, the parent it must never become). Whether the analogue itself
    # is listed depends on the lists: listed, it is matched whole; unlisted, it is a candidate.
    pytest.param("5F-AB-PINACA 1g", "5F-AB-PINACA", "AB-PINACA", id="5F-AB-PINACA"),
    pytest.param("Buy ADB-Pinaca online", "ADB-Pinaca", "AB-PINACA", id="ADB-Pinaca"),
    pytest.param("3-CL-PCP large crystal", "3-CL-PCP", "phencyclidine", id="3-CL-PCP"),
    pytest.param("N-DESETHYL-PROTONITAZENE gel tabs", "N-DESETHYL-PROTONITAZENE", "protonitazene",
                 id="N-desethyl-protonitazene"),
    pytest.param("DMXE nasal spray 10ml", "DMXE", "MXE", id="DMXE"),
    pytest.param("3D-MXE 1g", "3D-MXE", "MXE", id="3D-MXE"),
    pytest.param("Fluorexetamine 250mg", "Fluorexetamine", "2-FDCK", id="fluorexetamine (not 2-FDCK)"),
    pytest.param("dimethylone 10g", "dimethylone", "methylone", id="dimethylone (not methylone)"),
    pytest.param("dibutylone 10g", "dibutylone", "butylone", id="dibutylone (not butylone)"),
    pytest.param("dimethylbutylone 10g", "dimethylbutylone", "butylone", id="dimethylbutylone"),
    pytest.param("5-MeO-MALT 1g", "5-MeO-MALT", "5-MeO-DMT", id="5-MeO-MALT (not 5-MeO-DMT)"),
    pytest.param("5-MeO-DALT 1g", "5-MeO-DALT", "5-MeO-DMT", id="5-MeO-DALT (not 5-MeO-DMT)"),
    pytest.param("25B-NBOH .HCL", "25B-NBOH", "25B-NBOMe", id="25B-NBOH"),
    pytest.param("4F-ADB 500g", "4F-ADB", "ADB", id="4F-ADB"),
    pytest.param("4 ACO DET fumarate 1g", "4 ACO DET", "DET", id="4 AcO DET (spaced)"),
    pytest.param("TMA-2 250mg", "TMA-2", "TMA", id="TMA-2"),
    pytest.param("4-CMA powder 5g", "4-CMA", "methamphetamine", id="4-CMA"),
    pytest.param("N-ethyl-pentylone 1g", "N-ethyl-pentylone", "pentylone", id="N-ethyl-pentylone"),
    pytest.param("5Cl-AKB48 10g", "5Cl-AKB48", "AKB48", id="5Cl-AKB48"),
]


@pytest.mark.parametrize(("text", "token", "parent"), ANALOGUES)
def test_analogues_never_collapse(text: str, token: str, parent: str) -> None:
    result = analyse(text)
    assert parent not in [m.canonical for m in result.matches]
    whole = [m for m in result.matches if name_key(m.matched_text) == name_key(token)]
    flagged = [c for c in result.candidates if name_key(c.token) == name_key(token)]
    assert len(whole) + len(flagged) == 1, (result.matches, result.candidates)
    if whole:  # listed: matched exactly as itself, never fuzzily
        assert whole[0].reason != "fuzzy"
    # the matcher and early warning read the text the same way: no match inside a candidate
    for cand in result.candidates:
        assert not any(m.span[0] >= cand.span[0] and m.span[1] <= cand.span[1] for m in result.matches)


LISTED_CODES = [
    row("5-MeO-DMT 1g", "5-MeO-DMT"),
    row("4F-MPH 1g", "4F-MPH"),
    row("2-FDCK 5g", "2-FDCK"),
    row("MDMB-4en-PINACA 1g", "MDMB-4en-PINACA"),
    row("MDMA-84% 1g", "MDMA"),  # a purity, not a suffix
    row("0.25mdma", "MDMA"),  # a quantity, not a prefix
    row("2 MDMA pills", "MDMA"),
]


@pytest.mark.parametrize(("text", "expected"), LISTED_CODES)
def test_listed_codes_and_quantities_next_to_names(text: str, expected: list[str]) -> None:
    assert offered(text) == expected


# -- class 4: negation and comparison make a name `mentioned` --------------------------------
RELATIONS = [
    # (text, offered, mentioned)
    pytest.param("no fent! heroin no.4 5g", ["heroin"], ["fentanyl"], id="no fent! heroin no.4"),
    pytest.param("Oxycodone M30 fent-free x10", ["oxycodone"], ["fentanyl"], id="fent-free"),
    pytest.param("MDMA pills 10x | meth and fent FREE!", ["MDMA"], ["methamphetamine", "fentanyl"],
                 id="meth and fent FREE!"),
    pytest.param("Oxycodone M30 NON Fentanyl pills", ["oxycodone"], ["fentanyl"], id="NON Fentanyl"),
    pytest.param("etizolam pellets - like xanax", ["etizolam"], ["alprazolam"], id="like xanax"),
    pytest.param("4-MEC (similar to meph)", ["4-MEC"], ["mephedrone"], id="similar to meph"),
    pytest.param("isotonitazene (stronger than oxy) 1g", ["isotonitazene"], ["oxycodone"], id="stronger than oxy"),
    pytest.param("1gr Diclazepam analog of Diazepam", ["diclazepam"], ["diazepam"], id="analog of"),
    pytest.param("4F-MPH ( ritalin / methylphenidate analogue )", ["4F-MPH"], ["methylphenidate"],
                 id="ritalin / methylphenidate analogue"),
    pytest.param("Eutylone crystal a.k.a Molly subs 14g", ["eutylone"], ["MDMA"], id="Molly subs"),
    pytest.param("How To Make Amphetamine (SPEED)", [], ["amphetamine"], id="how to make"),
    pytest.param("Meth pipe glass", [], ["methamphetamine"], id="meth pipe"),
    pytest.param("Complete MDMA synthesis guide", [], ["MDMA"], id="synthesis guide"),
    pytest.param("SYNTHETIC COCAINE 28g", [], ["cocaine"], id="synthetic cocaine"),
    pytest.param("Modafinil 200mg, like Adderall", ["modafinil"], ["amphetamine"], id="like Adderall"),
    pytest.param("Herbal caps 500mg, natural Viagra", [], ["sildenafil"], id="natural Viagra"),
    pytest.param("Crystal meth 50g 99% ephedrine", ["methamphetamine"], ["ephedrine"], id="precursor route"),
    pytest.param("MDMA 84% FREE shipping 5g", ["MDMA"], [], id="FREE shipping is no negation"),
    pytest.param("Cocaine 1g, no cut", ["cocaine"], [], id="no cut"),
    pytest.param("Blue Xanax B707 4mg bromazolam", ["bromazolam"], ["alprazolam"], id="pill style"),
]


@pytest.mark.parametrize(("text", "expected", "named"), RELATIONS)
def test_negation_and_comparison(text: str, expected: list[str], named: list[str]) -> None:
    assert offered(text) == expected
    assert mentioned(text) == named


def test_mentioned_goes_to_its_own_record_field() -> None:
    from core.records import Listing

    found = match("Oxycodone M30 NON Fentanyl pills")
    listing = Listing(listing_id="x:1", site="x", market_kind="darknet-market", url="", title="t",
                      substances=[m.to_ref() for m in found if m.relation == "offered"],
                      mentioned_substances=[m.to_ref() for m in found if m.relation == "mentioned"])
    assert [(r.name, r.relation) for r in listing.substances] == [("oxycodone", "offered")]
    assert [(r.name, r.relation) for r in listing.mentioned_substances] == [("fentanyl", "mentioned")]


# -- class 6: misspellings and glued tokens, within isomer/analogue boundaries -----------------
MISSPELT = [
    row("herion 1g", "heroin"),
    row("alprozelam 2mg", "alprazolam"),
    row("suboxen 8mg", "buprenorphine"),
    row("25I-NBMOe 10x", "25I-NBOMe"),
    row("vigara 100mg x10", "sildenafil"),
    row("rohypnol2mg x10", "flunitrazepam"),
    row("0.25mdma", "MDMA"),
    row("5xfentanyl", "fentanyl"),
    row("xanax2mg bars", "alprazolam"),
    row("mephedron 5g", "mephedrone"),
    # boundaries: digits never move, family and prefix differences are other substances
    row("3-MCM 5g"),
    row("isotonitazine 1g"),
    row("MAD 5g"),
    row("400 ICE SPEED PILLS 25mg", "methamphetamine",
        xfail="two street words for two drugs side by side: the matcher cannot tell which one the pill is"),
]


@pytest.mark.parametrize(("text", "expected"), MISSPELT)
def test_misspellings_and_glued_tokens(text: str, expected: list[str]) -> None:
    assert offered(text) == expected


# -- class 7: every match carries the substance's other names ---------------------------------
def test_matches_carry_synonyms() -> None:
    lists = default_lists()
    for text in ("mephedrone 5g", "4-MMC 5g", "meow meow 5g", "MDMA 1g", "3-MMC 1g"):
        for m in match(text):
            sub = lists.substances[m.canonical]
            every = {n for names in sub.names.values() for n in names} - {m.canonical}
            assert set(m.synonyms) == every and m.canonical not in m.synonyms, text
    mmc = match("3-MMC 1g")[0]
    assert "3-MMC" in mmc.synonyms and mmc.canonical == "3-methylmethcathinone"


# -- class 8: early warning drops noise --------------------------------------------------------
NOISE = [
    pytest.param("5xfentanyl 10g", id="5xfentanyl"),
    pytest.param("alprozolam 2mg", id="alprozolam (misspelt alprazolam)"),
    pytest.param("non-fentanyl pills", id="non-fentanyl"),
    pytest.param("10x-etizolam pellets", id="10x-etizolam"),
]


@pytest.mark.parametrize("text", NOISE)
def test_early_warning_drops_noise(text: str) -> None:
    assert analyse(text).candidates == []


# -- one matching function: batch (cdist) == single == plain reference -------------------------
def test_every_table_batch_equals_reference() -> None:
    tables = (CONTEXT, DESCRIPTORS, ANALOGUES, LISTED_CODES, RELATIONS, MISSPELT, HORMONE_CLASS_TAGS)
    texts = [p.values[0] for table in tables for p in table]
    hints = [None] * len(texts)
    texts += [p.values[0] for p in HINTED]
    hints += [p.values[1] for p in HINTED]
    batch = match_batch(texts, hints=hints)
    assert batch == [match(t, hint=h) for t, h in zip(texts, hints, strict=True)]
    assert batch == match_reference(texts, hints=hints)


# -- combination brands: one brand, several actives (pharmacy listings) ----------------------
COMBINATIONS = [
    row("Yasmin 3mg/0.03mg x 63 tablets", "drospirenone", "ethinylestradiol"),
    row("Marvelon 21 tabs - 3 month pack", "desogestrel", "ethinylestradiol"),
    row("Super Kamagra 160mg 10 pills", "dapoxetine", "sildenafil"),
    row("SUPER P-FORCE 100/60 x20", "dapoxetine", "sildenafil"),
    row("Super Vidalista (tadalafil+dapoxetine) 30 tabs", "dapoxetine", "tadalafil"),
    row("Sildalist 120 mg x 30", "tadalafil", "sildenafil"),
    # the single-active brand stays single
    row("Kamagra 100mg 4 tabs", "sildenafil"),
    row("Cerazette 75mcg 28 tabs", "desogestrel"),
]


@pytest.mark.parametrize(("text", "expected"), COMBINATIONS)
def test_combination_brands_offer_every_active(text: str, expected: list[str]) -> None:
    assert sorted(offered(text)) == sorted(expected)


# -- hormone class tags: "(progesterone) (estrogen)" after named hormones are labels, not offers --
# Pharmacy titles (medrepro-2025 rows 1 and 14, Black Ops and Drug Hub) append the class of each
# active in parentheses after naming it; the real rows are checked in test_real_hormone_tags.py.
# Labelled by hand before the matcher was run on them: the tags are neither offered nor mentioned.
HORMONE_CLASS_TAGS = [
    row("Norethisterone 50 mg + Estradiol 10 mg / 1mL 10 mL Vial (progesterone) (estrogen)",
        "estradiol", "norethisterone"),
    row("Estradiol Valerate 10mg/ml 5ml vial (estrogen)", "estradiol"),
    row("Medroxyprogesterone 150mg x 10 tabs (progesterone)", "medroxyprogesterone"),
    row("Levonorgestrel 1.5mg 1 tablet (progesterone)", "levonorgestrel"),
    row("Premarin 0.625mg 28 tabs (estrogen)", "conjugated estrogens"),
    # the hormone named as the product stays the product, in parentheses or not
    row("Progesterone 100mg 30 caps (Utrogestan)", "progesterone"),
    row("Prometrium 200mg x 30 (progesterone)", "progesterone"),
    row("Progynova 2mg 84 tabs (estradiol)", "estradiol"),
    row("(progesterone) 100mg capsules x 30", "progesterone"),
    # Mesigyna is norethisterone + estradiol, but no list knows the brand: the tag alone reads as the offer
    row("Mesigyna 10 mL vial (progesterone) (estrogen)", "estradiol", "norethisterone",
        xfail="combination brand missing from enrich/data: only the class tag is left to match"),
]


@pytest.mark.parametrize(("text", "expected"), HORMONE_CLASS_TAGS)
def test_hormone_class_tags_are_not_offers(text: str, expected: list[str]) -> None:
    matches = match(text)
    assert sorted(m.canonical for m in matches if m.relation == "offered") == sorted(expected)
    assert [m.canonical for m in matches if m.relation != "offered"] == []
