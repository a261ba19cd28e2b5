"""Onion names and payment addresses are valid by their own checksums."""
from __future__ import annotations

import hashlib

import base58

from testbed.onion import bech32_valid, btc_bech32, is_valid_v3_onion, onion_address, onion_from_pubkey
from testbed.server import site_onions


def test_v3_onion_checksum_and_shape() -> None:
    name = onion_address(1, "nightshade")
    assert name.endswith(".onion") and len(name) == 62 and name == name.lower()
    assert is_valid_v3_onion(name)
    broken = ("b" if name[0] != "b" else "c") + name[1:]
    assert not is_valid_v3_onion(broken)


def test_onion_from_known_key_matches_spec_formula() -> None:
    import base64

    pubkey = hashlib.sha256(b"k").digest()
    checksum = hashlib.sha3_256(b".onion checksum" + pubkey + b"\x03").digest()[:2]
    expected = base64.b32encode(pubkey + checksum + b"\x03").decode().lower() + ".onion"
    assert onion_from_pubkey(pubkey) == expected


def test_sites_have_distinct_stable_addresses() -> None:
    ns, vx = site_onions(1, "nightshade"), site_onions(1, "vortex")
    assert len(ns) == 3 and len(vx) == 2 and not set(ns) & set(vx)
    assert site_onions(1, "nightshade") == ns
    assert site_onions(2, "nightshade") != ns


def test_bech32_bip173_vector() -> None:
    program = bytes.fromhex("751e76e8199196d454941c45d1b3a323f1433bd6")
    assert btc_bech32(program) == "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
    assert bech32_valid("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
    assert not bech32_valid("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5")


def test_vendor_btc_addresses_are_valid(tb) -> None:
    for site in ("nightshade", "vortex"):
        for vendor in tb.vendor_truth(site):
            for address in vendor["identifiers"]["btc"]:
                if address.startswith("bc1"):
                    assert bech32_valid(address), address
                else:
                    assert base58.b58decode_check(address)[0] == 0, address


def test_vendor_xmr_addresses_are_valid_monero(tb) -> None:
    from Crypto.Hash import keccak

    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    sizes = {2: 1, 3: 2, 5: 3, 6: 4, 7: 5, 9: 6, 10: 7, 11: 8}
    found = 0
    for site in ("nightshade", "vortex"):
        for vendor in tb.vendor_truth(site):
            for address in vendor["identifiers"].get("xmr", []):
                found += 1
                assert len(address) == 95 and address[0] == "4"
                raw = b""
                for start in range(0, len(address), 11):
                    chunk = address[start : start + 11]
                    number = 0
                    for char in chunk:
                        number = number * 58 + alphabet.index(char)
                    raw += number.to_bytes(sizes[len(chunk)], "big")
                body, checksum = raw[:-4], raw[-4:]
                assert body[0] == 18
                assert keccak.new(digest_bits=256, data=body).digest()[:4] == checksum
    assert found >= len(tb.vendor_truth("vortex"))
