"""Shipping options ("Standard (5-10 days) +$5.00", "airmail - 8 days - USD + 5.00 / order")
and escrow / finalize-early flags."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from parsers._base import Result, require_str
from parsers.price import parse_price

_RANGE = r"(?P<a>(?>\d+(?:\.\d+)?))\s*(?:-|–|—|to|~)\s*(?P<b>(?>\d+(?:\.\d+)?))"
_DAYS_RE = re.compile(
    rf"(?<![\d.])(?:{_RANGE}|(?P<n>\d+(?:\.\d+)?))\s*\+?\s*(?:working\s+|business\s+|bus\.?\s+|work\s+)?(?P<u>days?|d|tage?n?|dni|jours?|d[ií]as|giorni|dagen|dagar|weeks?|wks?|wochen|hours?|hrs?|h|std)(?![a-z])",
    re.I)
_FIXED_DAYS = (
    (re.compile(r"\bsame[\s-]day\b", re.I), 0, 0), (re.compile(r"\b(?:next[\s-]day|overnight|24\s*h(?:ours?)?)\b", re.I), 1, 1),
)
_UNTRACKED = re.compile(r"\b(?:untracked|un-tracked|no[\s-]track(?:ing)?|without[\s-]track(?:ing)?|not[\s-]tracked|non[\s-]tracked"
                        r"|(?:kein|keine|ohne)[\s-]+(?:tracking|sendungsverfolgung)|non[\s-]?regist(?:e)?red|unregist(?:e)?red"
                        r"|sans[\s-]suivi|sin[\s-]seguimiento)\b", re.I)
# market shorthand for delivery days: "NDD" next day, "3DD" third day, "NDD-3DD" one to three days
_DD = re.compile(r"\b(?P<a>N|\d{1,2})DD(?:\s*-\s*(?P<b>N|\d{1,2})DD)?\b", re.I)
_NEXT_DAY_OR_HOURS = re.compile(r"\bnext[\s-]day\b.*?\b(?P<h>\d{2,3})\s*(?:hrs?|hours?|h)\b", re.I)
_AT_MOST = re.compile(r"\b(?:max(?:imum)?|up\s+to|at\s+most|within)\b", re.I)
# a destination tag before the method: "[UK] ...", "(AT) ...", "CA- ..."
_LEAD_TAG = re.compile(r"^(?:\s*(?:[\[(][^\])]{1,20}[\])]|[A-Z]{2,3}\s*-(?=\s)))+\s*")
_TRACKED = re.compile(r"\b(?:tracked|tracking|track\s*(?:&|and|n)\s*trace|with\s+track|registered|signed\s+for"
                      r"|einschreiben|einwurfeinschreiben|recommand[eé])", re.I)
_NO_STEALTH = re.compile(r"\b(?:no|without)\s+stealth\b", re.I)
_STEALTH = re.compile(r"\bstealth", re.I)
_FREE = re.compile(r"\bfree\b", re.I)
_PER = re.compile(r"/\s*(?P<per>order|item|unit|package|pack)\b", re.I)
_METHOD_SPLIT = re.compile(r"\s+[-–]\s+|\s*\(|\s+\[|,\s*|\s+\+|\s*:\s+|\s*\|\s*")
# a cost at the end of the method text; numbers are atomic and start where digits start,
# so a long run of digits cannot make this quadratic
_TRAILING_COST = re.compile(r"\s*[+]?\s*(?:[$€£₿฿]\s*(?>[\d.,]+)|(?<![\d.,])(?>[\d.,]+)\s*(?:usd|eur|gbp|btc|xmr|ltc)\b)\s*$", re.I)
_COST_LEAD = re.compile(r"^\s*(?:[$€£₿฿]|usd|eur|gbp|btc|xmr)\s*[\d.,]+\s*(?:\([^)]*\))?\s*", re.I)


@dataclass(frozen=True)
class ShippingOptionResult(Result):
    raw: str
    ok: bool = False
    error: str | None = None
    method: str = ""
    cost: float | None = None
    currency: str | None = None
    days_min: int | None = None
    days_max: int | None = None
    tracked: bool | None = None
    stealth: bool | None = None
    per: str | None = None  # "order" | "item" when the cost says so
    notes: list[str] = field(default_factory=list)

    def to_model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for core.records.ShippingOption (cost_usd is the caller's job)."""
        return {"method": self.method, "cost": self.cost, "currency": self.currency, "days_min": self.days_min,
                "days_max": self.days_max, "tracked": self.tracked, "stealth": self.stealth, "raw": self.raw}


