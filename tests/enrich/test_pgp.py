"""PGP key blocks: real vendor keys, generated keys, and non-key blocks reported (never raised)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from enrich.pgp import _parse_packets, find_blocks, parse_pgp_key

VENDOR_PAGES = {
    "dream/html_files/sellers/seller_1.html": ("E362344E43958F4CD865C15637D1B00FC35FBD81", "panzer"),
    "dream/html_files/sellers/seller_3.html": ("A3B3D2911307854FF9F1EF26023A978295E3F02E", "CHEFRAMSAY"),
    "empire/html_files/pgp/saved_empire_pgp_0": ("2BB2515C0C6EA79F307A1DD5BA14BEA457B5C180", "ChillTimes"),
}


@pytest.mark.parametrize("page", sorted(VENDOR_PAGES))
def test_real_vendor_keys(real_data_dir: Path, page: str) -> None:
    text = (real_data_dir / "msc-darkweb-scraping" / "tests" / page).read_text(encoding="utf-8", errors="replace")
    info = parse_pgp_key(text)
    fingerprint, uid = VENDOR_PAGES[page]
    assert info.ok and info.method == "pgpy", info.error
    assert info.fingerprint == fingerprint and info.key_id == fingerprint[-16:]
    assert any(uid in u for u in info.user_ids)
    assert re.match(r"^20\d\d-\d\d-\d\dT", info.created)
    # the independent packet reader computes the same v4 fingerprint
    _, block = find_blocks(text)[0]
    fallback = _parse_packets(block)
    assert (fallback.ok, fallback.fingerprint, fallback.created) == (True, fingerprint, info.created)


def _generated_key() -> tuple[str, str, str]:
    from pgpy import PGPUID, PGPKey
    from pgpy.constants import EllipticCurveOID, HashAlgorithm, KeyFlags, PubKeyAlgorithm

    key = PGPKey.new(PubKeyAlgorithm.EdDSA, EllipticCurveOID.Ed25519)
    key.add_uid(PGPUID.new("Test Vendor", email="vendor@example.org"), usage={KeyFlags.Sign}, hashes=[HashAlgorithm.SHA256])
    return str(key.pubkey), str(key.fingerprint).replace(" ", ""), str(key)


def test_generated_key_with_indentation_and_html() -> None:
    public, fingerprint, _ = _generated_key()
    info = parse_pgp_key(public)
    assert info.ok and info.fingerprint == fingerprint and info.user_ids == ["Test Vendor <vendor@example.org>"]
    assert info.algorithm == "EdDSA"
    pasted = "<p>My key:<br>" + "<br>\n   ".join(public.splitlines()) + "</p>"
    assert parse_pgp_key(pasted).fingerprint == fingerprint


@pytest.mark.parametrize(
    ("block", "error"),
    [
        ("-----BEGIN PGP MESSAGE-----\n\nhQEMA5\n-----END PGP MESSAGE-----", "not a public key: PGP message"),
        ("-----BEGIN PGP SIGNATURE-----\n\niQEz\n-----END PGP SIGNATURE-----", "not a public key: PGP signature"),
        ("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64 at all!!\n-----END PGP PUBLIC KEY BLOCK-----", ""),
        ("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----", ""),
        ("just some text", "no PGP armour block found"),
        ("", "no PGP armour block found"),
    ],
)
def test_non_keys_are_reported_not_raised(block: str, error: str) -> None:
    info = parse_pgp_key(block)
    assert not info.ok and info.fingerprint == ""
    assert error in info.error and info.error


def test_private_key_block_is_not_a_public_key() -> None:
    _, _, private = _generated_key()
    info = parse_pgp_key(private)
    assert not info.ok and "not a public key" in info.error
