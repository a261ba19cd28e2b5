"""Identifiers in listing and vendor text: crypto addresses, PGP keys, contacts, links.

Only validated values are returned: addresses must pass their checksums, v3 onion
names their SHA3 checksum; lookalike strings are dropped, not guessed at.
"""
from __future__ import annotations

import base64
import hashlib
import re

from enrich.crypto import classify_address
from enrich.fuzzy import english_words
from enrich.pgp import PUBLIC, find_blocks, parse_pgp_key

_B58 = "1-9A-HJ-NP-Za-km-z"
BASE58_ADDR_RE = re.compile(rf"(?<![{_B58}])[13LM][{_B58}]{{25,34}}(?![{_B58}])")
BECH32_ADDR_RE = re.compile(r"(?<![0-9a-zA-Z])(?:bc1|ltc1|BC1|LTC1)[02-9ac-hj-np-zAC-HJ-NP-Z]{8,87}(?![0-9a-zA-Z])")
XMR_ADDR_RE = re.compile(rf"(?<![{_B58}])[48][{_B58}]{{94}}(?:[{_B58}]{{11}})?(?![{_B58}])")
EMAIL_RE = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b")
URL_RE = re.compile(r"\bhttps?://[^\s<>\"'`)\]]+", re.I)
ONION_RE = re.compile(r"\b(?:[a-z2-7]{56}|[a-z2-7]{16})\.onion\b", re.I)
TELEGRAM_RE = re.compile(r"(?:t(?:elegram)?\.me/|\btelegram\s*(?:id|handle)?\s*[:\-]?\s*@?|\btg\s*[:\-]\s*@?)([A-Za-z][A-Za-z0-9_]{4,31})\b", re.I)
WICKR_RE = re.compile(r"\bwickr(?:\s*me)?\s*(?:id)?\s*[:\-]?\s*@?([A-Za-z][A-Za-z0-9_.\-]{2,31})\b", re.I)
PHONE = r"(\+?\d[\d \-]{6,16}\d)"
WHATSAPP_RE = re.compile(rf"(?:\bwhats\s?app\s*(?:number|no\.?)?\s*[:\-]?\s*|wa\.me/){PHONE}", re.I)
SIGNAL_RE = re.compile(rf"\bsignal\s*(?:number|no\.?)?\s*[:\-]?\s*{PHONE}", re.I)
SESSION_RE = re.compile(r"\b05[0-9a-f]{64}\b", re.I)
THREEMA_RE = re.compile(r"\bthreema\s*(?:id)?\s*[:\-]?\s*([A-Z0-9*]{8})\b", re.I)
FINGERPRINT_RE = re.compile(r"fingerprint\s*[:=]?\s*((?:[0-9A-F]{4}\s?){10})", re.I)


def onion_v3_is_valid(host: str) -> bool:
    """v3 onion: base32(pubkey 32 | checksum 2 | version 1), checksum = SHA3-256(".onion checksum" | pubkey | version)[:2]."""
    label = host.lower().removesuffix(".onion")
    if len(label) != 56:
        return False
    try:
        raw = base64.b32decode(label.upper())
    except ValueError:
        return False
    pubkey, checksum, version = raw[:32], raw[32:34], raw[34:]
    if version != b"\x03":
        return False
    return hashlib.sha3_256(b".onion checksum" + pubkey + version).digest()[:2] == checksum


# words sellers write after a contact label that are never the handle ("Wickr: message us first")
_NOT_HANDLES = frozenset("""me id us here only message msg first ask contact please available soon none no not n/a
    only pm dm inbox above below same address username user handle name via""".split())
_NEGATED = re.compile(r"\b(?:no|not|don'?t|never|without)\s+(?:\w+\s+)?$", re.I)


def looks_like_handle(token: str, text: str, start: int, label_end: int) -> bool:
    """A contact handle after a label: not a plain dictionary word ("Regards", "message", "only")
    unless written as an explicit handle ("@pharmacy", "t.me/pharmacy"), nor after a negated
    label ("NO WICKR HERE").

    >>> looks_like_handle("chem_king", "wickr: chem_king", 7, 7)
    True
    >>> looks_like_handle("message", "Wickr: message us first", 7, 7)
    False
    >>> looks_like_handle("pharmacy", "telegram @pharmacy", 10, 9)
    True
    """
    label_start = _label_start(text, label_end)
    if _NEGATED.search(text[max(0, label_start - 30):label_start]):
        return False
    lower = token.lower()
    if lower in _NOT_HANDLES:
        return False
    explicit = start > 0 and text[start - 1] in "@/"
    handle_shaped = bool(re.search(r"[\d_.\-]", token)) or bool(re.search(r"[a-z][A-Z]", token))
    if explicit or handle_shaped:
        return True
    return not _is_word(lower)