def _stated_in_name(text: str) -> tuple[int, int] | None:
    """Days the method's own name states ("NDD-3DD", "next day or in 48hrs max"); they win over a
    market's single-number field ("[3 days]")."""
    dd = _DD.search(text)
    if dd:
        lo = 1 if dd.group("a").upper() == "N" else int(dd.group("a"))
        b = dd.group("b")
        hi = lo if b is None else 1 if b.upper() == "N" else int(b)
        return min(lo, hi), max(lo, hi)
    both = _NEXT_DAY_OR_HOURS.search(text)
    if both:
        return 1, max(1, round(int(both.group("h")) / 24))
    return None


def _days(text: str) -> tuple[int | None, int | None, tuple[int, int] | None]:
    named = _stated_in_name(text)
    if named:
        return named[0], named[1], None
    m = _DAYS_RE.search(text)
    if m:
        unit = m.group("u").lower()
        factor = 7.0 if unit.startswith("w") else 1 / 24 if unit.startswith("h") else 1.0
        if m.group("a"):
            lo, hi = float(m.group("a")) * factor, float(m.group("b")) * factor
        else:
            lo = hi = float(m.group("n")) * factor
        if lo > hi:
            lo, hi = hi, lo
        if hi <= 365:
            return int(lo) if factor >= 1 else max(0, round(lo)), round(hi) if factor >= 1 else max(1, round(hi)), m.span()
    for rx, lo_i, hi_i in _FIXED_DAYS:
        if rx.search(text):
            return lo_i, hi_i, None
    return None, None, None


def parse_shipping_option(text: str, *, currency_hint: str | None = None, site_locale: str | None = None) -> ShippingOptionResult:
    """One shipping choice: method, cost, delivery days, tracked and stealth flags."""
    raw = require_str(text)
    try:
        return _parse(raw, currency_hint, site_locale)
    except Exception as exc:  # noqa: BLE001 - hostile input never stops a crawl
        return ShippingOptionResult(raw=raw, error=f"internal error: {type(exc).__name__}")


def _parse(raw: str, currency_hint: str | None, site_locale: str | None) -> ShippingOptionResult:
    s = unicodedata.normalize("NFKC", raw) if not raw.isascii() else raw
    s = re.sub(r"\s+", " ", s).strip()
    if not s:
        return ShippingOptionResult(raw=raw, error="empty shipping option")
    notes: list[str] = []
    days_min, days_max, days_span = _days(s)
    if days_span is not None and days_min == days_max and _AT_MOST.search(s[max(0, days_span[0] - 12):days_span[1] + 12]):
        days_min = None  # "7 Day Maximum": no minimum stated
        notes.append("days are a maximum")
    without_days = s if days_span is None else s[: days_span[0]] + " " + s[days_span[1]:]
    price = parse_price(without_days, site_locale=site_locale)
    cost, currency = (price.amount, price.currency) if price.ok else (None, None)
    if cost is None and _FREE.search(s):
        cost, currency = 0.0, (currency_hint.upper() if currency_hint else None)
        notes.append("'free' read as cost 0")
    tracked = False if _UNTRACKED.search(s) else True if _TRACKED.search(s) else None
    stealth = False if _NO_STEALTH.search(s) else True if _STEALTH.search(s) else None
    per_m = _PER.search(s)
    method = _method(s)
    ok = bool(method) or cost is not None or days_min is not None
    return ShippingOptionResult(raw=raw, ok=ok, error=None if ok else "nothing recognised", method=method, cost=cost,
                                currency=currency, days_min=days_min, days_max=days_max, tracked=tracked, stealth=stealth,
                                per=per_m.group("per").lower() if per_m else None, notes=notes)


