"""Cryptocurrency address validation: every checksum is verified, not just the shape.

- Bitcoin/Litecoin legacy: base58check (version byte + double-SHA256 checksum).
- Bitcoin/Litecoin segwit: bech32 (BIP-173, witness v0) and bech32m (BIP-350, v1+),
  implemented here from the BIP text.
- Monero: standard (95 chars, network byte 18 -> "4"), subaddress (42 -> "8") and
  integrated (19, 106 chars); Monero's block base58 and a Keccak-256 checksum.
"""
from __future__ import annotations

import hashlib

import base58
from Crypto.Hash import keccak

# --- base58check ----------------------------------------------------------------------
BTC_VERSIONS = {0x00: "p2pkh", 0x05: "p2sh"}
LTC_VERSIONS = {0x30: "p2pkh", 0x32: "p2sh"}


def _base58check_payload(address: str) -> bytes | None:
    try:
        raw = base58.b58decode(address)
    except ValueError:
        return None
    if len(raw) != 25:
        return None
    payload, checksum = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != checksum:
        return None
    return payload


def is_valid_base58_address(address: str, versions: dict[int, str]) -> bool:
    payload = _base58check_payload(address)
    return payload is not None and payload[0] in versions


# --- bech32 / bech32m (BIP-173 / BIP-350) -------------------------------------------------
CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32_CONST = 1
BECH32M_CONST = 0x2BC830A3
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate(_GENERATOR):
            if (top >> i) & 1:
                chk ^= gen
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def bech32_decode(text: str) -> tuple[str, list[int], str] | None:
    """(hrp, data without checksum, "bech32"|"bech32m") or None if invalid."""
    if any(ord(c) < 33 or ord(c) > 126 for c in text) or len(text) > 90:
        return None
    if text.lower() != text and text.upper() != text:
        return None  # mixed case is invalid
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text):
        return None
    hrp, data_part = text[:pos], text[pos + 1:]
    if any(c not in CHARSET for c in data_part):
        return None
    data = [CHARSET.find(c) for c in data_part]
    const = _polymod(_hrp_expand(hrp) + data)
    if const == BECH32_CONST:
        return hrp, data[:-6], "bech32"
    if const == BECH32M_CONST:
        return hrp, data[:-6], "bech32m"
    return None


def bech32_encode(hrp: str, data: list[int], spec: str = "bech32") -> str:
    const = BECH32_CONST if spec == "bech32" else BECH32M_CONST
    polymod = _polymod(_hrp_expand(hrp) + data + [0] * 6) ^ const
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(CHARSET[d] for d in data + checksum)


def convertbits(data: list[int], frombits: int, tobits: int, pad: bool = True) -> list[int] | None:
    acc = bits = 0
    out: list[int] = []
    maxv = (1 << tobits) - 1
    for value in data:
        if value < 0 or value >> frombits:
            return None
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        return None
    return out


def segwit_decode(hrp: str, address: str) -> tuple[int, bytes] | None:
    """(witness version, program) for a valid segwit address of this hrp."""
    decoded = bech32_decode(address)
    if decoded is None or decoded[0] != hrp or not decoded[1]:
        return None
    _, data, spec = decoded
    version = data[0]
    program = convertbits(data[1:], 5, 8, pad=False)
    if program is None or not 2 <= len(program) <= 40 or version > 16:
        return None
    if version == 0 and len(program) not in (20, 32):
        return None
    # BIP-350: v0 must use bech32, v1..16 must use bech32m
    if (version == 0) != (spec == "bech32"):
        return None
    return version, bytes(program)


def segwit_encode(hrp: str, version: int, program: bytes) -> str:
    spec = "bech32" if version == 0 else "bech32m"
    return bech32_encode(hrp, [version] + (convertbits(list(program), 8, 5) or []), spec)


# --- Monero ------------------------------------------------------------------------------
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ENCODED_BLOCK = [0, 2, 3, 5, 6, 7, 9, 10, 11]  # chars for 0..8 bytes
XMR_NETWORK_BYTES = {18: "standard", 42: "subaddress", 19: "integrated"}


def monero_b58decode(text: str) -> bytes | None:
    out = bytearray()
    for i in range(0, len(text), 11):
        block = text[i:i + 11]
        if len(block) not in _ENCODED_BLOCK:
            return None
        size = _ENCODED_BLOCK.index(len(block))
        num = 0
        for c in block:
            idx = _B58.find(c)
            if idx < 0:
                return None
            num = num * 58 + idx
        if num >= 1 << (8 * size):
            return None
        out += num.to_bytes(size, "big")
    return bytes(out)


def monero_b58encode(data: bytes) -> str:
    chunks = []
    for i in range(0, len(data), 8):
        block = data[i:i + 8]
        num = int.from_bytes(block, "big")
        chars = []
        for _ in range(_ENCODED_BLOCK[len(block)]):
            num, rem = divmod(num, 58)
            chars.append(_B58[rem])
        chunks.append("".join(reversed(chars)))
    return "".join(chunks)


def keccak256(data: bytes) -> bytes:
    h = keccak.new(digest_bits=256)
    h.update(data)
    return h.digest()


def monero_address_kind(address: str) -> str | None:
    """'standard' | 'subaddress' | 'integrated' for a valid mainnet address, else None."""
    if len(address) not in (95, 106):
        return None
    raw = monero_b58decode(address)
    if raw is None or len(raw) not in (69, 77):
        return None
    body, checksum = raw[:-4], raw[-4:]
    if keccak256(body)[:4] != checksum:
        return None
    kind = XMR_NETWORK_BYTES.get(body[0])
    if kind is None or (kind == "integrated") != (len(raw) == 77):
        return None
    return kind


# --- one entry point -------------------------------------------------------------------
def classify_address(address: str) -> str | None:
    """'btc' | 'ltc' | 'xmr' for a valid address (checksum verified), else None."""
    if len(address) in (95, 106) and address[0] in "48":
        return "xmr" if monero_address_kind(address) else None
    lower = address.lower()
    if lower.startswith("bc1"):
        return "btc" if segwit_decode("bc", address) else None
    if lower.startswith("ltc1"):
        return "ltc" if segwit_decode("ltc", address) else None
    if 25 <= len(address) <= 35:
        if is_valid_base58_address(address, BTC_VERSIONS):
            return "btc"
        if is_valid_base58_address(address, LTC_VERSIONS):
            return "ltc"
    return None
