"""extract_identifiers: only validated values come out."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enrich import extract_identifiers
from tests.enrich.test_crypto import GENESIS, P2WPKH, XMR


def test_addresses_contacts_and_links() -> None:
    text = (
        f"BTC: {GENESIS} (old: {GENESIS[:-1]}b) segwit {P2WPKH} XMR {XMR}\n"
        "Contact: wickr: chemking | telegram @chem_king | t.me/chemsupply | whatsapp +44 7700 900123\n"
        "mail me@proton.me, see https://example.org/shop. and http://abc.onion/x\n"
        "mirror: 2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion\n"
        "fingerprint: 2BB2 515C 0C6E A79F 307A 1DD5 BA14 BEA4 57B5 C180"
    )
    ids = extract_identifiers(text)
    assert ids["btc"] == [P2WPKH, GENESIS]
    assert ids["xmr"] == [XMR]
    assert ids["wickr"] == ["chemking"]
    assert ids["telegram"] == ["chem_king", "chemsupply"]
    assert ids["whatsapp"] == ["+447700900123"]
    assert ids["email"] == ["me@proton.me"]
    assert "https://example.org/shop" in ids["url"]
    assert ids["onion"] == ["2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion"]
    assert ids["pgp"] == ["2BB2515C0C6EA79F307A1DD5BA14BEA457B5C180"]


def test_invalid_onion_checksum_dropped() -> None:
    good = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion"
    bad = good.replace("2gzy", "3gzy")
    assert extract_identifiers(bad).get("onion") is None


def test_real_vendor_page(real_data_dir: Path) -> None:
    page = real_data_dir / "msc-darkweb-scraping" / "tests" / "dream" / "html_files" / "sellers" / "seller_3.html"
    ids = extract_identifiers(page.read_text(encoding="utf-8", errors="replace"))
    assert ids["pgp"] == ["A3B3D2911307854FF9F1EF26023A978295E3F02E"]
    # armour base64 never leaks out as fake addresses or handles
    assert all(len(a) < 60 for a in ids.get("btc", []))


# issue 14, class 12: a handle must look like one (strings written to show the class)
CONTACTS: list[tuple[str, str | None, list[str] | None]] = [  # (vendor-page text, kind, handles)
    ("@not-handles", None, None),
    ("NO WICKR HERE, dont ask. Regards", "wickr", []),
    ("Wickr: message us first on the market", "wickr", []),
    ("telegram: only ask here", "telegram", []),
    ("Wickr: Regards", "wickr", []),
    ("no telegram - scammers use it", "telegram", []),
    ("Wickr: shipping", "wickr", []),
    ("@handles", None, None),
    ("wickr: frostykings", "wickr", ["frostykings"]),
    ("Wickr ID: DutchQueen", "wickr", ["DutchQueen"]),
    ("telegram: @pharmacy", "telegram", ["pharmacy"]),
    ("t.me/greenline", "telegram", ["greenline"]),
    ("wickr: pills4u", "wickr", ["pills4u"]),
    ("we have no telegram. wickr: nordicplug", "wickr", ["nordicplug"]),
]


def _contact_params() -> list[object]:
    group, out = "", []
    for text, kind, handles in CONTACTS:
        if text.startswith("@"):
            group = text[1:]
            continue
        out.append(pytest.param(text, kind, handles, id=f"{group}: {text}"))
    return out


@pytest.mark.parametrize(("text", "kind", "handles"), _contact_params())
def test_contact_handles_look_like_handles(text: str, kind: str, handles: list[str]) -> None:
    assert extract_identifiers(text).get(kind, []) == handles


# --- the prefilter (words a pattern's matches always contain) against every pattern run plainly ---
ONION_V3 = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion"
FRAGMENTS = ["wickr", "WiCkR me", "telegram", "TG", "tg:", "t.me/", "Telegram.me/", "whats app", "WhatsApp",
             "wa.me/", "signal", "SIGNAL no.", "threema ID", "fingerprint", "FINGERPRINT=", "2BB2 515C 0C6E ",
             "05" + "ab" * 32, "@", "mail", "https://", "http", "://", "bc1", "LTC1", "BC1", ".onion", ".ONION",
             ONION_V3, "ſignal", "\u212aey", "ı", "é", " ", ": ", "-", "\n", "+44 7700 900123", "chem_king",
             "example.org", "ABCD1234", GENESIS, P2WPKH, XMR, "Regards", "message"]


@given(st.lists(st.sampled_from(FRAGMENTS), max_size=14).map("".join))
@settings(max_examples=400, deadline=None)
def test_prefilter_gives_what_every_pattern_gives(text: str) -> None:
    assert extract_identifiers(text) == extract_identifiers(text, prefilter=False)


def _real_texts(real_data_dir: Path) -> list[str]:
    """Visible text of the saved market pages (whole and line by line), and the real listings'
    titles and descriptions the listing-analysis reference test reads (every second row)."""
    import lxml.html

    from tests.enrich.test_listing_analysis import _real_items

    texts: list[str] = []
    for page in sorted(real_data_dir.rglob("*.htm*")):
        text = lxml.html.fromstring(page.read_bytes()).text_content()
        texts += [text, *text.splitlines()]
    return texts + [text for _, title, _, description in _real_items(real_data_dir, 2)
                    for text in (title, description) if text]


def test_prefilter_gives_what_every_pattern_gives_on_real_texts(real_data_dir: Path) -> None:
    texts = _real_texts(real_data_dir)
    with_ids = 0
    for text in texts:
        plain = extract_identifiers(text, prefilter=False)
        assert extract_identifiers(text) == plain, text[:300]
        with_ids += bool(plain)
    assert len(texts) > 5000 and with_ids >= 20, (len(texts), with_ids)  # not a comparison of empties