def _method(s: str) -> str:
    body = _COST_LEAD.sub("", s)
    tag = _LEAD_TAG.match(body)
    lead = tag.group(0) if tag else ""
    first = lead + _METHOD_SPLIT.split(body[len(lead):], maxsplit=1)[0].strip()
    first = _TRAILING_COST.sub("", first)
    m = _DAYS_RE.search(first)
    if m and m.end() >= len(first.rstrip()) and m.start() > 0:
        first = first[: m.start()].rstrip(" -–(")  # "EMS 7-14 days" -> "EMS"
    first = first.strip(" -–:")
    return first if any(c.isalnum() for c in first) else ""


@dataclass(frozen=True)
class EscrowResult(Result):
    raw: str
    ok: bool = False
    error: str | None = None
    escrow: bool | None = None
    finalize_early: bool | None = None
    multisig: bool | None = None
    notes: list[str] = field(default_factory=list)


_STATE = r"(?:\s+(?:enabled|allowed|available|possible|supported|accepted))?\s*[:|]?\s*"
_NO_ESCROW = re.compile(rf"\bno\s+escrow\b|\bescrow{_STATE}(?:no|none|disabled|off|false|not\s+(?:available|allowed|supported))\b"
                        r"|\bwithout\s+escrow\b|\bescrow\s+not\b", re.I)
_ESCROW = re.compile(r"\bescrow\b", re.I)
_MULTISIG = re.compile(r"\bmulti[\s-]?sig(?:nature)?\b|\b2[\s-]of[\s-]3\b", re.I)
_NO_FE = re.compile(rf"\bno\s+(?:fe|finali[sz]e[\s-]early)\b"
                    rf"|\b(?:fe|finali[sz]e[\s-]early){_STATE}(?:no|not\s+allowed|disabled|off|false|never)\b"
                    r"|\bnever\s+(?:fe|finali[sz]e[\s-]early)\b|\bfe\s+not\b", re.I)
_FE = re.compile(r"\bfe\b|\bfinali[sz]e[\s-]early\b|\bfinali[sz]ed?[\s-]early\b|\bearly\s+finali[sz]", re.I)
_FE_FULL = re.compile(r"\bfe\s*\(?\s*100\s*%|\b100\s*%\s*(?:fe\b|finali[sz])|\bfe\s+only\b|\bfull\s+fe\b", re.I)


def parse_escrow(text: str) -> EscrowResult:
    """Escrow / finalize-early flags from "Escrow", "FE 100%", "Finalize Early allowed", "No FE", "Multisig"."""
    raw = require_str(text)
    s = unicodedata.normalize("NFKC", raw) if not raw.isascii() else raw
    notes: list[str] = []
    escrow: bool | None = None
    fe: bool | None = None
    multisig = True if _MULTISIG.search(s) else None
    if _NO_ESCROW.search(s):
        escrow = False
    elif _ESCROW.search(s) or multisig:
        escrow = True
        if multisig:
            notes.append("multisig counted as escrow")
    if _NO_FE.search(s):
        fe = False
    elif _FE.search(s):
        fe = True
        if _FE_FULL.search(s) and escrow is None:
            escrow = False
            notes.append("100% finalize-early: no escrow")
    ok = escrow is not None or fe is not None
    return EscrowResult(raw=raw, ok=ok, error=None if ok else "no escrow or finalize-early terms found", escrow=escrow,
                        finalize_early=fe, multisig=multisig, notes=notes)
