"""Address validation against published vectors, and every single-character mutation rejected."""
from __future__ import annotations

import hashlib

import base58
import pytest

from enrich.crypto import (
    bech32_decode,
    classify_address,
    keccak256,
    monero_address_kind,
    monero_b58decode,
    monero_b58encode,
    segwit_decode,
    segwit_encode,
)

GENESIS = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"  # block 0 coinbase address
P2SH = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"
P2WPKH = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"  # BIP-173 example for 751e76e8...
P2TR = "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"  # BIP-350/341 example
XMR = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"  # Monero general fund


@pytest.mark.parametrize(("address", "kind"), [(GENESIS, "btc"), (P2SH, "btc"), (P2WPKH, "btc"), (P2WPKH.upper(), "btc"),
                                               (P2TR, "btc"), (XMR, "xmr")])
def test_known_valid_addresses(address: str, kind: str) -> None:
    assert classify_address(address) == kind


@pytest.mark.parametrize("address", [GENESIS, P2SH, P2WPKH, P2TR, XMR])
def test_every_single_character_mutation_is_rejected(address: str) -> None:
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz" if not address.startswith("bc1") else "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
    start = 4 if address.startswith("bc1") else 1  # keep the prefix: mutate the payload and checksum
    for i in range(start, len(address)):
        for c in alphabet[:6]:
            if c == address[i]:
                continue
            mutated = address[:i] + c + address[i + 1:]
            assert classify_address(mutated) is None, mutated


def test_bip173_and_bip350_checksum_vectors() -> None:
    for valid in ("A12UEL5L", "a12uel5l", "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw"):
        assert bech32_decode(valid)[2] == "bech32"
    for valid in ("A1LQFN3A", "a1lqfn3a", "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx"):
        assert bech32_decode(valid)[2] == "bech32m"
    for invalid in ("A1G7SGD8", "x1b4n0q5v", "li1dgmt3", "pzry9x0s0muk", "1pzry9x0s0muk", "A12uEL5L"):
        assert bech32_decode(invalid) is None, invalid


def test_segwit_round_trip_and_version_rules() -> None:
    program = bytes.fromhex("751e76e8199196d454941c45d1b3a323f1433bd6")
    assert segwit_encode("bc", 0, program) == P2WPKH
    assert segwit_decode("bc", P2WPKH) == (0, program)
    # v0 program with a bech32m checksum is invalid (BIP-350)
    from enrich.crypto import bech32_encode, convertbits

    wrong = bech32_encode("bc", [0] + convertbits(list(program), 8, 5), "bech32m")
    assert segwit_decode("bc", wrong) is None
    assert classify_address(segwit_encode("tb", 0, program)) is None  # testnet is not btc mainnet


def test_base58_wrong_version_or_length_rejected() -> None:
    payload = b"\x6f" + bytes(20)  # testnet version byte
    testnet = base58.b58encode(payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]).decode()
    assert classify_address(testnet) is None
    assert classify_address(GENESIS[:-1]) is None


def test_monero_generated_and_mutated() -> None:
    assert monero_address_kind(XMR) == "standard"
    assert monero_b58encode(monero_b58decode(XMR)) == XMR
    body = bytes([42]) + bytes(range(64))
    sub = monero_b58encode(body + keccak256(body)[:4])
    assert sub[0] == "8" and len(sub) == 95 and monero_address_kind(sub) == "subaddress"
    broken = monero_b58encode(body + b"\x00\x00\x00\x00")
    assert monero_address_kind(broken) is None
