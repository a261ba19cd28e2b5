"""Deterministic, valid-looking Tor v3 onion addresses and crypto payment addresses.

v3 onion: base32(pubkey || checksum || version), checksum = SHA3-256(".onion checksum" ||
pubkey || version)[:2], version = 0x03 (rend-spec-v3).  The "public key" is 32 seeded
bytes rather than a real ed25519 point: nothing here ever signs with it.
"""
from __future__ import annotations

import base64
import hashlib

ONION_VERSION = b"\x03"


def seeded_bytes(*parts: object, length: int = 32) -> bytes:
    """Stable pseudo-random bytes for a label (sha256 chain, no global RNG)."""
    out = b""
    counter = 0
    label = "|".join(str(p) for p in parts).encode()
    while len(out) < length:
        out += hashlib.sha256(label + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:length]


def onion_from_pubkey(pubkey: bytes) -> str:
    if len(pubkey) != 32:
        raise ValueError("v3 onion public key must be 32 bytes")
    checksum = hashlib.sha3_256(b".onion checksum" + pubkey + ONION_VERSION).digest()[:2]
    return base64.b32encode(pubkey + checksum + ONION_VERSION).decode().lower() + ".onion"


def onion_address(seed: int, site: str, index: int = 0) -> str:
    """Address number `index` (0 = primary, 1.. = mirrors) of `site` for `seed`."""
    return onion_from_pubkey(seeded_bytes("onion", seed, site, index))


def is_valid_v3_onion(host: str) -> bool:
    """True when `host` is a syntactically valid v3 onion name with a correct checksum."""
    name = host.lower().removesuffix(".onion")
    if not host.lower().endswith(".onion") or len(name) != 56:
        return False
    try:
        raw = base64.b32decode(name.upper())
    except ValueError:
        return False
    pubkey, checksum, version = raw[:32], raw[32:34], raw[34:]
    if version != ONION_VERSION:
        return False
    return hashlib.sha3_256(b".onion checksum" + pubkey + version).digest()[:2] == checksum


# --- Bitcoin addresses ------------------------------------------------------------

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58check(payload: bytes) -> str:
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number = int.from_bytes(data, "big")
    encoded = ""
    while number:
        number, rem = divmod(number, 58)
        encoded = _B58[rem] + encoded
    leading_zeros = len(data) - len(data.lstrip(b"\x00"))
    return "1" * leading_zeros + encoded


def btc_p2pkh(seed_bytes: bytes) -> str:
    """Legacy 1... address over a 20-byte seeded 'hash160'."""
    return base58check(b"\x00" + seed_bytes[:20])


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32_polymod(values: list[int]) -> int:
    generator = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= generator[i] if ((top >> i) & 1) else 0
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convertbits(data: bytes, frombits: int, tobits: int) -> list[int]:
    acc = bits = 0
    out: list[int] = []
    maxv = (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if bits:
        out.append((acc << (tobits - bits)) & maxv)
    return out


def btc_bech32(seed_bytes: bytes, hrp: str = "bc") -> str:
    """Native segwit v0 P2WPKH (bc1q...) address with a real BIP-173 checksum."""
    data = [0] + _convertbits(seed_bytes[:20], 8, 5)
    polymod = _bech32_polymod(_hrp_expand(hrp) + data + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[d] for d in data + checksum)


def bech32_valid(address: str) -> bool:
    hrp, _, data_part = address.lower().rpartition("1")
    if not hrp or len(data_part) < 6 or any(c not in _BECH32 for c in data_part):
        return False
    return _bech32_polymod(_hrp_expand(hrp) + [_BECH32.index(c) for c in data_part]) == 1


# --- Monero addresses --------------------------------------------------------------

_XMR_BLOCK_CHARS = (0, 2, 3, 5, 6, 7, 9, 10, 11)  # encoded length for 0..8 input bytes


def monero_base58(data: bytes) -> str:
    """Monero's block-wise base58: 8-byte blocks -> 11 chars, last partial block shorter."""
    out = []
    for start in range(0, len(data), 8):
        block = data[start : start + 8]
        number = int.from_bytes(block, "big")
        chars = ""
        while number:
            number, rem = divmod(number, 58)
            chars = _B58[rem] + chars
        out.append(chars.rjust(_XMR_BLOCK_CHARS[len(block)], "1"))
    return "".join(out)


def xmr_standard(seed_bytes: bytes) -> str:
    """95-char standard address (network byte 18) over 64 seeded key bytes, Keccak-256 checksum."""
    from Crypto.Hash import keccak  # pycryptodome: hashlib's sha3 is not Monero's Keccak

    payload = b"\x12" + seed_bytes[:64]
    checksum = keccak.new(digest_bits=256, data=payload).digest()[:4]
    return monero_base58(payload + checksum)
