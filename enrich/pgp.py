"""OpenPGP public key blocks as vendors publish them: fingerprint, key id, user ids, date.

PGPy (a real OpenPGP implementation) parses the key; when it cannot (unsupported
algorithm, a v5/v6 key, a damaged self-signature), a minimal packet reader
computes the fingerprint from the primary key packet as RFC 4880 / RFC 9580
define it (v4: SHA-1 over 0x99 || 2-byte length || body; v6: SHA-256 over
0x9B || 4-byte length || body).  `method` says which path produced the result.
Anything that is not a public key (a message, a signature, a private key, garbage)
comes back with ok=False and an error, never an exception.
"""
from __future__ import annotations

import base64
import hashlib
import html
import re
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

BLOCK_RE = re.compile(r"-----BEGIN PGP ([A-Z ]+?)-----(.*?)-----END PGP \1-----", re.S)
PUBLIC = "PUBLIC KEY BLOCK"
PARSED_CACHE_SIZE = 1024  # distinct public key blocks kept (a few KB each)
ALGORITHMS = {1: "RSA", 2: "RSA", 3: "RSA", 16: "ElGamal", 17: "DSA", 18: "ECDH", 19: "ECDSA", 22: "EdDSA", 25: "X25519", 27: "Ed25519", 28: "Ed448"}


@dataclass
class PgpKeyInfo:
    ok: bool
    fingerprint: str = ""  # upper-case hex, no spaces
    key_id: str = ""  # last 16 hex digits of the fingerprint (v4)
    user_ids: list[str] = field(default_factory=list)
    created: str = ""  # ISO-8601 UTC
    algorithm: str = ""
    version: int = 0
    method: str = ""  # pgpy | packets
    error: str = ""


_PARSED: OrderedDict[bytes, PgpKeyInfo] = OrderedDict()  # sha256(block) -> result, least recently used first
_CACHE_LOCK = threading.Lock()


def _clean(text: str) -> str:
    if "<br" in text or "&" in text:
        text = html.unescape(re.sub(r"<br\s*/?>", "\n", text, flags=re.I))
    return text


def find_blocks(text: str) -> list[tuple[str, str]]:
    """(kind, full armoured block) for every PGP armour block in `text`."""
    text = _clean(text)
    return [(m.group(1), m.group(0)) for m in BLOCK_RE.finditer(text)]


def parse_pgp_key(armored: str) -> PgpKeyInfo:
    blocks = find_blocks(armored or "")
    if not blocks:
        return PgpKeyInfo(ok=False, error="no PGP armour block found")
    kind, block = blocks[0]
    if kind != PUBLIC:
        return PgpKeyInfo(ok=False, error=f"not a public key: PGP {kind.lower()}")
    # a vendor's key is on every vendor page, in every run, and read twice per page (its
    # identifiers, its fingerprint): PGPy takes milliseconds, so results are kept by block
    digest = hashlib.sha256(block.encode("utf-8", "surrogatepass")).digest()
    with _CACHE_LOCK:
        info = _PARSED.get(digest)
        if info is not None:
            _PARSED.move_to_end(digest)
    if info is None:
        info = _parse_block(block)
        with _CACHE_LOCK:
            _PARSED[digest] = info
            while len(_PARSED) > PARSED_CACHE_SIZE:
                _PARSED.popitem(last=False)
    return replace(info, user_ids=list(info.user_ids))  # callers may change their copy


def _parse_block(block: str) -> PgpKeyInfo:
    info = _parse_with_pgpy(block)
    if info.ok:
        return info
    fallback = _parse_packets(block)
    if fallback.ok:
        fallback.error = f"pgpy: {info.error}"
        return fallback
    return PgpKeyInfo(ok=False, error=f"pgpy: {info.error}; packets: {fallback.error}")


