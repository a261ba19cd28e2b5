"""Exchange rates stated on a market page ("1 BTC = 8,512.33 USD", "BTC/USD: 9 001.12",
"XMR $142.10", or a Dream-style ticker "BTC 1.0 | mBTC 1000.0 | USD 5261.1 | EUR 4603.8").

The result is always USD per unit, ready for `RateTable.with_page_rates`.
"""
from __future__ import annotations

import re
import unicodedata

from parsers._base import NUMBER_PATTERN, read_number, require_str

_CODES = "BTC|XBT|XMR|LTC|BCH|ETH|USD|EUR|GBP|AUD|CAD|CHF|SEK|NOK|DKK|PLN|CZK|JPY|RUB|TRY|INR|BRL|HKD|CNH|CNY|NZD|MBTC|MBCH"
_SYM = {"$": "USD", "€": "EUR", "£": "GBP"}
_NUM = rf"(?:{NUMBER_PATTERN})(?!\d)"
_PAIR_EQ = re.compile(rf"(?<![A-Za-z])1\s*(?P<a>{_CODES})\s*[=≈:]\s*(?:(?P<bsym>[$€£])\s*)?(?P<num>{_NUM})(?:\s*(?P<b>{_CODES}))?", re.I)
_PAIR_SLASH = re.compile(rf"(?<![A-Za-z])(?P<a>{_CODES})\s*/\s*(?P<b>{_CODES})\s*[:=]?\s*(?P<num>{_NUM})", re.I)
_PAIR_SYM = re.compile(rf"(?<![A-Za-z])(?P<a>BTC|XMR|LTC|BCH|ETH)\s*[:=]?\s*(?P<bsym>[$€£])\s*(?P<num>{_NUM})", re.I)
_TICKER = re.compile(rf"(?<![A-Za-z])(?P<code>{_CODES})(?![A-Za-z])\s*[:|]?\s*(?P<num>{_NUM})", re.I)
_CRYPTO = {"BTC", "XMR", "LTC", "BCH", "ETH"}


def _code(text: str) -> str:
    code = text.upper()
    return {"XBT": "BTC", "CNH": "CNY"}.get(code, code)


def _num(token: str) -> float | None:
    value, _ = read_number(token)
    return value if value is not None and value > 0 else None


def parse_page_rates(text: str, *, base: str | None = None) -> dict[str, float]:
    """USD per unit for every currency the page states a rate for ({} when none).

    A bare ticker without a base ("USD 9371.65 EUR 8459.78 ...", as Empire prints it) is read
    as prices of one `base` (default BTC when no coin is shown at 1.0 and USD is above 100)."""
    s = require_str(text)
    if not s.isascii():
        s = unicodedata.normalize("NFKC", s)
    try:
        return _parse(s, base)
    except Exception:  # noqa: BLE001 - a page's rate box is hostile input like everything else
        return {}


def _parse(s: str, base: str | None) -> dict[str, float]:
    quotes: list[tuple[str, str, float]] = []  # 1 a = value b
    for rx in (_PAIR_EQ, _PAIR_SLASH, _PAIR_SYM):
        for m in rx.finditer(s):
            b = m.groupdict().get("b")
            bsym = m.groupdict().get("bsym")
            quote = _code(b) if b else _SYM.get(bsym or "", "USD")
            value = _num(m.group("num"))
            if value is not None and _code(m.group("a")) != quote:
                quotes.append((_code(m.group("a")), quote, value))
    usd: dict[str, float] = {}
    for _ in range(2):  # second pass resolves quotes in a currency learnt in the first
        for a, b, value in quotes:
            if b == "USD":
                usd.setdefault(a, value)
            elif a == "USD":
                usd.setdefault(b, 1.0 / value)
            elif b in usd:
                usd.setdefault(a, value * usd[b])
    if not quotes:
        usd.update(_ticker(s, base))
    return {k: round(v, 10) for k, v in usd.items() if k not in ("USD", "MBTC", "MBCH")}


def _ticker(s: str, base: str | None) -> dict[str, float]:
    pairs: dict[str, float] = {}
    for m in _TICKER.finditer(s):
        code, value = _code(m.group("code")), _num(m.group("num"))
        if value is not None and code not in pairs:
            pairs[code] = value
    if len(pairs) < 2 or "USD" not in pairs:
        return {}
    unit = next((c for c in pairs if c in _CRYPTO and pairs[c] == 1.0), None) or (base.upper() if base else None)
    if unit is None and pairs["USD"] > 100:
        unit = "BTC"
    if unit is None:
        return {}
    usd_per_base = pairs["USD"]
    out = {unit: usd_per_base}
    for code, value in pairs.items():
        if code not in (unit, "USD", "MBTC", "MBCH"):
            out[code] = usd_per_base / value
    return out