def _is_word(lower: str) -> bool:
    """A dictionary word or a plain inflection of one ("regards", "messaged", "shipping")."""
    words = english_words()
    stems = [lower]
    for suffix in ("s", "es", "ed", "d", "ing", "ly"):
        if lower.endswith(suffix) and len(lower) - len(suffix) >= 3:
            stems.append(lower[:-len(suffix)])
    return any(stem in words for stem in stems)


def _label_start(text: str, label_end: int) -> int:
    """Where the contact label ("wickr", "telegram", "tg") before `label_end` begins."""
    m = re.search(r"(?:wickr|telegram|t\.me|tg|threema)\W*(?:me|id|handle)?\W*$", text[:label_end], re.I)
    return m.start() if m else label_end


def _add(result: dict[str, list[str]], key: str, value: str) -> None:
    bucket = result.setdefault(key, [])
    if value not in bucket:
        bucket.append(value)


# Words every match of a pattern contains, lower-cased: a text without them skips that pattern
# (most listing texts name no contact and no address).  Exact for ASCII text, where the patterns'
# IGNORECASE is plain ASCII case; any other text runs every pattern.
_NEEDLES: dict[str, tuple[str, ...]] = {
    "fingerprint": ("fingerprint",), "bech32": ("bc1", "ltc1"), "onion": (".onion",), "url": ("://",),
    "email": ("@",), "telegram": ("t.me/", "telegram", "tg"), "wickr": ("wickr",), "threema": ("threema",),
    "whatsapp": ("whats", "wa.me/"), "signal": ("signal",), "session": ("05",),
}


def extract_identifiers(text: str, *, prefilter: bool = True) -> dict[str, list[str]]:
    """{kind: [values]} for kinds btc, ltc, xmr, pgp (fingerprints), email, url, onion,
    telegram, wickr, whatsapp, signal, session, threema.  Kinds with no value are omitted.

    `prefilter=False` runs every pattern on every text: the plain reference the prefiltered
    path is tested against (tests/enrich/test_identifiers.py).

    >>> extract_identifiers("wickr: chem_king, mail chem@example.org")
    {'email': ['chem@example.org'], 'wickr': ['chem_king']}
    """
    result: dict[str, list[str]] = {}
    blocks = find_blocks(text)
    for kind, block in blocks:
        if kind == PUBLIC:
            info = parse_pgp_key(block)
            if info.ok:
                _add(result, "pgp", info.fingerprint)
        text = text.replace(block, " ")  # armour base64 is not addresses or handles
    lower = text.lower() if prefilter and text.isascii() else None

    def may(pattern: str) -> bool:
        return lower is None or any(needle in lower for needle in _NEEDLES[pattern])

    if may("fingerprint"):
        for m in FINGERPRINT_RE.finditer(text):
            _add(result, "pgp", re.sub(r"\s", "", m.group(1)).upper())
    for regex in (XMR_ADDR_RE, BECH32_ADDR_RE, BASE58_ADDR_RE):
        if regex is BECH32_ADDR_RE and not may("bech32"):
            continue
        for m in regex.finditer(text):
            address_kind = classify_address(m.group())
            if address_kind:
                _add(result, address_kind, m.group())
    if may("onion"):
        for m in ONION_RE.finditer(text):
            host = m.group().lower()
            if len(host) == 22 or onion_v3_is_valid(host):  # v2 names carry no checksum
                _add(result, "onion", host)
    if may("url"):
        for m in URL_RE.finditer(text):
            _add(result, "url", m.group().rstrip(".,;:!?"))
    if may("email"):
        for m in EMAIL_RE.finditer(text):
            _add(result, "email", m.group().lower())
    for key, regex in (("telegram", TELEGRAM_RE), ("wickr", WICKR_RE), ("threema", THREEMA_RE)):
        if may(key):
            for m in regex.finditer(text):
                if key == "threema" or looks_like_handle(m.group(1), text, m.start(1), m.start(1)):
                    _add(result, key, m.group(1))
    for key, regex in (("whatsapp", WHATSAPP_RE), ("signal", SIGNAL_RE)):
        if may(key):
            for m in regex.finditer(text):
                _add(result, key, re.sub(r"[ \-]", "", m.group(1)))
    if may("session"):
        for m in SESSION_RE.finditer(text):
            _add(result, "session", m.group().lower())
    return result