def _parse_with_pgpy(block: str) -> PgpKeyInfo:
    try:
        from pgpy import PGPKey

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            key, _ = PGPKey.from_blob(_normalise_armour(block))
        if not key.is_public:
            return PgpKeyInfo(ok=False, error="not a public key: private key material")
        fingerprint = str(key.fingerprint).replace(" ", "")
        created = key.created.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
        algorithm = getattr(key.key_algorithm, "name", str(key.key_algorithm))
        user_ids = [str(uid.userid) for uid in key.userids if uid.userid]
        return PgpKeyInfo(True, fingerprint, fingerprint[-16:], user_ids, created, algorithm, 4, "pgpy")
    except Exception as exc:  # noqa: BLE001 - hostile input: any parser failure is a result
        return PgpKeyInfo(ok=False, error=f"{type(exc).__name__}: {str(exc)[:200]}")


def _normalise_armour(block: str) -> str:
    """Vendors paste keys with stray indentation; armour lines must start at column 0."""
    return "\n".join(line.strip() for line in block.strip().splitlines()) + "\n"


def _dearmour(block: str) -> bytes:
    lines = [line.strip() for line in block.strip().splitlines()][1:-1]
    # skip armour headers ("Version: ...", "Comment: ...") up to the blank line
    if any(":" in line for line in lines[:5]):
        while lines and lines[0]:
            lines.pop(0)
    body = [line for line in lines if line and not line.startswith("=")]
    return base64.b64decode("".join(body), validate=False)


def _packets(data: bytes) -> list[tuple[int, bytes]]:
    packets = []
    pos = 0
    while pos < len(data):
        header = data[pos]
        if not header & 0x80:
            raise ValueError(f"bad packet header at byte {pos}")
        if header & 0x40:  # new format
            tag = header & 0x3F
            first = data[pos + 1]
            if first < 192:
                length, pos = first, pos + 2
            elif first < 224:
                length, pos = ((first - 192) << 8) + data[pos + 2] + 192, pos + 3
            elif first == 255:
                length, pos = int.from_bytes(data[pos + 2:pos + 6], "big"), pos + 6
            else:
                raise ValueError("partial body lengths are not allowed in key packets")
        else:  # old format
            tag = (header >> 2) & 0x0F
            size = {0: 1, 1: 2, 2: 4}.get(header & 0x03)
            if size is None:
                raise ValueError("indeterminate packet length")
            length = int.from_bytes(data[pos + 1:pos + 1 + size], "big")
            pos += 1 + size
        packets.append((tag, data[pos:pos + length]))
        pos += length
    return packets


def _parse_packets(block: str) -> PgpKeyInfo:
    try:
        packets = _packets(_dearmour(block))
    except Exception as exc:  # noqa: BLE001 - hostile input
        return PgpKeyInfo(ok=False, error=f"unreadable packets: {exc}")
    if not packets or packets[0][0] != 6:
        tag = packets[0][0] if packets else None
        return PgpKeyInfo(ok=False, error=f"not a public key: first packet tag {tag}")
    body = packets[0][1]
    if len(body) < 6:
        return PgpKeyInfo(ok=False, error="public key packet too short")
    version = body[0]
    if version == 4:
        fingerprint = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()  # noqa: S324 - the v4 format is SHA-1
        key_id = fingerprint[-16:]
    elif version in (5, 6):
        prefix = b"\x9a" if version == 5 else b"\x9b"
        fingerprint = hashlib.sha256(prefix + len(body).to_bytes(4, "big") + body).hexdigest().upper()
        key_id = fingerprint[:16]
    else:
        return PgpKeyInfo(ok=False, error=f"unsupported key version {version}")
    created = datetime.fromtimestamp(int.from_bytes(body[1:5], "big"), tz=timezone.utc).isoformat().replace("+00:00", "Z")
    user_ids = [data.decode("utf-8", "replace") for tag, data in packets if tag == 13]
    return PgpKeyInfo(True, fingerprint, key_id, user_ids, created, ALGORITHMS.get(body[5], str(body[5])), version, "packets")
