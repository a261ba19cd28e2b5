"""Prices with currency symbols, codes and crypto units, in either order and any separator style.

"0.0021 BTC (≈ $85)" gives a BTC primary price and a USD equivalent; mBTC and sats are
converted to BTC.  A bare number is only priced when a `currency_hint` says which currency.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from parsers._base import (
    DECIMAL_COMMA_CURRENCIES,
    NUMBER_PATTERN,
    Result,
    fmt_num,
    locale_uses_decimal_comma,
    read_number,
    require_str,
)

CRYPTO = ("BTC", "XMR", "LTC", "BCH", "ETH")
# written currency -> (code, multiplier to the code's unit)
CURRENCY_WORDS: dict[str, tuple[str, float]] = {
    "usd": ("USD", 1), "us$": ("USD", 1), "$": ("USD", 1), "dollars": ("USD", 1), "dollar": ("USD", 1), "bucks": ("USD", 1),
    "eur": ("EUR", 1), "eu": ("EUR", 1), "€": ("EUR", 1), "euro": ("EUR", 1), "euros": ("EUR", 1), "gbp": ("GBP", 1), "£": ("GBP", 1),
    "aud": ("AUD", 1), "a$": ("AUD", 1), "au$": ("AUD", 1), "cad": ("CAD", 1), "c$": ("CAD", 1), "ca$": ("CAD", 1),
    "chf": ("CHF", 1), "sek": ("SEK", 1), "nok": ("NOK", 1), "dkk": ("DKK", 1), "kr": ("SEK", 1), "pln": ("PLN", 1),
    "zł": ("PLN", 1), "zl": ("PLN", 1), "czk": ("CZK", 1), "kč": ("CZK", 1), "jpy": ("JPY", 1), "¥": ("JPY", 1),
    "rub": ("RUB", 1), "₽": ("RUB", 1), "try": ("TRY", 1), "₺": ("TRY", 1), "inr": ("INR", 1), "₹": ("INR", 1),
    "brl": ("BRL", 1), "r$": ("BRL", 1), "hkd": ("HKD", 1), "cnh": ("CNY", 1), "cny": ("CNY", 1), "nzd": ("NZD", 1),
    "btc": ("BTC", 1), "xbt": ("BTC", 1), "₿": ("BTC", 1), "฿": ("BTC", 1), "ƀ": ("BTC", 1), "ɃBTC": ("BTC", 1),
    "bitcoin": ("BTC", 1), "bitcoins": ("BTC", 1), "mbtc": ("BTC", 0.001), "μbtc": ("BTC", 1e-6), "ubtc": ("BTC", 1e-6), "bits": ("BTC", 1e-6),
    "sat": ("BTC", 1e-8), "sats": ("BTC", 1e-8), "satoshi": ("BTC", 1e-8), "satoshis": ("BTC", 1e-8),
    "xmr": ("XMR", 1), "monero": ("XMR", 1), "ɱ": ("XMR", 1), "ltc": ("LTC", 1), "litecoin": ("LTC", 1), "ł": ("LTC", 1),
    "bch": ("BCH", 1), "mbch": ("BCH", 0.001), "eth": ("ETH", 1), "ether": ("ETH", 1), "ethereum": ("ETH", 1), "ξ": ("ETH", 1),
}
_SYMBOLS = sorted((w for w in CURRENCY_WORDS if not w.isalpha()), key=len, reverse=True)
# "EU" is the euro only right after a number ("60eu", "90EU/gr"); before one it is the region ("EU 2-3 days")
SUFFIX_ONLY = frozenset({"eu"})
_CODES = sorted((w for w in CURRENCY_WORDS if w.isalpha() and w not in SUFFIX_ONLY), key=len, reverse=True)
_CUR = "(?:" + "|".join(re.escape(s) for s in _SYMBOLS) + r"|(?<![a-z])(?:" + "|".join(_CODES) + r")(?![a-z]))"
_NUM = rf"(?<![\d.,])(?:{NUMBER_PATTERN})(?![\d])"
# first-character gate: a match starts with a digit / "." / ",", a currency symbol (letter
# ones: "us$", "a$"...), or a letter not inside a word; other positions are skipped at once
_PRICE_GATE = (
    r"(?=[\d.,]|[" + "".join(sorted({re.escape(s[0]) for s in _SYMBOLS if not s[0].isalpha()})) + "]"
    + "".join(f"|{re.escape(s)}" for s in _SYMBOLS if s[0].isalpha()) + r"|(?<![a-z])[^\W\d_])"
)
_PRICE_RE = re.compile(
    _PRICE_GATE + rf"(?:(?P<pre>{_CUR})\.?\s*(?:\+\s*)?(?P<pnum>{_NUM})(?:(?P<pk>k)(?![a-z]))?(?!\s*(?:%|mg|g\b|gr|kg|ml|oz|x\b|pills|tabs))"
    rf"|(?P<snum>{_NUM})(?P<sk>k)?\s*(?P<suf>{_CUR}|(?<![a-z])eu(?![a-z])))",
    re.I,
)
# "26-93 EUR": the number before a dash is the range's other end
_RANGE_LOW = re.compile(rf"(?P<lo>{NUMBER_PATTERN})\s*[-\u2013]\s*$")
# "/gram", "per g", "P/G", "/5gr", "each", "p/piece": the amount is a unit price
_PER = re.compile(r"\s*(?:(?:/|per\b|p/|a\b)\s*(?P<n>\d+(?:[.,]\d+)?)?\s*(?P<u>grams?|gr|gm|g|ml|oz|pills?|tabs?|pieces?|pcs|pc|"
                  r"units?|caps?|items?)(?![a-z])|\s(?P<each>each|ea)(?![a-z]))", re.I)
_PER_UNIT = {"oz": ("g", 28.349523125)}
_RANGE_GAP = re.compile(r"\s*[-\u2013]\s*$")
# "4.5e-05 BTC": scientific notation, written out before reading
_SCIENTIFIC = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)[eE]([-+]?\d{1,2})(?![\w.])")
# a cell holding just a number (maybe labelled): priced only with a currency hint
_HAS_CUR = re.compile(_CUR, re.I)
_HAS_EU = re.compile(r"\deu|\d\s+eu(?![a-z])", re.I)  # cheap pre-scan: most titles name no currency at all
_BARE_RE = re.compile(rf"^\W*(?:(?:price|cost|total|preis|prix)\s*:?\s*)?(?P<num>{_NUM})\s*(?:/\s*(?:order|item|unit|each|ea))?\W*$", re.I)
_FREE_RE = re.compile(r"^\W*free\W*$", re.I)
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Price(Result):
    raw: str
    ok: bool = False
    error: str | None = None
    amount: float | None = None  # the lower end of a range ("26-93 EUR" -> 26)
    currency: str | None = None  # ISO 4217, or BTC / XMR / LTC / BCH / ETH
    amount_max: float | None = None  # the upper end of a range, else None
    per_unit: str | None = None  # "g" | "ml" | "unit" when the amount is a unit price ("3.10 USD/gram")
    per_amount: float | None = None  # how many of `per_unit` the amount buys ("180eu/5gr" -> 5)
    equivalents: list[Price] = field(default_factory=list)  # other amounts stated with it
    ambiguity: str | None = None  # how an ambiguous separator was decided
    matched: str | None = None
    span: tuple[int, int] | None = None
    notes: list[str] = field(default_factory=list)


def _norm(text: str) -> str:
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text.replace("\u00a0", " ")).translate({0x200B: None, 0x200C: None, 0x200D: None, 0xFEFF: None})


def _decimal_comma(site_locale: str | None, code: str | None, suffix: bool, word: str = "") -> tuple[bool | None, str]:
    by_locale = locale_uses_decimal_comma(site_locale)
    if by_locale is not None:
        return by_locale, f"site locale {site_locale}"
    if code in DECIMAL_COMMA_CURRENCIES and suffix:
        return True, f"{code} written after the amount (continental style), no locale hint"
    if suffix and code not in CRYPTO and word and not word.isalpha():
        return True, f"symbol {word} written after the amount (continental style, '12.000$'), no locale hint"
    return None, "no locale hint"


def parse_price(text: str, *, site_locale: str | None = None, currency_hint: str | None = None) -> Price:
    """Price in a cell or title: "$85.40", "85,40 €", "0.0021 BTC (≈ $85)", "USD 1,106.71"."""
    raw = require_str(text)
    try:
        return _parse(raw, site_locale, currency_hint)
    except Exception as exc:  # noqa: BLE001 - garbage must never stop a crawl
        return Price(raw=raw, error=f"internal error: {type(exc).__name__}")


def _parse(raw: str, site_locale: str | None, currency_hint: str | None) -> Price:
    s = _norm(raw)
    if "e-" in s or "E-" in s or "e+" in s:
        s = _SCIENTIFIC.sub(lambda m: fmt_num(float(m.group(0))), s)
    hint = currency_hint.upper() if currency_hint else None
    if hint and hint.lower() in CURRENCY_WORDS:
        hint = CURRENCY_WORDS[hint.lower()][0]
    found: list[dict[str, Any]] = []
    if _DIGIT.search(s) and (_HAS_CUR.search(s) or (("eu" in s or "EU" in s or "Eu" in s) and _HAS_EU.search(s))):
        for m in _PRICE_RE.finditer(s):
            word = (m.group("pre") or m.group("suf")).lower()
            code, mult = CURRENCY_WORDS.get(word, (None, 1.0))
            if code is None or (word in SUFFIX_ONLY and m.start() > 0 and s[m.start() - 1].isalpha()):
                continue  # "DE2EU" is Germany to the EU, not 2 euros
            token = m.group("pnum") or m.group("snum")
            dc, why = _decimal_comma(site_locale, code, m.group("suf") is not None, word)
            value, note = _read_amount(token, code, dc, site_locale)
            if value is None:
                continue
            notes = []
            low = _RANGE_LOW.search(s, max(0, m.start() - 40), m.start()) if m.group("snum") else None
            if low is not None:
                lo, _ = _read_amount(low.group("lo"), code, dc, site_locale)
                if lo is not None and lo != value:
                    found.append(dict(amount=round(min(lo, value) * mult, 12), amount_max=round(max(lo, value) * mult, 12),
                                      currency=code, ambiguity=None, matched=s[low.start():m.end()],
                                      span=(low.start(), m.end()), notes=["range: the lower amount is the price"]))
                    continue
            if found and m.group("pnum") and found[-1]["currency"] == code and found[-1].get("amount_max") is None \
                    and _RANGE_GAP.match(s, found[-1]["span"][1], m.start()):
                prev = found.pop()  # "$170.00 - $90.00"
                lo, hi = sorted((prev["amount"], round(value * mult, 12)))
                found.append(dict(prev, amount=lo, amount_max=hi, matched=s[prev["span"][0]:m.end()],
                                  span=(prev["span"][0], m.end()), notes=["range: the lower amount is the price"]))
                continue
            if word in ("kr",):
                notes.append("'kr' read as SEK (also NOK/DKK)")
            if mult != 1:
                notes.append(f"{word} converted to {code}")
            if m.group("pk") or m.group("sk"):
                mult *= 1000  # "$2k"
                notes.append("'k' read as thousands")
            ambiguity = f"{note} ({why})" if note else None
            found.append(dict(amount=round(value * mult, 12), currency=code, ambiguity=ambiguity,
                              matched=m.group(0), span=m.span(), notes=notes))
    if found:
        _unit_price(s, found[0])
        # one result object per amount, built once (frozen dataclasses are not free)
        rest = [Price(raw=raw, ok=True, **f) for f in _dedupe(found[1:])]
        return Price(raw=raw, ok=True, equivalents=rest, **found[0])
    if _FREE_RE.match(s):
        return Price(raw=raw, ok=hint is not None, amount=0.0, currency=hint, matched=s.strip(),
                     error=None if hint else "free, currency unknown")
    bare = _BARE_RE.match(s)
    if bare is None:
        return Price(raw=raw, error="no price found")
    dc, why = _decimal_comma(site_locale, hint, False)
    value, note = read_number(bare.group("num"), decimal_comma=dc)
    if value is None:
        return Price(raw=raw, error="no price found")
    if hint is None:
        return Price(raw=raw, amount=value, error="number without currency (give currency_hint)", matched=bare.group("num"))
    return Price(raw=raw, ok=True, amount=value, currency=hint, ambiguity=f"{note} ({why})" if note else None,
                 matched=bare.group("num"), notes=[f"currency {hint} from hint"])


def _unit_price(s: str, price: dict[str, Any]) -> None:
    """Mark a unit price ("3.10 USD/gram", "180eu/5gr", "$25 each") with the unit it buys."""
    per = _PER.match(s, price["span"][1])
    if per is None:
        return
    if per.group("each"):
        price.update(per_unit="unit", per_amount=1.0)
    else:
        word = per.group("u").lower()
        unit, factor = _PER_UNIT.get(word, ("g" if word.startswith("g") else "ml" if word == "ml" else "unit", 1.0))
        n = read_number(per.group("n"))[0] if per.group("n") else 1.0
        price.update(per_unit=unit, per_amount=round((n or 1.0) * factor, 6))
    price["notes"] = [*price["notes"], f"unit price: {price['per_amount']:g} {price['per_unit']} for the amount"]


def _read_amount(token: str, code: str, dc: bool | None, site_locale: str | None) -> tuple[float | None, str | None]:
    return read_number(token, decimal_comma=dc)


def _dedupe(prices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in prices:
        if not any(o["currency"] == p["currency"] and o["amount"] == p["amount"] for o in out):
            out.append(p)
    return out


def format_price(amount: float, currency: str, *, decimal_comma: bool = False) -> str:
    """Inverse of parse_price for tests and display: "USD 1,234.50" or "1.234,50 EUR"."""
    places = 8 if currency in CRYPTO else 2
    text = f"{amount:,.{places}f}"
    if currency in CRYPTO:
        text = text.rstrip("0").rstrip(".") if "." in text else text
    if decimal_comma:
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
        return f"{text} {currency}"
    return f"{currency} {text}"
